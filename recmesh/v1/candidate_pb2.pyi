from recmesh.v1 import common_pb2 as _common_pb2
from recmesh.v1 import flow_pb2 as _flow_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCandidatesRequest(_message.Message):
    __slots__ = ("user_id", "sources", "n", "exclude_item_ids", "categories", "data_source", "replacement")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    sources: _containers.RepeatedCompositeFieldContainer[_flow_pb2.Node]
    n: int
    exclude_item_ids: _containers.RepeatedScalarFieldContainer[str]
    categories: _containers.RepeatedScalarFieldContainer[str]
    data_source: _flow_pb2.DataSourceConfig
    replacement: bool
    def __init__(self, user_id: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[_flow_pb2.Node, _Mapping]]] = ..., n: _Optional[int] = ..., exclude_item_ids: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[str]] = ..., data_source: _Optional[_Union[_flow_pb2.DataSourceConfig, _Mapping]] = ..., replacement: _Optional[bool] = ...) -> None: ...

class SourceReport(_message.Message):
    __slots__ = ("source", "type", "returned", "contributed", "seconds", "error")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    source: str
    type: str
    returned: int
    contributed: int
    seconds: float
    error: str
    def __init__(self, source: _Optional[str] = ..., type: _Optional[str] = ..., returned: _Optional[int] = ..., contributed: _Optional[int] = ..., seconds: _Optional[float] = ..., error: _Optional[str] = ...) -> None: ...

class GetCandidatesResponse(_message.Message):
    __slots__ = ("candidates", "sources", "model_version")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[_common_pb2.ScoredItem]
    sources: _containers.RepeatedCompositeFieldContainer[SourceReport]
    model_version: str
    def __init__(self, candidates: _Optional[_Iterable[_Union[_common_pb2.ScoredItem, _Mapping]]] = ..., sources: _Optional[_Iterable[_Union[SourceReport, _Mapping]]] = ..., model_version: _Optional[str] = ...) -> None: ...
