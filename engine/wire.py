"""JSON for the engine's value types, derived from their type hints: what the site server sends
and its clients read back, and the JSON Schema the OpenAPI document gives for them.

One rule for every type, so a new field of a view reaches the wire, the client and the API
document without a line written for it. Dataclasses are objects of their fields; enums are their
values; bytes are hex; dates ISO 8601; tuples, lists and sets are arrays; an event carries its
class name in "type" (engine.events.Event is an open family).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import sys
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

T = TypeVar("T")

JSON = Any  # a value json.dumps takes


class WireError(ValueError):
    """Data that does not have the shape its type needs (a client's malformed request)."""


#: names the hints of engine types refer to but import only for type checking
_EXTRA: dict[str, object] = {}


def _names() -> dict[str, object]:
    if not _EXTRA:
        from engine import events
        from engine.datasets import manager
        from engine.flashcopy import relationship
        from engine.hsm import alerts, impact, messages, rules, verify

        for mod in (events, relationship, manager, impact, rules, verify, messages, alerts):
            _EXTRA.update({k: v for k, v in vars(mod).items() if isinstance(v, type)})
    return _EXTRA


def _namespace(obj: object) -> dict[str, object]:
    """Names for resolving `obj`'s hints: its own module's first (a name there means what it means
    there), then the engine types other modules import only for type checking."""
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    return {**_names(), **(vars(module) if module else {})}


@functools.cache
def fields_of(cls: type) -> tuple[tuple[str, Any], ...]:
    """The dataclass's init fields with their resolved types."""
    hints = typing.get_type_hints(cls, localns=_namespace(cls))
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


@functools.cache
def _event_classes() -> dict[str, type]:
    from engine.events import Event

    _names()  # every module that defines events is imported
    out: dict[str, type] = {}
    todo = [Event]
    while todo:
        cls = todo.pop()
        # dataclass(slots=True) replaces the class it decorates; the replaced one lingers among
        # the subclasses until it is collected: the class is the one its module names
        if getattr(sys.modules.get(cls.__module__), cls.__name__, None) is cls:
            out[cls.__name__] = cls
        todo += cls.__subclasses__()
    return out


def _is_event(cls: type) -> bool:
    from engine.events import Event

    return issubclass(cls, Event)


def enum_key(member: enum.Enum) -> JSON:
    """An enum member on the wire: its value, or its name when the value is not a plain one (a
    tuple of a message id and a severity)."""
    v = member.value
    return v if isinstance(v, str | int | float | bool) else member.name


# -- encode ---------------------------------------------------------------------------------------
def encode(value: object) -> JSON:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, enum.Enum):
        return enum_key(value)
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {name: encode(getattr(value, name)) for name, _ in fields_of(type(value))}
        if _is_event(type(value)):
            out = {"type": type(value).__name__, **out}
        return out
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(encode(v) for v in value)
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    raise TypeError(f"{type(value).__name__} has no JSON form")


