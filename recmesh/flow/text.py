"""A FlowGraph as a human-writable TOML file, and reading a flow file in TOML or binary form.

The TOML shape, with every key of a node's config optional (an omitted key is zero or empty):

    comment = "two recommenders and the FM ranker"    # optional; version and created_at too

    [[nodes]]
    id = "data_source"
    type = "data_source"                              # the Node.config case name
    positive_feedback_types = ["like"]

    [[nodes]]
    id = "popular"
    type = "non_personalized"
    candidates = 100                                  # the SourceLimits keys sit on the node
    window_seconds = 604800

    [[nodes]]
    id = "ranker"
    type = "ranker"
    ranker = "llm"                                    # RankerConfig.type, named so it cannot clash
    fallback = "fm"
    query_template = '''
    {{ user.comment }}'''

    [nodes.reranker_api]                              # message fields are sub-tables
    url = "http://127.0.0.1:8089/v1/rerank"

    [[nodes.branches]]                                # a switch ranker's branches; the branch's
    count = "positive"                                # ranker keys sit on the branch
    max_count = 5
    ranker = "fm"

    [[edges]]
    source = "data_source"
    target = "popular"

Enum values are written in lower case without their prefix: "llm", "co_occurrence", "positive".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from google.protobuf import descriptor, message
from google.protobuf.message import DecodeError

from recmesh.v1 import flow_pb2

BINARY_SUFFIXES = (".pb", ".bin", ".binpb")

# Message fields whose keys are written on the enclosing table instead of in a sub-table.
FLATTENED_FIELDS = {
    ("recmesh.v1.SwitchBranch", "ranker"),
    *(
        (f"recmesh.v1.{name}", "limits")
        for name in (
            "LatestConfig",
            "NonPersonalizedConfig",
            "CollaborativeConfig",
            "ItemToItemConfig",
            "UserToUserConfig",
            "ExternalConfig",
        )
    ),
}
# Fields written under another key: RankerConfig.type would clash with the node's own `type`.
RENAMED_FIELDS = {("recmesh.v1.RankerConfig", "type"): "ranker"}
NODE_TYPES = tuple(field.name for field in flow_pb2.Node.DESCRIPTOR.oneofs_by_name["config"].fields)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FlowFileError(ValueError):
    """A flow file cannot be read; the message names the file, the place and the problem."""


class UnknownNodeTypes(FlowFileError):
    """Nodes of a flow file have a type that does not exist.

    `graph` contains the rest of the file with those nodes left without a config, so that a caller can
    list the file's other problems too; `node_ids` names those nodes.
    """

    def __init__(self, problems: list[str], graph: flow_pb2.FlowGraph, node_ids: frozenset[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.graph = graph
        self.node_ids = node_ids


class _UnknownNodeType(FlowFileError):
    def __init__(self, message: str, node_id: str) -> None:
        super().__init__(message)
        self.node_id = node_id


# Reading


def read_flow_file(path: str | Path) -> flow_pb2.FlowGraph:
    """Read a flow from a TOML file or a binary serialized FlowGraph."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot be read: {exc.strerror}") from exc
    return parse_flow_bytes(data, str(path))


def parse_flow_bytes(data: bytes, source: str = "<bytes>") -> flow_pb2.FlowGraph:
    """Parse TOML when data is UTF-8 text without control characters, else a binary FlowGraph.

    Serialized protobuf almost always contains control bytes (field tags and lengths below 0x20),
    so text without them is taken for TOML and its syntax errors are reported as such.
    """
    text = _as_text(data)
    if text is not None:
        return parse_flow_toml(text, source)

    graph = flow_pb2.FlowGraph()
    try:
        graph.ParseFromString(data)
    except DecodeError as exc:
        raise FlowFileError(
            f"{source}: neither TOML text nor a binary FlowGraph: the protobuf parser failed: {exc}"
        ) from exc
    return graph


def _as_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _CONTROL.search(text):
        return None
    return text.removeprefix("\ufeff")


