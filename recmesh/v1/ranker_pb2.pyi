from recmesh.v1 import common_pb2 as _common_pb2
from recmesh.v1 import flow_pb2 as _flow_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RankRequest(_message.Message):
    __slots__ = ("user_id", "candidates", "ranker", "context_size", "data_source", "flow_version")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    RANKER_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    FLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    candidates: _containers.RepeatedCompositeFieldContainer[_common_pb2.ScoredItem]
    ranker: _flow_pb2.RankerConfig
    context_size: int
    data_source: _flow_pb2.DataSourceConfig
    flow_version: int
    def __init__(self, user_id: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[_common_pb2.ScoredItem, _Mapping]]] = ..., ranker: _Optional[_Union[_flow_pb2.RankerConfig, _Mapping]] = ..., context_size: _Optional[int] = ..., data_source: _Optional[_Union[_flow_pb2.DataSourceConfig, _Mapping]] = ..., flow_version: _Optional[int] = ...) -> None: ...

class RankResponse(_message.Message):
    __slots__ = ("items", "ranker_used", "fallback", "model_version", "branch")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    RANKER_USED_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_common_pb2.ScoredItem]
    ranker_used: str
    fallback: _common_pb2.Fallback
    model_version: str
    branch: str
    def __init__(self, items: _Optional[_Iterable[_Union[_common_pb2.ScoredItem, _Mapping]]] = ..., ranker_used: _Optional[str] = ..., fallback: _Optional[_Union[_common_pb2.Fallback, _Mapping]] = ..., model_version: _Optional[str] = ..., branch: _Optional[str] = ...) -> None: ...

class PreviewPromptRequest(_message.Message):
    __slots__ = ("user_id", "item_ids", "ranker", "context_size", "data_source")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    RANKER_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    ranker: _flow_pb2.RankerConfig
    context_size: int
    data_source: _flow_pb2.DataSourceConfig
    def __init__(self, user_id: _Optional[str] = ..., item_ids: _Optional[_Iterable[str]] = ..., ranker: _Optional[_Union[_flow_pb2.RankerConfig, _Mapping]] = ..., context_size: _Optional[int] = ..., data_source: _Optional[_Union[_flow_pb2.DataSourceConfig, _Mapping]] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("item_id", "text")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    text: str
    def __init__(self, item_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class PreviewPromptResponse(_message.Message):
    __slots__ = ("query", "documents")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    query: str
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    def __init__(self, query: _Optional[str] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ...) -> None: ...
