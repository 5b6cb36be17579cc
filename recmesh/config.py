"""Configuration: a TOML file in the shape of recmesh/defaults/recmesh.toml, overridden by the environment.

A bad file or value raises ConfigError with the file, the key and the reason in one line.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recmesh.flow.switch_branches import COUNT_KINDS, BranchBounds, find_branch_problems

DEFAULT_CONFIG = Path(__file__).parent / "defaults" / "recmesh.toml"

# Each setting accepts several variable names so that an existing deployment's
# settings carry over; the first one set wins.
RERANKER_ENV = {
    "url": ("RECMESH_RERANKER_URL", "RERANKER_URL", "GORSE_RERANKER_URL"),
    "auth_token": ("RECMESH_RERANKER_AUTH_TOKEN", "RERANKER_AUTH_TOKEN", "GORSE_RERANKER_AUTH_TOKEN"),
    "model": ("RECMESH_RERANKER_MODEL", "RERANKER_MODEL", "GORSE_RERANKER_MODEL"),
}
SOURCE_TYPES = ("latest", "non_personalized", "collaborative", "item_to_item", "user_to_user", "external")
RANKER_TYPES = ("none", "fm", "llm", "switch")
# A switch inside a switch is not supported.
BRANCH_RANKER_TYPES = ("none", "fm", "llm")
# Keys of a [[recommend.ranker.branches]] table. The ranker keys left out take the value of
# [recommend.ranker]; the API token is set once, in [recommend.ranker.reranker_api].
BRANCH_KEYS = (
    "count",
    "min_count",
    "max_count",
    "type",
    "fallback",
    "timeout_ms",
    "connect_timeout_ms",
    "max_documents",
    "breaker_failures",
    "breaker_reset_seconds",
    "query_template",
    "document_template",
    "reranker_api",
)
SIMILARITIES = ("co_occurrence", "attributes", "embedding")
# Keys a [[recommend.sources]] entry takes besides name, type, candidates and quota.
SOURCE_PARAMETERS: dict[str, frozenset[str]] = {
    "latest": frozenset({"item_ttl_seconds"}),
    "non_personalized": frozenset({"feedback_types", "window_seconds", "min_count", "categories"}),
    "collaborative": frozenset(),
    "item_to_item": frozenset({"similarity", "context_size"}),
    "user_to_user": frozenset({"similarity", "neighbors"}),
    "external": frozenset({"url", "timeout_ms"}),
}


class ConfigError(ValueError):
    """The configuration file or an override is invalid."""


@dataclass(frozen=True)
class ServicePorts:
    grpc_port: int
    http_port: int
    # host:port that clients dial; empty means the server's own host and grpc_port. A pod binds
    # 0.0.0.0 but reaches the other services through their Kubernetes Service names.
    address: str = ""


@dataclass(frozen=True)
class ServerConfig:
    host: str
    grace_seconds: float
    max_message_bytes: int
    gateway: ServicePorts
    candidate: ServicePorts
    ranker: ServicePorts
    reranker_http_port: int
    # Folder for the tokenizer that the local rerank server fetches from the package index.
    reranker_model_dir: str

    def address(self, service: str) -> str:
        ports: ServicePorts = getattr(self, service)
        return ports.address or f"{self.host}:{ports.grpc_port}"


@dataclass(frozen=True)
class DataSourceSettings:
    positive_feedback_types: tuple[str, ...]
    read_feedback_types: tuple[str, ...]
    negative_feedback_types: tuple[str, ...]
    positive_feedback_ttl_seconds: int
    item_ttl_seconds: int


@dataclass(frozen=True)
class SourceSettings:
    """One [[recommend.sources]] table. `params` keeps the type-specific keys."""

    name: str
    type: str
    candidates: int
    quota: int
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RerankerApiSettings:
    url: str
    auth_token: str
    model: str

    def __repr__(self) -> str:
        # The token never reaches a log line through a repr.
        token = "<set>" if self.auth_token else "<empty>"
        return f"RerankerApiSettings(url={self.url!r}, auth_token={token}, model={self.model!r})"


@dataclass(frozen=True)
class RankerSettings:
    type: str
    fallback: str
    timeout_ms: int
    connect_timeout_ms: int
    max_documents: int
    breaker_failures: int
    breaker_reset_seconds: int
    query_template: str
    document_template: str
    reranker_api: RerankerApiSettings
    # Set only on a switch ranker, in the order they are tried.
    branches: tuple[SwitchBranchSettings, ...] = ()


@dataclass(frozen=True)
class SwitchBranchSettings:
    """One [[recommend.ranker.branches]] table; applies when min_count <= count < max_count (0: no bound)."""

    # "positive" or "all"; empty on the default branch, which has neither bound.
    count: str
    min_count: int
    max_count: int
    ranker: RankerSettings


@dataclass(frozen=True)
class RecommendSettings:
    cache_size: int
    context_size: int
    replacement: bool
    default_n: int
    max_n: int
    write_back_type: str
    reload_seconds: float
    timeout_ms: int
    data_source: DataSourceSettings
    sources: tuple[SourceSettings, ...]
    ranker: RankerSettings
    fallback_sources: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    path: str
    data_store: str
    server: ServerConfig
    admin_token: str = field(repr=False)
    recommend: RecommendSettings


class _Reader:
    """Reads typed values from nested tables and names the full key in every error."""

    def __init__(
        self, path: str, table: Mapping[str, Any], prefix: str = "", seen: set[str] | None = None
    ) -> None:
        self.path = path
        self.table = table
        self.prefix = prefix
        # Full keys read so far, shared by every reader of one file, to find the unknown ones.
        self.seen = set() if seen is None else seen

    def mark(self, key: str) -> None:
        self.seen.add(f"{self.prefix}{key}")

    def reader_for(self, table: Mapping[str, Any], prefix: str) -> _Reader:
        return _Reader(self.path, table, prefix, self.seen)

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.path}: {self.prefix}{key}: {reason}")

    def sub(self, key: str) -> _Reader:
        self.mark(key)
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {type(value).__name__}")
        return self.reader_for(value, f"{self.prefix}{key}.")

    def str(self, key: str, default: str, choices: tuple[str, ...] = ()) -> str:
        self.mark(key)
        value = self.table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        if choices and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def int(self, key: str, default: int, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
        self.mark(key)
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {value!r}")
        if not minimum <= value <= maximum:
            raise self.fail(key, f"must be between {minimum} and {maximum}, got {value}")
        return value

    def float(self, key: str, default: float, minimum: float = 0.0) -> float:
        self.mark(key)
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return float(value)

    def bool(self, key: str, default: bool) -> bool:
        self.mark(key)
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def strs(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        self.mark(key)
        value = self.table.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of strings, got {value!r}")
        return tuple(value)


def _ports(reader: _Reader, grpc_port: int, http_port: int) -> ServicePorts:
    return ServicePorts(
        grpc_port=reader.int("grpc_port", grpc_port, 0, 65535),
        http_port=reader.int("http_port", http_port, 0, 65535),
        address=reader.str("address", ""),
    )


def _server(reader: _Reader) -> ServerConfig:
    return ServerConfig(
        host=reader.str("host", "127.0.0.1"),
        grace_seconds=reader.float("grace_seconds", 10.0),
        max_message_bytes=reader.int("max_message_bytes", 4 * 1024 * 1024, 1024),
        gateway=_ports(reader.sub("gateway"), 50051, 9091),
        candidate=_ports(reader.sub("candidate"), 50052, 9092),
        ranker=_ports(reader.sub("ranker"), 50053, 9093),
        reranker_http_port=reader.sub("reranker").int("http_port", 8089, 0, 65535),
        reranker_model_dir=reader.sub("reranker").str("model_dir", "data/models"),
    )


def _data_source(reader: _Reader) -> DataSourceSettings:
    return DataSourceSettings(
        positive_feedback_types=reader.strs("positive_feedback_types", ("like",)),
        read_feedback_types=reader.strs("read_feedback_types", ("read",)),
        negative_feedback_types=reader.strs("negative_feedback_types", ("dislike",)),
        positive_feedback_ttl_seconds=reader.int("positive_feedback_ttl_seconds", 0, 0, 2**62),
        item_ttl_seconds=reader.int("item_ttl_seconds", 0, 0, 2**62),
    )


def _sources(parent: _Reader, raw: Any) -> tuple[SourceSettings, ...]:
    path = parent.path
    parent.mark("sources")
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: recommend.sources: must be an array of tables ([[recommend.sources]])")
    sources = []
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: recommend.sources[{index}]: must be a table")
        reader = parent.reader_for(table, f"recommend.sources[{index}].")
        source_type = reader.str("type", "", SOURCE_TYPES)
        unknown = sorted(
            set(table) - {"name", "type", "candidates", "quota"} - SOURCE_PARAMETERS[source_type]
        )
        if unknown:
            allowed = ", ".join(sorted(SOURCE_PARAMETERS[source_type])) or "none"
            raise reader.fail(unknown[0], f"unknown key for a {source_type} source; its own keys: {allowed}")
        reader.seen.update(f"{reader.prefix}{key}" for key in table)
        name = reader.str("name", source_type)
        if not name:
            raise reader.fail("name", "must not be empty")
        if "similarity" in table:
            reader.str("similarity", "", SIMILARITIES)
        params = {k: v for k, v in table.items() if k not in ("name", "type", "candidates", "quota")}
        sources.append(
            SourceSettings(
                name=name,
                type=source_type,
                candidates=reader.int("candidates", 100, 1, 10000),
                quota=reader.int("quota", 0, 0, 10000),
                params=params,
            )
        )
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: recommend.sources: duplicate name {duplicates[0]!r}")
    return tuple(sources)


def _reranker_api(reader: _Reader, env: Mapping[str, str]) -> RerankerApiSettings:
    values = {
        "url": reader.str("url", "http://127.0.0.1:8089/v1/rerank"),
        "auth_token": reader.str("auth_token", ""),
        "model": reader.str("model", "all-MiniLM-L6-v2"),
    }
    for key, names in RERANKER_ENV.items():
        for name in names:
            if env.get(name):
                values[key] = env[name]
                break
    if not values["url"].startswith(("http://", "https://")):
        raise ConfigError(
            f"{reader.path}: {reader.prefix}url: must be an http:// or https:// URL, got {values['url']!r}"
        )
    return RerankerApiSettings(**values)


def _ranker(reader: _Reader, env: Mapping[str, str]) -> RankerSettings:
    settings = RankerSettings(
        type=reader.str("type", "fm", RANKER_TYPES),
        fallback=reader.str("fallback", "none", ("none", "fm")),
        timeout_ms=reader.int("timeout_ms", 1500, 1, 600_000),
        connect_timeout_ms=reader.int("connect_timeout_ms", 300, 1, 600_000),
        max_documents=reader.int("max_documents", 100, 1, 10_000),
        breaker_failures=reader.int("breaker_failures", 5, 0, 10_000),
        breaker_reset_seconds=reader.int("breaker_reset_seconds", 30, 1, 86_400),
        query_template=reader.str("query_template", ""),
        document_template=reader.str("document_template", ""),
        reranker_api=_reranker_api(reader.sub("reranker_api"), env),
    )
    if settings.type != "switch":
        if "branches" in reader.table:
            raise reader.fail(
                "branches", 'only a switch ranker has branches: set type = "switch" or remove them'
            )
        return settings
    return dataclasses.replace(settings, branches=_switch_branches(reader, settings))


def _switch_branches(reader: _Reader, parent: RankerSettings) -> tuple[SwitchBranchSettings, ...]:
    """Read [[recommend.ranker.branches]]; each branch's ranker takes the keys it leaves out from parent."""
    reader.mark("branches")
    raw = reader.table.get("branches", [])
    if not isinstance(raw, list) or not all(isinstance(table, dict) for table in raw):
        raise reader.fail("branches", "must be an array of tables ([[recommend.ranker.branches]])")
    if not raw:
        raise reader.fail(
            "branches", "a switch ranker needs at least one [[recommend.ranker.branches]] table"
        )

    branches = []
    for index, table in enumerate(raw):
        branch_reader = reader.reader_for(table, f"{reader.prefix}branches[{index}].")
        branches.append(_switch_branch(branch_reader, parent))

    problems = find_branch_problems([BranchBounds(b.count, b.min_count, b.max_count) for b in branches])
    if problems:
        raise ConfigError(f"{reader.path}: {problems[0].key(reader.prefix)}: {problems[0].message}")
    return tuple(branches)


