"""How a config key is declared, and how a problem with one is reported.

A key is a field of a `ConfigModel`: its camelCase name (the alias), type and allowed values, default
(static, or per environment in environments.py), description and validation all live in that one
declaration. The parser, the unknown-key check, the docs table and the editor schema are derived from
it. Problems come back as one line per key, naming the key and the fix, all of them in one run.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import annotated_types
import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel

PROJECT = "mlplatform"


class ConfigError(pulumi.RunError):
    """Raised by `load()`; its message lists every problem, one line each."""


class ConfigModel(BaseModel):
    """A group of settings under one config key. Unknown keys are errors: a typo never falls back to a
    default. `ENVIRONMENT_DEFAULTS` (environments.py) fills what the stack file leaves out."""

    # python-re: the same regex dialect (look-ahead included) as the JSON Schema editors check against.
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True, validate_default=True,
                              regex_engine="python-re")
    ENVIRONMENT_DEFAULTS: ClassVar[dict[str, dict[str, Any]] | None] = None
    DERIVED_DEFAULTS: ClassVar[dict[str, str]] = {}  # key -> what derived_defaults() sets it to, in words

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Mapping):
            return data
        context = info.context or {}
        if cls.ENVIRONMENT_DEFAULTS and context:
            data = {**cls.ENVIRONMENT_DEFAULTS[context["defaults"]], **data}
        return cls.derived_defaults(dict(data), context)

    @classmethod
    def derived_defaults(cls, data: dict[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults that follow from other settings or the stack (e.g. a GPU group's disk size)."""
        return data

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """Checks across settings (or needing the stack's context): (key below this one, message) pairs."""
        return iter(())


def text(pattern: str, hint: str, description: str, **kwargs: Any) -> Any:
    """A string field that must match `pattern`; a mismatch is reported as "<value> is not <hint>"."""
    return Field(pattern=pattern, description=description, json_schema_extra={"hint": hint}, **kwargs)


# ---- reporting ---------------------------------------------------------------------------------------