# -- decode ---------------------------------------------------------------------------------------
@functools.cache
def _shape(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """A dataclass's init fields with their types, and those without a default (decoded often:
    every event and row a client reads)."""
    required = frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return dict(fields_of(cls)), required


def _plain(tp: type, data: JSON, where: str) -> Any:
    if type(data) is tp:
        return data
    if tp is float and type(data) is int:
        return float(data)
    raise WireError(f"{where}: must be {_PLAIN_NAMES[tp]}")


_PLAIN_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def decode(tp: Any, data: JSON, where: str = "$") -> Any:
    """`data` as a value of type `tp`; WireError names the first place that does not fit."""
    if tp in _PLAIN_NAMES:
        return _plain(tp, data, where)
    origin = get_origin(tp)
    if tp is Any:
        return data
    if tp is type(None) or tp is None:
        if data is not None:
            raise WireError(f"{where}: must be null")
        return None
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return decode(option, data, where)
            except WireError as exc:
                errors.append(str(exc))
        raise WireError(errors[0] if len(errors) == 1 else f"{where}: fits none of its types ({'; '.join(errors)})")
    if origin is typing.Literal:
        if data not in get_args(tp):
            raise WireError(f"{where}: must be one of {', '.join(map(repr, get_args(tp)))}")
        return data
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        if not isinstance(data, list):
            raise WireError(f"{where}: must be an array")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(data) != len(args):
                raise WireError(f"{where}: must have {len(args)} items")
            return tuple(decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True)))
        item = args[0] if args else Any
        items = [decode(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
        return (origin or tp)(items) if (origin or tp) is not list else items
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(data, dict):
            raise WireError(f"{where}: must be an object")
        kt, vt = get_args(tp) or (str, Any)
        return {decode(kt, k, where): decode(vt, v, f"{where}.{k}") for k, v in data.items()}
    if not isinstance(tp, type):
        raise TypeError(f"{tp!r} has no JSON form")
    if issubclass(tp, enum.Enum):
        for m in tp:
            if enum_key(m) == data and type(enum_key(m)) is type(data):
                return m
        raise WireError(f"{where}: must be one of {', '.join(repr(enum_key(m)) for m in tp)}")
    if tp is bool:
        if not isinstance(data, bool):
            raise WireError(f"{where}: must be true or false")
        return data
    if tp is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise WireError(f"{where}: must be an integer")
        return data
    if tp is float:
        if not isinstance(data, int | float) or isinstance(data, bool):
            raise WireError(f"{where}: must be a number")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise WireError(f"{where}: must be a string")
        return data
    if tp is bytes:
        try:
            return bytes.fromhex(data) if isinstance(data, str) else _fail(where, "must be a hex string")
        except ValueError:
            raise WireError(f"{where}: must be a hex string") from None
    if tp is dt.date:
        try:
            return dt.date.fromisoformat(data) if isinstance(data, str) else _fail(where, "must be a date")
        except ValueError:
            raise WireError(f"{where}: must be a date (yyyy-mm-dd)") from None
    if tp is Path:
        return Path(decode(str, data, where))
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise WireError(f"{where}: must be an object")
        if _is_event(tp):
            kind = _event_classes().get(str(data.get("type")))
            if kind is None or not issubclass(kind, tp):
                raise WireError(f"{where}.type: not an event of type {tp.__name__}")
            tp = kind
        known, required = _shape(tp)
        for key in data:
            if key not in known and key != "type":
                raise WireError(f"{where}: unknown field {sorted(set(data) - set(known) - {'type'})[0]!r}")
        kwargs = {}
        for name, ftype in known.items():
            if name in data:
                kwargs[name] = decode(ftype, data[name], f"{where}.{name}")
            elif name in required:
                raise WireError(f"{where}: missing field {name!r}")
        return tp(**kwargs)
    raise TypeError(f"{tp!r} has no JSON form")


def _fail(where: str, what: str) -> typing.NoReturn:
    raise WireError(f"{where}: {what}")


# -- schema ---------------------------------------------------------------------------------------
def schema(tp: Any, components: dict[str, JSON]) -> JSON:
    """The JSON Schema of `tp`; dataclasses go into `components` (OpenAPI's components/schemas)
    and are referred to by name."""
    origin = get_origin(tp)
    if tp is Any:
        return {}
    if tp is type(None) or tp is None:
        return {"type": "null"}
    if origin in (Union, types.UnionType):
        return {"anyOf": [schema(a, components) for a in get_args(tp)]}
    if origin is typing.Literal:
        return {"enum": list(get_args(tp))}
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {
                "type": "array",
                "prefixItems": [schema(a, components) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array", "items": schema(args[0] if args else Any, components)}
    if origin in (dict, Mapping) or tp is dict:
        args = get_args(tp)
        return {"type": "object", "additionalProperties": schema(args[1] if args else Any, components)}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [enum_key(m) for m in tp]}
    simple: dict[object, JSON] = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        str: {"type": "string"},
        bytes: {"type": "string", "pattern": "^([0-9A-Fa-f]{2})*$"},
        dt.date: {"type": "string", "format": "date"},
        Path: {"type": "string"},
    }
    if tp in simple:
        return simple[tp]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        name = tp.__name__
        if name not in components:
            components[name] = {}  # a placeholder first: a type may refer to itself
            props: dict[str, JSON] = {}
            required = []
            if _is_event(tp):
                props["type"] = {"const": name}
                required.append("type")
            for f in dataclasses.fields(tp):
                if not f.init:
                    continue
                props[f.name] = schema(dict(fields_of(tp))[f.name], components)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
            doc = (tp.__doc__ or "").strip()
            body: dict[str, JSON] = {"type": "object", "properties": props, "required": required}
            if doc and not doc.startswith(f"{name}("):
                body["description"] = " ".join(doc.split())
            components[name] = body
        return {"$ref": f"#/components/schemas/{name}"}
    raise TypeError(f"{tp!r} has no JSON schema")


def event_schema(components: dict[str, JSON]) -> JSON:
    """Any event: one of the event classes, told apart by "type"."""
    return {
        "oneOf": [schema(cls, components) for name, cls in sorted(_event_classes().items()) if name != "Event"],
        "discriminator": {"propertyName": "type"},
    }


def returns(fn: Callable[..., object]) -> Any:
    """The resolved return type of a function (for the routes' responses)."""
    return hints_of(fn).get("return", Any)


def hints_of(fn: Callable[..., object]) -> dict[str, Any]:
    """A function's resolved parameter and return types."""
    return typing.get_type_hints(fn, localns=_namespace(fn))


__all__ = [
    "JSON",
    "WireError",
    "decode",
    "encode",
    "enum_key",
    "event_schema",
    "fields_of",
    "hints_of",
    "returns",
    "schema",
]
