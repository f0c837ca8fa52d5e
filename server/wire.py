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
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from operator import attrgetter
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
        from engine import events, messages
        from engine.datasets import manager
        from engine.flashcopy import relationship
        from engine.hsm import alerts, impact, rules, verify

        for mod in (events, relationship, manager, impact, rules, verify, messages, alerts):
            _EXTRA.update({k: v for k, v in vars(mod).items() if isinstance(v, type)})
    return _EXTRA


def _namespace(obj: object) -> dict[str, object]:
    """Names for resolving `obj`'s hints: its own module's first (a name there means what it means
    there), then the engine types other modules import only for type checking."""
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    return {**_names(), **(vars(module) if module else {})}


#: the error codes of a standby's 503 (server.standby): no host serves the site now (none drives
#: it, or the one that drives it does not answer), or the standby cannot tell
NO_DRIVER, STANDING_BY = "no-driver", "standing-by"
#: the error code of a standby's 502: the driving host took the request and dropped the connection
#: before it answered, so whether it ran is not known (a client never sends it again by itself)
UNANSWERED = "unanswered"
#: a client's own code for a server it could not reach at all (cli.thin)
UNREACHABLE = "unreachable"
#: the header an event stream's client names itself by (GET /v1/events): a console, or a CLI
#: client waiting on its command's copies (`hsm --wait`); any other (scripts, `flashpool events`)
#: is a stream reader. What `flashpool stop` counts: it is no identity and grants nothing
CLIENT_HEADER = "X-Flashpool-Client"
CONSOLE, WAITING, STREAM = "console", "wait", "stream"


class Refused(Exception):
    """The server answered with an error: its HTTP status, its message and its error code."""

    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def answer(status: int, raw: bytes, loads: Callable[[bytes], Any] = json.loads) -> Any:
    """A server's answer as JSON data (status 200), else Refused with the message it gave: how
    every client reads an answer (server.client, the CLI's thin path)."""
    try:
        data = loads(raw)
    except ValueError:
        raise Refused(status, f"the server answered {status} with no JSON") from None
    if status == 200:
        return data
    if isinstance(data, dict):
        raise Refused(status, str(data.get("message", data)), str(data.get("error", "")))
    raise Refused(status, str(data))


def _hints(obj: Any) -> dict[str, Any]:
    """`obj`'s resolved hints: from its own module's names when they suffice (the CLI's thin
    path decodes a CommandResult without importing the engine types of _names), else with them."""
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    try:
        return typing.get_type_hints(obj, localns=dict(vars(module)) if module else None)
    except NameError:
        return typing.get_type_hints(obj, localns=_namespace(obj))


@functools.cache
def fields_of(cls: type) -> tuple[tuple[str, Any], ...]:
    """The dataclass's init fields with their resolved types."""
    hints = _hints(cls)
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
    """Without importing engine.events (the CLI's thin path): an Event's module imported it."""
    events = sys.modules.get("engine.events")
    return events is not None and isinstance(cls, type) and issubclass(cls, events.Event)


def enum_key(member: enum.Enum) -> JSON:
    """An enum member on the wire: its value, or its name when the value is not a plain one (a
    tuple of a message id and a severity)."""
    v = member.value
    return v if isinstance(v, str | int | float | bool) else member.name


# -- encode ---------------------------------------------------------------------------------------
Encoder = Callable[[Any], JSON]


def encode(value: object) -> JSON:
    """`value` as JSON; one encoder per type, made the first time the type is met (a list of
    20,000 views is encoded in a third of the time a walk through every check would take)."""
    kind = type(value)
    coder = _ENCODERS.get(kind)
    if coder is None:
        coder = _ENCODERS[kind] = _encoder_for(kind)
    return coder(value)


def _same(value: JSON) -> JSON:
    return value


def _float(value: float) -> JSON:
    return value if value == value and abs(value) != float("inf") else None