class Problems:
    """Collects every problem so one run reports them all."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{PROJECT}:{key}: {message}" if key else message)

    def raise_if_any(self) -> None:
        if self.lines:
            raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(self.lines))


def repeated(values: Sequence[str]) -> list[str]:
    """The values listed more than once, each once, sorted."""
    return sorted({v for v in values if values.count(v) > 1})


def did_you_mean(key: str, known: Sequence[str]) -> str:
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1)
    hint = f"did you mean '{by_lower[close[0]]}'?" if close else f"known keys: {', '.join(known)}"
    return f"unknown key; {hint} (a misspelt key would otherwise be ignored)"


_KINDS = {"int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
          "bool_type": "true or false", "bool_parsing": "true or false", "string_type": "a string",
          "list_type": "a list", "tuple_type": "a list", "dict_type": "a map", "model_type": "a map of settings",
          "model_attributes_type": "a map of settings"}


def report(problems: Problems, prefix: str, model: Any, error: ValidationError, raw: Any,
           within: tuple[Any, ...] = ()) -> None:
    """Add one line per pydantic error, worded like every other config problem. `within`: where in `raw` the
    model that failed sits (e.g. the index of a list item validated on its own)."""
    for item in error.errors():
        loc, kind = (*within, *item["loc"]), item["type"]
        field, owner = _field(model, loc)
        key = _key(prefix, loc, raw)
        value = item.get("input")
        own = item["loc"]
        if kind == "too_short" and (not value or any(len(other["loc"]) > len(own) and other["loc"][:len(own)] == own
                                                      for other in error.errors())):
            if not value:
                problems.add(key, required(key, field))
            continue  # pydantic also reports a list as too short once a bad item is dropped
        if kind == "missing":
            problems.add(key, required(key, field))
        elif kind == "extra_forbidden":
            problems.add(key, did_you_mean(str(loc[-1]), _aliases(owner)))
        elif kind in _KINDS:
            problems.add(key, f"must be {_KINDS[kind]}, got {value!r}")
        elif kind == "literal_error":
            allowed = re.sub(r"'([^']*)'", r"\1", item["ctx"]["expected"]).replace(" or ", ", ")
            problems.add(key, f"must be one of {allowed}, got {value!r}")
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            low, high = _bounds(field)
            problems.add(key, f"must be between {low} and {high}, got {value}")
        elif kind == "string_pattern_mismatch":
            problems.add(key, f"{value!r} is not {_hint(field)}")
        elif kind in ("too_short", "too_long"):
            bound = item["ctx"].get("min_length", item["ctx"].get("max_length"))
            problems.add(key, f"needs {'at least' if kind == 'too_short' else 'at most'} {bound}, got "
                              f"{len(value)}: {field.description if field else ''}")
        elif kind == "value_error":
            problems.add(key, str(item["ctx"]["error"]))
        else:
            problems.add(key, f"{item['msg']}, got {value!r}")


def required(key: str, field: Any) -> str:
    """"is required: <what it sets>; <how to set it>"."""
    what = field.description if field else "set it"
    return f"is required: {what}; {how_to_set(key, getattr(field, 'annotation', None), field)}"


def how_to_set(key: str, annotation: Any, field: Any = None) -> str:
    """The command that sets `key`, or where to write it when a command cannot (an item of a list of maps)."""
    if "[" in key:
        owner, _, rest = key.partition("[")
        return f"add `{rest.split('.', 1)[-1]}:` to that entry of {owner} in Pulumi.<stack>.yaml"
    if _model_in(annotation) is not None:
        return f"write the `{key}` map in Pulumi.<stack>.yaml (Pulumi.dev.yaml shows one)"
    secret = "--secret " if (getattr(field, "json_schema_extra", None) or {}).get("secret") else ""
    if typing.get_origin(_strip(annotation)) in (list, tuple):
        return f"`pulumi config set {secret}--path '{PROJECT}:{key}[0]' <value>`"
    return f"`pulumi config set {secret}--path '{PROJECT}:{key}' <value>`"


def _key(prefix: str, loc: tuple[Any, ...], raw: Any) -> str:
    """('nodeGroups', 0, 'minSize') -> nodeGroups[system].minSize, naming list items by their name (a plain
    value in a list is reported on the list: the message quotes it)."""
    key, node = prefix, raw
    for part in loc:
        if part == "[key]":
            continue  # pydantic's marker for "the key of this map entry" (the key itself is named)
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(item, Mapping):
                name = item.get("name")
                key += f"[{name if isinstance(name, str) and name else part}]"
            node = item
        else:
            key = f"{key}.{part}" if key else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return key


def _strip(annotation: Any) -> Any:
    """The type inside Annotated[...] / X | None."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _model_in(annotation: Any) -> Any:
    annotation = _strip(annotation)
    if typing.get_origin(annotation) in (list, tuple):
        annotation = _strip(typing.get_args(annotation)[0])
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _aliases(model: Any) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()] if model else []


def _field(model: Any, loc: tuple[Any, ...]):
    """The field a pydantic error location points at, and the model that owns it."""
    owner, field = _model_in(model), None
    for part in loc:
        if isinstance(part, int):
            continue
        if owner is None:
            return field, None  # inside a list or map: its items are described by the container's field
        field = next((f for name, f in owner.model_fields.items() if (f.alias or name) == part), None)
        if field is None:
            return None, owner
        if part != loc[-1]:
            owner = _model_in(field.annotation)
    return field, owner


def _hint(field: Any) -> str:
    """How a value of this field (or of its items) should look."""
    extra = getattr(field, "json_schema_extra", None) or {}
    if "hint" in extra:
        return str(extra["hint"])
    # The hint of the items: tuple[Annotated[str, Field(...)], ...] or dict[K, Annotated[...]].
    args = typing.get_args(getattr(field, "annotation", None))
    for arg in args + (typing.get_args(args[0]) if args else ()):
        for meta in getattr(arg, "__metadata__", ()):
            hint = (getattr(meta, "json_schema_extra", None) or {}).get("hint")
            if hint:
                return str(hint)
    return "valid here"


def _bounds(field: Any) -> tuple[Any, Any]:
    low = high = None
    for item in getattr(field, "metadata", []):
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Le):
            high = item.le
    return low, high