def _switch_branch(reader: _Reader, parent: RankerSettings) -> SwitchBranchSettings:
    unknown = sorted(set(reader.table) - set(BRANCH_KEYS))
    if unknown:
        raise reader.fail(unknown[0], f"unknown key: a branch takes only {', '.join(BRANCH_KEYS)}")
    if "type" not in reader.table:
        raise reader.fail("type", "is missing: set the branch's ranker to none, fm or llm")
    count = reader.str("count", "", COUNT_KINDS) if "count" in reader.table else ""

    ranker = RankerSettings(
        type=reader.str("type", "", BRANCH_RANKER_TYPES),
        fallback=reader.str("fallback", parent.fallback, ("none", "fm")),
        timeout_ms=reader.int("timeout_ms", parent.timeout_ms, 1, 600_000),
        connect_timeout_ms=reader.int("connect_timeout_ms", parent.connect_timeout_ms, 1, 600_000),
        max_documents=reader.int("max_documents", parent.max_documents, 1, 10_000),
        breaker_failures=reader.int("breaker_failures", parent.breaker_failures, 0, 10_000),
        breaker_reset_seconds=reader.int("breaker_reset_seconds", parent.breaker_reset_seconds, 1, 86_400),
        query_template=reader.str("query_template", parent.query_template),
        document_template=reader.str("document_template", parent.document_template),
        reranker_api=_branch_reranker_api(reader.sub("reranker_api"), parent.reranker_api),
    )
    return SwitchBranchSettings(
        count=count,
        min_count=reader.int("min_count", 0),
        max_count=reader.int("max_count", 0),
        ranker=ranker,
    )


