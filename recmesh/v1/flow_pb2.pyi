from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Similarity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIMILARITY_UNSPECIFIED: _ClassVar[Similarity]
    SIMILARITY_CO_OCCURRENCE: _ClassVar[Similarity]
    SIMILARITY_ATTRIBUTES: _ClassVar[Similarity]
    SIMILARITY_EMBEDDING: _ClassVar[Similarity]

class RankerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RANKER_TYPE_UNSPECIFIED: _ClassVar[RankerType]
    RANKER_TYPE_NONE: _ClassVar[RankerType]
    RANKER_TYPE_FM: _ClassVar[RankerType]
    RANKER_TYPE_LLM: _ClassVar[RankerType]
    RANKER_TYPE_SWITCH: _ClassVar[RankerType]

class HistoryCount(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HISTORY_COUNT_UNSPECIFIED: _ClassVar[HistoryCount]
    HISTORY_COUNT_POSITIVE: _ClassVar[HistoryCount]
    HISTORY_COUNT_ALL: _ClassVar[HistoryCount]
SIMILARITY_UNSPECIFIED: Similarity
SIMILARITY_CO_OCCURRENCE: Similarity
SIMILARITY_ATTRIBUTES: Similarity
SIMILARITY_EMBEDDING: Similarity
RANKER_TYPE_UNSPECIFIED: RankerType
RANKER_TYPE_NONE: RankerType
RANKER_TYPE_FM: RankerType
RANKER_TYPE_LLM: RankerType
RANKER_TYPE_SWITCH: RankerType
HISTORY_COUNT_UNSPECIFIED: HistoryCount
HISTORY_COUNT_POSITIVE: HistoryCount
HISTORY_COUNT_ALL: HistoryCount

class FlowGraph(_message.Message):
    __slots__ = ("version", "nodes", "edges", "comment", "created_at")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    version: int
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    comment: str
    created_at: int
    def __init__(self, version: _Optional[int] = ..., nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ..., comment: _Optional[str] = ..., created_at: _Optional[int] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("source", "target")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("id", "data_source", "latest", "non_personalized", "collaborative", "item_to_item", "user_to_user", "external", "ranker", "fallback", "recommend")
    ID_FIELD_NUMBER: _ClassVar[int]
    DATA_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    NON_PERSONALIZED_FIELD_NUMBER: _ClassVar[int]
    COLLABORATIVE_FIELD_NUMBER: _ClassVar[int]
    ITEM_TO_ITEM_FIELD_NUMBER: _ClassVar[int]
    USER_TO_USER_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    RANKER_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    RECOMMEND_FIELD_NUMBER: _ClassVar[int]
    id: str
    data_source: DataSourceConfig
    latest: LatestConfig
    non_personalized: NonPersonalizedConfig
    collaborative: CollaborativeConfig
    item_to_item: ItemToItemConfig
    user_to_user: UserToUserConfig
    external: ExternalConfig
    ranker: RankerConfig
    fallback: FallbackConfig
    recommend: RecommendConfig
    def __init__(self, id: _Optional[str] = ..., data_source: _Optional[_Union[DataSourceConfig, _Mapping]] = ..., latest: _Optional[_Union[LatestConfig, _Mapping]] = ..., non_personalized: _Optional[_Union[NonPersonalizedConfig, _Mapping]] = ..., collaborative: _Optional[_Union[CollaborativeConfig, _Mapping]] = ..., item_to_item: _Optional[_Union[ItemToItemConfig, _Mapping]] = ..., user_to_user: _Optional[_Union[UserToUserConfig, _Mapping]] = ..., external: _Optional[_Union[ExternalConfig, _Mapping]] = ..., ranker: _Optional[_Union[RankerConfig, _Mapping]] = ..., fallback: _Optional[_Union[FallbackConfig, _Mapping]] = ..., recommend: _Optional[_Union[RecommendConfig, _Mapping]] = ...) -> None: ...

class DataSourceConfig(_message.Message):
    __slots__ = ("positive_feedback_types", "read_feedback_types", "negative_feedback_types", "positive_feedback_ttl_seconds", "item_ttl_seconds")
    POSITIVE_FEEDBACK_TYPES_FIELD_NUMBER: _ClassVar[int]
    READ_FEEDBACK_TYPES_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FEEDBACK_TYPES_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FEEDBACK_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ITEM_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    positive_feedback_types: _containers.RepeatedScalarFieldContainer[str]
    read_feedback_types: _containers.RepeatedScalarFieldContainer[str]
    negative_feedback_types: _containers.RepeatedScalarFieldContainer[str]
    positive_feedback_ttl_seconds: int
    item_ttl_seconds: int
    def __init__(self, positive_feedback_types: _Optional[_Iterable[str]] = ..., read_feedback_types: _Optional[_Iterable[str]] = ..., negative_feedback_types: _Optional[_Iterable[str]] = ..., positive_feedback_ttl_seconds: _Optional[int] = ..., item_ttl_seconds: _Optional[int] = ...) -> None: ...

class SourceLimits(_message.Message):
    __slots__ = ("candidates", "quota")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    candidates: int
    quota: int
    def __init__(self, candidates: _Optional[int] = ..., quota: _Optional[int] = ...) -> None: ...

class LatestConfig(_message.Message):
    __slots__ = ("limits", "item_ttl_seconds")
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    ITEM_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    limits: SourceLimits
    item_ttl_seconds: int
    def __init__(self, limits: _Optional[_Union[SourceLimits, _Mapping]] = ..., item_ttl_seconds: _Optional[int] = ...) -> None: ...

class NonPersonalizedConfig(_message.Message):
    __slots__ = ("name", "limits", "feedback_types", "window_seconds", "min_count", "categories")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_TYPES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    limits: SourceLimits
    feedback_types: _containers.RepeatedScalarFieldContainer[str]
    window_seconds: int
    min_count: int
    categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., limits: _Optional[_Union[SourceLimits, _Mapping]] = ..., feedback_types: _Optional[_Iterable[str]] = ..., window_seconds: _Optional[int] = ..., min_count: _Optional[int] = ..., categories: _Optional[_Iterable[str]] = ...) -> None: ...

class CollaborativeConfig(_message.Message):
    __slots__ = ("name", "limits")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    name: str
    limits: SourceLimits
    def __init__(self, name: _Optional[str] = ..., limits: _Optional[_Union[SourceLimits, _Mapping]] = ...) -> None: ...

class ItemToItemConfig(_message.Message):
    __slots__ = ("name", "limits", "similarity", "context_size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    limits: SourceLimits
    similarity: Similarity
    context_size: int
    def __init__(self, name: _Optional[str] = ..., limits: _Optional[_Union[SourceLimits, _Mapping]] = ..., similarity: _Optional[_Union[Similarity, str]] = ..., context_size: _Optional[int] = ...) -> None: ...

class UserToUserConfig(_message.Message):
    __slots__ = ("name", "limits", "similarity", "neighbors")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    name: str
    limits: SourceLimits
    similarity: Similarity
    neighbors: int
    def __init__(self, name: _Optional[str] = ..., limits: _Optional[_Union[SourceLimits, _Mapping]] = ..., similarity: _Optional[_Union[Similarity, str]] = ..., neighbors: _Optional[int] = ...) -> None: ...

class ExternalConfig(_message.Message):
    __slots__ = ("name", "limits", "url", "timeout_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    limits: SourceLimits
    url: str
    timeout_ms: int
    def __init__(self, name: _Optional[str] = ..., limits: _Optional[_Union[SourceLimits, _Mapping]] = ..., url: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class RerankerApi(_message.Message):
    __slots__ = ("url", "model")
    URL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    url: str
    model: str
    def __init__(self, url: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class RankerConfig(_message.Message):
    __slots__ = ("type", "query_template", "document_template", "reranker_api", "timeout_ms", "connect_timeout_ms", "max_documents", "fallback", "branches", "breaker_failures", "breaker_reset_seconds")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    QUERY_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    RERANKER_API_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    BRANCHES_FIELD_NUMBER: _ClassVar[int]
    BREAKER_FAILURES_FIELD_NUMBER: _ClassVar[int]
    BREAKER_RESET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    type: RankerType
    query_template: str
    document_template: str
    reranker_api: RerankerApi
    timeout_ms: int
    connect_timeout_ms: int
    max_documents: int
    fallback: RankerType
    branches: _containers.RepeatedCompositeFieldContainer[SwitchBranch]
    breaker_failures: int
    breaker_reset_seconds: int
    def __init__(self, type: _Optional[_Union[RankerType, str]] = ..., query_template: _Optional[str] = ..., document_template: _Optional[str] = ..., reranker_api: _Optional[_Union[RerankerApi, _Mapping]] = ..., timeout_ms: _Optional[int] = ..., connect_timeout_ms: _Optional[int] = ..., max_documents: _Optional[int] = ..., fallback: _Optional[_Union[RankerType, str]] = ..., branches: _Optional[_Iterable[_Union[SwitchBranch, _Mapping]]] = ..., breaker_failures: _Optional[int] = ..., breaker_reset_seconds: _Optional[int] = ...) -> None: ...

class SwitchBranch(_message.Message):
    __slots__ = ("count", "min_count", "max_count", "ranker")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MIN_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    RANKER_FIELD_NUMBER: _ClassVar[int]
    count: HistoryCount
    min_count: int
    max_count: int
    ranker: RankerConfig
    def __init__(self, count: _Optional[_Union[HistoryCount, str]] = ..., min_count: _Optional[int] = ..., max_count: _Optional[int] = ..., ranker: _Optional[_Union[RankerConfig, _Mapping]] = ...) -> None: ...

class FallbackConfig(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecommendConfig(_message.Message):
    __slots__ = ("cache_size", "context_size", "replacement", "default_n", "max_n", "write_back_type")
    CACHE_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_N_FIELD_NUMBER: _ClassVar[int]
    MAX_N_FIELD_NUMBER: _ClassVar[int]
    WRITE_BACK_TYPE_FIELD_NUMBER: _ClassVar[int]
    cache_size: int
    context_size: int
    replacement: bool
    default_n: int
    max_n: int
    write_back_type: str
    def __init__(self, cache_size: _Optional[int] = ..., context_size: _Optional[int] = ..., replacement: _Optional[bool] = ..., default_n: _Optional[int] = ..., max_n: _Optional[int] = ..., write_back_type: _Optional[str] = ...) -> None: ...