def parse_flow_toml(text: str, source: str = "<string>") -> flow_pb2.FlowGraph:
    """Parse the TOML shape described in this module's docstring."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FlowFileError(f"{source}: invalid TOML: {exc}") from exc

    _reject_unknown(raw, ("version", "comment", "created_at", "nodes", "edges"), source)
    graph = flow_pb2.FlowGraph()
    _set_scalars(graph, {k: v for k, v in raw.items() if k not in ("nodes", "edges")}, source)
    type_problems: list[str] = []
    untyped: set[str] = set()
    for index, table in enumerate(_array_of_tables(raw, "nodes", source)):
        try:
            graph.nodes.append(_node_from_table(table, f"{source}: nodes[{index}]"))
        except _UnknownNodeType as exc:
            type_problems.append(str(exc))
            untyped.add(exc.node_id)
            graph.nodes.add(id=exc.node_id)
    for index, table in enumerate(_array_of_tables(raw, "edges", source)):
        where = f"{source}: edges[{index}]"
        _reject_unknown(table, ("source", "target"), where)
        _set_scalars(graph.edges.add(), table, where)
    if type_problems:
        raise UnknownNodeTypes(type_problems, graph, frozenset(untyped))
    return graph


def _array_of_tables(raw: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise FlowFileError(f"{where}: {key}: must be an array of tables ([[{key}]])")
    return value


def _node_from_table(table: dict[str, Any], where: str) -> flow_pb2.Node:
    node_id = table.get("id", "")
    if not isinstance(node_id, str):
        raise FlowFileError(f"{where}: id: must be a string, got {node_id!r}")
    if node_id:
        where = f"{where} (id {node_id!r})"
    node_type = table.get("type")
    if node_type not in NODE_TYPES:
        raise _UnknownNodeType(
            f"{where}: type: must be one of {', '.join(NODE_TYPES)}, got {node_type!r}", node_id
        )

    node = flow_pb2.Node(id=node_id)
    config = getattr(node, node_type)
    config.SetInParent()
    _fill_message(config, {k: v for k, v in table.items() if k not in ("id", "type")}, where)
    return node


def _fill_message(target: message.Message, table: Mapping[str, Any], where: str) -> None:
    """Set target's fields from a table whose keys follow the naming rules of this module."""
    keys = _own_keys(target.DESCRIPTOR)
    flattened = _flattened_fields(target.DESCRIPTOR)
    claimed = set(keys)
    for field in flattened:
        claimed |= set(_all_keys(field.message_type))
    _reject_unknown(table, sorted(claimed), where)

    for field in flattened:
        sub_keys = set(_all_keys(field.message_type))
        sub_table = {k: v for k, v in table.items() if k in sub_keys}
        if sub_table:
            _fill_message(getattr(target, field.name), sub_table, where)
    for key, value in table.items():
        if key in keys:
            _set_field(target, keys[key], value, f"{where}: {key}")


def _set_scalars(target: message.Message, table: Mapping[str, Any], where: str) -> None:
    keys = _own_keys(target.DESCRIPTOR)
    for key, value in table.items():
        _set_field(target, keys[key], value, f"{where}: {key}")


def _set_field(target: message.Message, field: descriptor.FieldDescriptor, value: Any, where: str) -> None:
    if field.is_repeated:
        if not isinstance(value, list):
            raise FlowFileError(f"{where}: must be an array, got {value!r}")
        container = getattr(target, field.name)
        for index, item in enumerate(value):
            if field.type == field.TYPE_MESSAGE:
                if not isinstance(item, dict):
                    raise FlowFileError(f"{where}[{index}]: must be a table, got {item!r}")
                _fill_message(container.add(), item, f"{where}[{index}]")
            else:
                container.append(_scalar_value(field, item, f"{where}[{index}]"))
        return
    if field.type == field.TYPE_MESSAGE:
        if not isinstance(value, dict):
            raise FlowFileError(f"{where}: must be a table, got {value!r}")
        sub = getattr(target, field.name)
        sub.SetInParent()
        _fill_message(sub, value, where)
        return
    setattr(target, field.name, _scalar_value(field, value, where))


