"""One rule for every config dataclass read from a dict: unknown keys and wrong types are errors.

:func:`check_known_keys` is what every ``from_dict`` calls. Besides unknown keys it checks each
given value against the field's annotation, so a config file with ``lr = "fast"`` gets one
:class:`ConfigError` naming the field, the expected type and the value, instead of a
``TypeError`` from deep inside ``__post_init__``. Understood annotations: ``int``, ``float``
(an int is accepted), ``bool`` (an int is not), ``str``, ``dict``, ``Literal[...]``,
``tuple[X, ...]`` / ``tuple[X, Y]`` / ``list[X]`` (a list or a tuple), ``X | None`` and other
unions, ``Any``, and nested config dataclasses (a table, checked field by field; its unknown keys
are errors too). Anything else is not checked here, nor are annotations that do not resolve in
the dataclass's module (a class defined inside a function). Value *ranges* stay with
``__post_init__``.
Stdlib only.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import reprlib
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from edgederain.errors import ConfigError

_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60


def check_known_keys(cls: type, data: Mapping[str, Any], *, what: str) -> None:
    """Raise :class:`ConfigError` for keys of ``data`` that are not fields of ``cls``, or for a
    value whose type does not fit the field's annotation (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"a {what} must be a table of keys and values, got {_show(data)}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown {what} keys {sorted(unknown)}; known: {sorted(known)}")
    check_types(cls, data, what=what)


def check_types(cls: type, data: Mapping[str, Any], *, what: str, path: str = "") -> None:
    """Check every value of ``data`` against the annotation of the field of ``cls`` it sets."""
    hints = _field_types(cls)
    for name, value in data.items():
        if name in hints:
            _check(value, hints[name], what=what, path=f"{path}{name}")


@functools.lru_cache(maxsize=None)
def _field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved annotation (string annotations evaluated in the class's module)."""
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: check only the resolved ones
        hints = {f.name: f.type for f in dataclasses.fields(cls) if not isinstance(f.type, str)}
    return {k: v for k, v in hints.items() if k in names}


def _check(value: Any, tp: Any, *, what: str, path: str) -> None:
    """Raise :class:`ConfigError` if ``value`` does not fit ``tp``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        _check_union(value, args, what=what, path=path, tp=tp)
    elif origin in (tuple, list) or (origin is not None and _is_sequence_type(origin)):
        _check_sequence(value, tp, args, what=what, path=path)
    elif origin is Literal:
        if not any(value == a and type(value) is type(a) for a in args):
            raise ConfigError(f"{what}: {path} must be {describe(tp)}, got {_show(value)}")
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        _check_table(value, tp, what=what, path=path)
    elif not _fits_plain(value, origin or tp):
        raise _mismatch(value, tp, what=what, path=path)


def _check_union(value: Any, args: tuple, *, what: str, path: str, tp: Any) -> None:
    errors = []
    for alt in args:
        try:
            _check(value, alt, what=what, path=path)
            return
        except ConfigError as exc:
            errors.append((alt, exc))
    # A value of the right kind with a wrong element: the alternative's own, more precise message.
    close = [exc for alt, exc in errors if alt is not type(None) and _same_kind(value, alt)]
    if len(close) == 1:
        raise close[0]
    raise _mismatch(value, tp, what=what, path=path)


def _check_sequence(value: Any, tp: Any, args: tuple, *, what: str, path: str) -> None:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        raise _mismatch(value, tp, what=what, path=path)
    if typing.get_origin(tp) is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(value) != len(args):
            raise _mismatch(value, tp, what=what, path=path)
        items = list(zip(value, args))
    else:
        item = args[0] if args else Any
        items = [(v, item) for v in value]
    for i, (v, item_tp) in enumerate(items):
        _check(v, item_tp, what=what, path=f"{path}[{i}]")


def _check_table(value: Any, cls: type, *, what: str, path: str) -> None:
    if isinstance(value, cls):
        return
    if not isinstance(value, Mapping):
        raise _mismatch(value, cls, what=what, path=path)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(value) - known
    if unknown:
        raise ConfigError(f"unknown {_words(cls.__name__)} keys {sorted(unknown)} in {what} {path}; "
                          f"known: {sorted(known)}")
    check_types(cls, value, what=what, path=f"{path}.")


def _fits_plain(value: Any, tp: Any) -> bool:
    if tp is Any or tp is object:
        return True
    if tp is type(None) or tp is None:
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is dict or tp is Mapping:
        return isinstance(value, Mapping)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True  # a form this checker does not know (TypeVar, Callable...): not checked here


def _is_sequence_type(origin: Any) -> bool:
    import collections.abc as abc

    return origin in (abc.Sequence, abc.MutableSequence)


def _same_kind(value: Any, tp: Any) -> bool:
    """Whether ``value`` is of ``tp``'s outer kind (a list for a tuple type, a table for a dataclass)."""
    origin = typing.get_origin(tp) or tp
    if origin in (tuple, list) or _is_sequence_type(origin):
        return isinstance(value, (list, tuple))
    if dataclasses.is_dataclass(tp) or origin in (dict, Mapping):
        return isinstance(value, Mapping)
    return False


def _mismatch(value: Any, tp: Any, *, what: str, path: str) -> ConfigError:
    return ConfigError(f"{what}: {path} must be {describe(tp)}, got {_show(value)}")


def describe(tp: Any) -> str:
    """``tp`` in words, as a config file's author would say it: ``int | None`` -> 'an integer or null'."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        return " or ".join(describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return f"a list of {len(args)} ({', '.join(describe(a) for a in args)})"
    if origin in (tuple, list) or (origin is not None and _is_sequence_type(origin)):
        return f"a list of {_plural(args[0]) if args else 'values'}"
    if dataclasses.is_dataclass(tp):
        return f"a table of {_words(tp.__name__)} settings"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             dict: "a table", Mapping: "a table", type(None): "null", Any: "any value"}
    if tp in names:
        return names[tp]
    return f"a {getattr(tp, '__name__', str(tp))}"


def _plural(tp: Any) -> str:
    plain = {bool: "true/false values", int: "integers", float: "numbers", str: "strings",
             dict: "tables", Mapping: "tables"}
    if tp in plain:
        return plain[tp]
    if dataclasses.is_dataclass(tp):
        return f"{_words(tp.__name__)} tables"
    return f"values that are each {describe(tp)}"


def _words(name: str) -> str:
    """``StreakLayer`` -> 'streak layer'."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _show(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", tuple: "a list", dict: "a table", type(None): "null"}.get(type(value))
    return f"{_REPR.repr(value)} ({kind or type(value).__name__})"
