"""Batch fast path: the contract's models minus their regex patterns, patterns checked in bulk.

msgspec runs ``Meta(pattern=...)`` through Python's ``re`` per value: the contract's two
patterns (userid, event_id) are about half of its decode time. The twins below are
subclasses of the contract's classes, derived from them (not copied), identical except
that pattern-constrained fields lose the pattern; the patterns are then checked for the
whole batch at once with Arrow's RE2 ``match_substring_regex``. RE2 is at least as strict
here (its ``$`` does not match before a trailing newline as Python's does), and any doubt
sends the batch to the per-line contract decoder, which has the last word.
"""

from __future__ import annotations

import types
from operator import attrgetter
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from chalicelib.contract import EventBase
from chalicelib.contract.models import EVENT_CLASSES

_META_KEEP = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "tz",
              "title", "description", "examples", "extra_json_schema", "extra")  # fmt: skip


def _strip_pattern(tp: Any, found: list[str]) -> Any:
    """``tp`` with the pattern removed from its msgspec.Meta; patterns go into ``found``."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *metas = get_args(tp)
        kept: list[Any] = []
        for meta in metas:
            if isinstance(meta, msgspec.Meta) and meta.pattern is not None:
                found.append(meta.pattern)
                kw = {k: getattr(meta, k) for k in _META_KEEP if getattr(meta, k) is not None}
                meta = msgspec.Meta(**kw)
            kept.append(meta)
        return Annotated[(_strip_pattern(base, found), *kept)]  # type: ignore[valid-type]
    if origin in (Union, types.UnionType):
        return Union[tuple(_strip_pattern(a, found) for a in get_args(tp))]  # noqa: UP007
    return tp


def _twin(cls: type[EventBase], patterns: dict[str, str]) -> type[EventBase]:
    overrides: list[tuple[Any, ...]] = []
    for f in msgspec.structs.fields(cls):
        found: list[str] = []
        stripped = _strip_pattern(f.type, found)
        if not found:
            continue
        if len(found) > 1:  # pragma: no cover - two patterns on one field: keep the contract's
            continue
        patterns[f.name] = found[0]
        if f.default is not msgspec.NODEFAULT:
            overrides.append((f.name, stripped, f.default))
        elif f.default_factory is not msgspec.NODEFAULT:
            overrides.append((f.name, stripped, msgspec.field(default_factory=f.default_factory)))
        else:
            overrides.append((f.name, stripped))
    config = cls.__struct_config__
    return msgspec.defstruct(  # type: ignore[return-value]
        f"{cls.__name__}Fast",
        overrides,
        bases=(cls,),
        module=__name__,
        kw_only=True,
        tag_field=config.tag_field,
        tag=config.tag,
        omit_defaults=config.omit_defaults,
    )


PATTERNS: dict[str, str] = {}
TWINS: dict[type[EventBase], type[EventBase]] = {
    cls: _twin(cls, PATTERNS) for cls in EVENT_CLASSES.values()
}
_FastEvent = Union[tuple(TWINS.values())]  # type: ignore[valid-type]  # noqa: UP007
# ``decode_lines`` reads NDJSON as it is: no rewriting of the batch into a JSON array.
FAST_DECODER = msgspec.json.Decoder(_FastEvent)


def re2_pattern(pattern: str) -> str:
    """A Python ``re`` pattern in RE2 terms: ``\\A``/``\\Z`` (unsupported by RE2) become
    ``^``/``$``, which in RE2 without multi-line mode mean exactly start/end of text."""
    if pattern.startswith("\\A"):
        pattern = "^" + pattern[2:]
    if pattern.endswith("\\Z") and not pattern.endswith("\\\\Z"):
        pattern = pattern[:-2] + "$"
    return pattern


def pattern_arrays(events: list[EventBase]) -> dict[str, pa.Array] | None:
    """The pattern-constrained fields as Arrow columns if every value matches, else None.

    The columns are kept: the consumer stores them as they are.
    """
    arrays = {}
    for name, pattern in PATTERNS.items():
        values = pa.array(list(map(attrgetter(name), events)), pa.string())
        try:
            ok = pc.match_substring_regex(values, re2_pattern(pattern))
        except pa.ArrowInvalid:  # a pattern RE2 cannot run: let the contract decide
            return None
        if ok.true_count != len(values) - values.null_count:
            return None
        arrays[name] = values
    return arrays