def _encoder_for(kind: type) -> Encoder:
    if kind in (type(None), bool, int, str):
        return _same
    if issubclass(kind, float):
        return _float
    if issubclass(kind, enum.Enum):
        return enum_key
    if issubclass(kind, bytes):
        return lambda v: v.hex().upper()
    if issubclass(kind, dt.datetime | dt.date):
        return lambda v: v.isoformat()
    if issubclass(kind, Path):
        return str
    if dataclasses.is_dataclass(kind):
        return _dataclass_encoder(kind)
    if issubclass(kind, Mapping):  # a plain leaf (most of a LIST's data) costs no call
        return lambda v: {str(k): x if type(x) in _LEAVES else encode(x) for k, x in v.items()}
    if issubclass(kind, set | frozenset):
        return lambda v: sorted(encode(x) for x in v)
    if issubclass(kind, list | tuple):
        return lambda v: [x if type(x) in _LEAVES else encode(x) for x in v]
    if issubclass(kind, bool | int | str):  # subclasses of the plain types (IntEnum is above)
        return _same
    raise TypeError(f"{kind.__name__} has no JSON form")


_ENCODERS: dict[type, Encoder] = {}
#: types that are JSON as they are (not float: NaN and infinity are not)
_LEAVES = frozenset({str, int, bool, type(None)})

_PLAIN = (str, int, bool, type(None))


def _is_plain(tp: Any) -> bool:
    """A field whose declared type is JSON as it is (str, int, bool, or one of them or None)."""
    if get_origin(tp) in (Union, types.UnionType):
        return all(a in _PLAIN for a in get_args(tp))
    return tp in _PLAIN


def _dataclass_encoder(kind: type) -> Encoder:
    """An object of the fields: all read at once, and only those whose type is not plain
    encoded further (a volume's ten fields are all plain)."""
    fields = fields_of(kind)
    names = tuple(name for name, _ in fields)
    rest = tuple(name for name, tp in fields if not _is_plain(tp))
    read: Callable[[Any], tuple[Any, ...]] = (
        attrgetter(*names) if len(names) > 1 else (lambda v: tuple(getattr(v, n) for n in names))
    )
    event = kind.__name__ if _is_event(kind) else None

    def instance(value: Any) -> JSON:
        out: dict[str, JSON] = {"type": event} if event else {}
        out.update(zip(names, read(value), strict=True))
        for name in rest:
            out[name] = encode(out[name])
        return out

    return instance


# -- decode ---------------------------------------------------------------------------------------
#: stands for the place a union's own misfit is at, in the reasons it gives (filled in last)
_HERE = "\x00"


