from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class User(_message.Message):
    __slots__ = ("id", "labels", "comment")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    labels: _containers.ScalarMap[str, str]
    comment: str
    def __init__(self, id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., comment: _Optional[str] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("id", "categories", "timestamp", "labels", "comment", "hidden")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    timestamp: int
    labels: _containers.ScalarMap[str, str]
    comment: str
    hidden: bool
    def __init__(self, id: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., timestamp: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., comment: _Optional[str] = ..., hidden: _Optional[bool] = ...) -> None: ...

class Feedback(_message.Message):
    __slots__ = ("type", "user_id", "item_id", "timestamp", "value")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    type: str
    user_id: str
    item_id: str
    timestamp: int
    value: float
    def __init__(self, type: _Optional[str] = ..., user_id: _Optional[str] = ..., item_id: _Optional[str] = ..., timestamp: _Optional[int] = ..., value: _Optional[float] = ...) -> None: ...

class SourceScore(_message.Message):
    __slots__ = ("source", "score")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    source: str
    score: float
    def __init__(self, source: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class ScoredItem(_message.Message):
    __slots__ = ("item_id", "score", "sources")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    score: float
    sources: _containers.RepeatedCompositeFieldContainer[SourceScore]
    def __init__(self, item_id: _Optional[str] = ..., score: _Optional[float] = ..., sources: _Optional[_Iterable[_Union[SourceScore, _Mapping]]] = ...) -> None: ...

class Fallback(_message.Message):
    __slots__ = ("stage", "reason", "detail", "used")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    stage: str
    reason: str
    detail: str
    used: str
    def __init__(self, stage: _Optional[str] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ..., used: _Optional[str] = ...) -> None: ...