def _branch_reranker_api(reader: _Reader, parent: RerankerApiSettings) -> RerankerApiSettings:
    """Read a branch's url and model, each defaulting to the parent's after the environment overrides.

    The token is always the parent's, because the ranker service sends every rerank call with one token.
    """
    unknown = sorted(set(reader.table) - {"url", "model"})
    if unknown:
        raise reader.fail(
            unknown[0],
            "unknown key: a branch sets only url and model, and the token is set in recommend.ranker.reranker_api",
        )
    url = reader.str("url", parent.url)
    if not url.startswith(("http://", "https://")):
        raise reader.fail("url", f"must be an http:// or https:// URL, got {url!r}")
    return RerankerApiSettings(url=url, auth_token=parent.auth_token, model=reader.str("model", parent.model))


def _recommend(reader: _Reader, env: Mapping[str, str]) -> RecommendSettings:
    sources = _sources(reader, reader.table.get("sources", []))
    fallback_sources = reader.sub("fallback").strs("sources", ())
    known = {s.name for s in sources}
    for name in fallback_sources:
        if name not in known:
            raise ConfigError(
                f"{reader.path}: recommend.fallback.sources: {name!r} is not the name of a recommend.sources entry"
            )
    settings = RecommendSettings(
        cache_size=reader.int("cache_size", 100, 1, 100_000),
        context_size=reader.int("context_size", 10, 0, 1000),
        replacement=reader.bool("replacement", False),
        default_n=reader.int("default_n", 10, 1, 10_000),
        max_n=reader.int("max_n", 100, 1, 10_000),
        write_back_type=reader.str("write_back_type", ""),
        reload_seconds=reader.float("reload_seconds", 5.0, 0.05),
        timeout_ms=reader.int("timeout_ms", 2000, 1, 600_000),
        data_source=_data_source(reader.sub("data_source")),
        sources=sources,
        ranker=_ranker(reader.sub("ranker"), env),
        fallback_sources=fallback_sources,
    )
    if settings.default_n > settings.max_n:
        raise reader.fail("default_n", f"must not exceed max_n ({settings.max_n}), got {settings.default_n}")
    return settings


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the file at path (RECMESH_CONFIG, else the packaged defaults) and apply the environment."""
    env = os.environ if env is None else env
    file = Path(path or env.get("RECMESH_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from exc

    merged = _with_defaults(raw) if file != DEFAULT_CONFIG else raw
    reader = _Reader(str(file), merged)
    data_store = reader.sub("database").str("data_store", "sqlite:///data/recmesh.db")
    where = f"{file}: database.data_store"
    if env.get("RECMESH_DATA_STORE"):
        data_store = env["RECMESH_DATA_STORE"]
        where = "environment variable RECMESH_DATA_STORE"
    if not data_store.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(f"{where}: must start with sqlite:/// or postgresql://, got {data_store!r}")
    config = Config(
        path=str(file),
        data_store=data_store,
        server=_server(reader.sub("server")),
        admin_token=_override(env, "RECMESH_ADMIN_TOKEN", reader.sub("admin").str("token", "")),
        recommend=_recommend(reader.sub("recommend"), env),
    )
    unknown = [key for key in _key_paths(raw) if key not in reader.seen]
    if unknown:
        raise ConfigError(f"{file}: {unknown[0]}: unknown key; {DEFAULT_CONFIG} lists every key")
    return config


def _override(env: Mapping[str, str], name: str, value: str) -> str:
    """Return the variable's value when it is set and not empty, else value (read from the file first,
    so that the file's key counts as known)."""
    return env.get(name) or value


def _with_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    """Lay the file's tables over the packaged defaults, so every key it leaves out takes its default.

    Arrays are replaced whole. A file with its own recommenders keeps only the default fallback
    recommenders it also names, since the others would not exist.
    """
    defaults = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    merged = _merge_tables(defaults, raw)
    recommend = raw.get("recommend", {})
    if isinstance(recommend, dict) and "sources" in recommend and "fallback" not in recommend:
        names = {s.get("name", s.get("type")) for s in recommend["sources"] if isinstance(s, dict)}
        fallback = merged["recommend"]["fallback"]
        fallback["sources"] = [name for name in fallback.get("sources", []) if name in names]
    return merged


def _merge_tables(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def _key_paths(table: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Return the full key of every value and table in table; arrays of tables are checked where read."""
    paths = []
    for key, value in table.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, dict):
            paths.extend(_key_paths(value, f"{path}."))
    return paths


def ranker_settings_from_toml(text: str, source: str) -> RankerSettings:
    """Read the [recommend.ranker] table of TOML text with load_config's rules; the environment is not applied.

    Raise ConfigError naming source when the text is not valid TOML or the table is invalid.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from exc
    return _ranker(_Reader(source, raw).sub("recommend").sub("ranker"), {})