class _Misfit(Exception):
    """Data that does not fit, and where, relative to the decoder that met it: each decoder on
    the way out adds its step, so no path is built for data that fits."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.steps: list[str] = []  # innermost first

    def at(self, where: str) -> str:
        here = where + "".join(reversed(self.steps))
        return f"{here}: {self.what.replace(_HERE, here)}"


Decoder = Callable[[JSON], Any]


def decode(tp: Any, data: JSON, where: str = "$") -> Any:
    """`data` as a value of type `tp`; WireError names the first place that does not fit."""
    try:
        return _decoder(tp)(data)
    except _Misfit as misfit:
        raise WireError(misfit.at(where)) from None


@functools.cache
def _shape(cls: type) -> tuple[tuple[tuple[str, Decoder], ...], frozenset[str], frozenset[str]]:
    """A dataclass's init fields with their decoders, their names, and those without a default
    (made on first use, not when the decoder is: a type may refer to itself)."""
    required = frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    fields = tuple((name, _decoder(ftype)) for name, ftype in fields_of(cls))
    return fields, frozenset(name for name, _ in fields), required


def _plain(tp: type) -> Decoder:
    what = f"must be {_PLAIN_NAMES[tp]}"

    def plain(data: JSON) -> Any:
        if type(data) is tp:
            return data
        if tp is float and type(data) is int:
            return float(data)
        raise _Misfit(what)

    return plain


_PLAIN_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _any(data: JSON) -> Any:
    return data


def _null(data: JSON) -> None:
    if data is not None:
        raise _Misfit("must be null")


def _union(tp: Any) -> Decoder:
    nullable = type(None) in get_args(tp)
    options = [_decoder(o) for o in get_args(tp) if o is not type(None)]

    def union(data: JSON) -> Any:
        if data is None and nullable:
            return None
        misfits = []
        for option in options:
            try:
                return option(data)
            except _Misfit as misfit:
                misfits.append(misfit)
        if len(misfits) == 1:
            raise misfits[0]
        raise _Misfit(f"fits none of its types ({'; '.join(m.at(_HERE) for m in misfits)})")

    return union


def _literal(tp: Any) -> Decoder:
    allowed = get_args(tp)
    what = f"must be one of {', '.join(map(repr, allowed))}"

    def literal(data: JSON) -> Any:
        if data not in allowed:
            raise _Misfit(what)
        return data

    return literal


def _items(item: Decoder, data: list[JSON]) -> list[Any]:
    """Every item decoded; on a misfit, the index of the first one that does not fit."""
    try:
        return [item(v) for v in data]
    except _Misfit as misfit:
        for i, v in enumerate(data):
            try:
                item(v)
            except _Misfit as first:
                first.steps.append(f"[{i}]")
                raise first from None
        raise misfit from None


def _array(tp: Any) -> Decoder:
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is tuple and args and args[-1] is not Ellipsis:
        parts = [_decoder(a) for a in args]
        size = f"must have {len(args)} items"

        def fixed(data: JSON) -> Any:
            if not isinstance(data, list):
                raise _Misfit("must be an array")
            if len(data) != len(parts):
                raise _Misfit(size)
            out = []
            for i, (part, v) in enumerate(zip(parts, data, strict=True)):
                try:
                    out.append(part(v))
                except _Misfit as misfit:
                    misfit.steps.append(f"[{i}]")
                    raise
            return tuple(out)

        return fixed
    item = _decoder(args[0]) if args else _any
    make = origin or tp

    def array(data: JSON) -> Any:
        if not isinstance(data, list):
            raise _Misfit("must be an array")
        items = _items(item, data)
        return items if make is list else make(items)

    return array


def _mapping(tp: Any) -> Decoder:
    kt, vt = get_args(tp) or (str, Any)
    key, value = _decoder(kt), _decoder(vt)

    def mapping(data: JSON) -> Any:
        if not isinstance(data, dict):
            raise _Misfit("must be an object")
        out = {}
        for k, v in data.items():
            name = key(k)
            try:
                out[name] = value(v)
            except _Misfit as misfit:
                misfit.steps.append(f".{k}")
                raise
        return out

    return mapping


def _enum(tp: type[enum.Enum]) -> Decoder:
    members = {(type(enum_key(m)), enum_key(m)): m for m in tp}
    what = f"must be one of {', '.join(repr(enum_key(m)) for m in tp)}"

    def member(data: JSON) -> Any:
        try:
            return members[(type(data), data)]
        except (KeyError, TypeError):  # TypeError: an array or object is not hashable
            raise _Misfit(what) from None

    return member


def _bytes(data: JSON) -> bytes:
    try:
        if isinstance(data, str):
            return bytes.fromhex(data)
    except ValueError:
        pass
    raise _Misfit("must be a hex string")


def _date(data: JSON) -> dt.date:
    if not isinstance(data, str):
        raise _Misfit("must be a date (yyyy-mm-dd)")
    try:
        return dt.date.fromisoformat(data)
    except ValueError:
        raise _Misfit("must be a date (yyyy-mm-dd)") from None


def _path(data: JSON) -> Path:
    if type(data) is not str:
        raise _Misfit("must be a string")
    return Path(data)


def _dataclass(tp: type) -> Decoder:
    def instance(data: JSON, cls: type = tp) -> Any:
        if not isinstance(data, dict):
            raise _Misfit("must be an object")
        fields, known, required = _shape(cls)
        if not known.issuperset(data.keys()):
            unknown = sorted(set(data) - known - {"type"})
            if unknown:
                raise _Misfit(f"unknown field {unknown[0]!r}")
        kwargs = {}
        for name, field in fields:
            if name in data:
                try:
                    kwargs[name] = field(data[name])
                except _Misfit as misfit:
                    misfit.steps.append(f".{name}")
                    raise
            elif name in required:
                raise _Misfit(f"missing field {name!r}")
        return cls(**kwargs)

    if not _is_event(tp):
        return _checked_directly(tp, instance) or instance

    def event(data: JSON) -> Any:
        kind = _event_classes().get(str(data.get("type"))) if isinstance(data, dict) else tp
        if kind is None or not issubclass(kind, tp):
            misfit = _Misfit(f"not an event of type {tp.__name__}")
            misfit.steps.append(".type")
            raise misfit
        return instance(data, kind)

    return event


def _checked_directly(tp: type, instance: Decoder) -> Decoder | None:
    """For a dataclass of plain fields only (a volume): data with exactly its fields, each of
    an allowed type, is made at once; anything else goes the long way, which says what is wrong."""
    fields = fields_of(tp)
    if not all(_is_plain(ftype) for _, ftype in fields):
        return None
    allowed = tuple(
        (name, frozenset(get_args(ftype)) if get_origin(ftype) in (Union, types.UnionType) else frozenset((ftype,)))
        for name, ftype in fields
    )
    names = frozenset(name for name, _ in fields)

    def direct(data: JSON) -> Any:
        if type(data) is dict and data.keys() == names:
            for name, kinds in allowed:
                if type(data[name]) not in kinds:
                    return instance(data)
            return tp(**data)
        return instance(data)

    return direct


@functools.cache
def _decoder(tp: Any) -> Decoder:
    """How to decode `tp`, worked out once per type (20,000 rows decode in a third of the time)."""
    if tp in _PLAIN_NAMES:
        return _plain(tp)
    origin = get_origin(tp)
    if tp is Any:
        return _any
    if tp is type(None) or tp is None:
        return _null
    if origin in (Union, types.UnionType):
        return _union(tp)
    if origin is typing.Literal:
        return _literal(tp)
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        return _array(tp)
    if origin in (dict, Mapping) or tp is dict:
        return _mapping(tp)
    if not isinstance(tp, type):
        raise TypeError(f"{tp!r} has no JSON form")
    if issubclass(tp, enum.Enum):
        return _enum(tp)
    simple: dict[type, Decoder] = {bytes: _bytes, dt.date: _date, Path: _path}
    if tp in simple:
        return simple[tp]
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    raise TypeError(f"{tp!r} has no JSON form")


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


def request_parts(
    method: str, path: str, args: dict[str, object]
) -> tuple[str, dict[str, str], dict[str, object] | None]:
    """A call's path, query and body: its `{name}`s filled in from the arguments, the rest in the
    query of a GET (lists comma-separated, None left out) or the JSON body of any other method.
    One rule for every client: server.client through the route table, cli.thin through
    server/route_paths.py."""
    from urllib.parse import quote

    rest = dict(args)
    for name in re.findall(r"{(\w+)}", path):
        path = path.replace("{" + name + "}", quote(str(rest.pop(name)), safe=""))
    if method == "GET":
        return path, {k: _query_text(v) for k, v in rest.items() if v is not None}, None
    return path, {}, {k: encode(v) for k, v in rest.items()}


def _query_text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(encode(value))


__all__ = [
    "CLIENT_HEADER",
    "CONSOLE",
    "JSON",
    "NO_DRIVER",
    "STANDING_BY",
    "STREAM",
    "UNANSWERED",
    "UNREACHABLE",
    "WAITING",
    "Refused",
    "WireError",
    "answer",
    "decode",
    "encode",
    "enum_key",
    "event_schema",
    "fields_of",
    "hints_of",
    "request_parts",
    "returns",
    "schema",
]