def _scalar_value(field: descriptor.FieldDescriptor, value: Any, where: str) -> Any:
    if field.type == field.TYPE_ENUM:
        names = _enum_names(field.enum_type)
        if value not in names:
            raise FlowFileError(f"{where}: must be one of {', '.join(names)}, got {value!r}")
        return names[value]
    if field.type == field.TYPE_BOOL:
        if not isinstance(value, bool):
            raise FlowFileError(f"{where}: must be true or false, got {value!r}")
        return value
    if field.type == field.TYPE_STRING:
        if not isinstance(value, str):
            raise FlowFileError(f"{where}: must be a string, got {value!r}")
        return value
    if field.type in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FlowFileError(f"{where}: must be a number, got {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlowFileError(f"{where}: must be an integer, got {value!r}")
    bits = 32 if field.type in (field.TYPE_INT32, field.TYPE_SINT32, field.TYPE_SFIXED32) else 64
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise FlowFileError(f"{where}: {value} does not fit in a {bits}-bit integer")
    return value


def _reject_unknown(table: Mapping[str, Any], known: Any, where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise FlowFileError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")


# Naming rules shared by reading and writing


def _key(message_type: descriptor.Descriptor, field: descriptor.FieldDescriptor) -> str:
    return RENAMED_FIELDS.get((message_type.full_name, field.name), field.name)


def _is_flattened(message_type: descriptor.Descriptor, field: descriptor.FieldDescriptor) -> bool:
    return (message_type.full_name, field.name) in FLATTENED_FIELDS


def _own_keys(message_type: descriptor.Descriptor) -> dict[str, descriptor.FieldDescriptor]:
    return {
        _key(message_type, field): field
        for field in message_type.fields
        if not _is_flattened(message_type, field)
    }


def _flattened_fields(message_type: descriptor.Descriptor) -> list[descriptor.FieldDescriptor]:
    return [field for field in message_type.fields if _is_flattened(message_type, field)]


def _all_keys(message_type: descriptor.Descriptor) -> list[str]:
    keys = list(_own_keys(message_type))
    for field in _flattened_fields(message_type):
        keys += _all_keys(field.message_type)
    return keys


def _enum_prefix(enum_type: descriptor.EnumDescriptor) -> str:
    # RankerType → RANKER_TYPE_, the prefix protobuf style puts on every value.
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum_type.name).upper() + "_"


def _enum_names(enum_type: descriptor.EnumDescriptor) -> dict[str, int]:
    prefix = _enum_prefix(enum_type)
    return {value.name.removeprefix(prefix).lower(): value.number for value in enum_type.values}


def _enum_name(enum_type: descriptor.EnumDescriptor, number: int) -> str | int:
    value = enum_type.values_by_number.get(number)
    if value is None:
        return number
    return value.name.removeprefix(_enum_prefix(enum_type)).lower()


# Writing


def flow_to_toml(graph: flow_pb2.FlowGraph) -> str:
    """Write graph in the TOML shape that parse_flow_toml reads back to an equal graph.

    NOTE: a recommender whose `limits` message is set but all zero reads back with `limits` unset,
    which every reader of the flow treats the same way.
    """
    lines: list[str] = []
    header = _message_to_table(graph)
    for key in ("version", "comment", "created_at"):
        if key in header:
            lines.append(f"{key} = {_toml_value(header[key])}")
    for node in graph.nodes:
        table: dict[str, Any] = {"id": node.id}
        kind = node.WhichOneof("config")
        if kind:
            table["type"] = kind
            table.update(_message_to_table(getattr(node, kind)))
        _write_table(lines, "nodes", table, is_array=True)
    for edge in graph.edges:
        _write_table(lines, "edges", {"source": edge.source, "target": edge.target}, is_array=True)
    return "\n".join(lines).lstrip("\n") + "\n"


def _message_to_table(source: message.Message) -> dict[str, Any]:
    """Return the fields that differ from their default, as TOML values under their keys."""
    message_type = source.DESCRIPTOR
    table: dict[str, Any] = {}
    for field in message_type.fields:
        if message_type is flow_pb2.FlowGraph.DESCRIPTOR and field.name in ("nodes", "edges"):
            continue
        key = _key(message_type, field)
        value = getattr(source, field.name)
        if field.is_repeated:
            if len(value):
                table[key] = [_field_value(field, item) for item in value]
        elif field.type == field.TYPE_MESSAGE:
            if not source.HasField(field.name):
                continue
            if _is_flattened(message_type, field):
                table.update(_message_to_table(value))
            else:
                table[key] = _message_to_table(value)
        elif value != field.default_value:
            table[key] = _field_value(field, value)
    return table


def _field_value(field: descriptor.FieldDescriptor, value: Any) -> Any:
    if field.type == field.TYPE_MESSAGE:
        return _message_to_table(value)
    if field.type == field.TYPE_ENUM:
        return _enum_name(field.enum_type, value)
    return value


def _write_table(lines: list[str], path: str, table: Mapping[str, Any], is_array: bool) -> None:
    lines.append("")
    lines.append(f"[[{path}]]" if is_array else f"[{path}]")
    nested: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
            nested.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in nested:
        if isinstance(value, dict):
            _write_table(lines, f"{path}.{key}", value, is_array=False)
        else:
            for item in value:
                _write_table(lines, f"{path}.{key}", item, is_array=True)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else _special_float(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _special_float(value: float) -> str:
    if value != value:
        return "nan"
    return "inf" if value > 0 else "-inf"


def _toml_string(value: str) -> str:
    # Templates span lines: a multi-line literal string keeps them readable when nothing in them
    # needs escaping. The newline right after the opening quotes is dropped by every TOML reader.
    if "\n" in value and "'''" not in value and not value.endswith("'") and not _has_control(value):
        return "'''\n" + value + "'''"
    return '"' + "".join(_escape(char) for char in value) + '"'


def _has_control(value: str) -> bool:
    return any((ord(char) < 0x20 and char not in "\n\t") or char == "\x7f" for char in value)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or char == "\x7f":
        return f"\\u{ord(char):04x}"
    return char


# Writing a file


def write_flow_file(path: str | Path, graph: flow_pb2.FlowGraph) -> None:
    """Write graph as binary protobuf when path ends in .pb, .bin or .binpb, else as TOML."""
    target = Path(path)
    try:
        if target.suffix in BINARY_SUFFIXES:
            target.write_bytes(graph.SerializeToString())
        else:
            target.write_text(flow_to_toml(graph), encoding="utf-8")
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot be written: {exc.strerror}") from exc
