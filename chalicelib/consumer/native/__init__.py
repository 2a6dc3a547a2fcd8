"""Optional native decoder: an NDJSON chunk straight to Arrow columns, no Python objects.

``fastdecode.c`` (built by ``make`` into ``_fastdecode.so`` next to it; loaded through
ctypes) parses the lines and fills per-field buffers; this module turns them into Arrow
arrays and checks every rule of the contract in bulk — required fields, nulls, lengths,
ranges, patterns, literals, the event_type tag, ``enemy_attack``'s "all four stats or
none" — with rules derived from the msgspec models (``msgspec.inspect``), not copied.
Anything the C code does not handle exactly as msgspec would, or any rule broken, gives
``None`` and the caller decodes the chunk with msgspec, whose verdict is final; so this
path never accepts what the contract rejects. Absent (no compiler, another platform,
``GAMEPIPE_NATIVE_DECODER=0``), the consumer runs the msgspec path alone.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chalicelib.consumer.fastpath import BYTE_CLASSES, matches_pattern
from chalicelib.contract.models import EVENT_CLASSES, EnemyAttack

LIBRARY = Path(__file__).with_name("_fastdecode.so")
_KINDS = {0: pa.string(), 1: pa.int64(), 2: pa.timestamp("us")}
_MISSING, _VALUE, _NULL = 0, 1, 2
_INT64 = np.iinfo(np.int64)


@dataclass(frozen=True)
class FieldRules:
    """One field's rules, one entry per event class (in ``EVENT_CLASSES`` order)."""

    known: np.ndarray  # bool: the class has the field (else it is ignored, as msgspec does)
    required: np.ndarray  # bool
    nullable: np.ndarray  # bool: an explicit null is valid
    min_len: np.ndarray  # int64 (strings, bytes = characters: the C code takes ASCII only)
    max_len: np.ndarray
    low: np.ndarray  # int64 inclusive bounds (integers)
    high: np.ndarray
    defaults: pa.Array  # the default of a missing field per class (null: none/None)
    literals: pa.Array | None  # the one allowed value per class (Literal fields), else None
    pattern: str | None  # the same on every class that has the field


def _unwrap(info: Any) -> tuple[Any, bool]:
    """(base type info, nullable) of a msgspec.inspect field type."""
    nullable = False
    if isinstance(info, msgspec.inspect.UnionType):
        members = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        nullable = len(members) < len(info.types)
        if len(members) != 1:
            raise TypeError(f"unsupported union {info}")
        info = members[0]
    if isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    return info, nullable


def derive_rules(names: list[str], kinds: list[pa.DataType]) -> dict[str, FieldRules]:
    """Per-field rules of every event class, from the models (raises if out of reach)."""
    classes = list(EVENT_CLASSES.values())
    for cls in classes:
        # A __post_init__ is a rule msgspec.inspect cannot show; enemy_attack's is checked
        # in NativeDecoder.decode, any other one is unknown here.
        if getattr(cls, "__post_init__", None) is not None and cls is not EnemyAttack:
            raise TypeError(f"{cls.__name__} has a rule this decoder does not know")
    infos = {cls: {f.name: f for f in msgspec.inspect.type_info(cls).fields} for cls in classes}  # type: ignore[attr-defined]
    fields = {name for fs in infos.values() for name in fs}
    if not fields <= set(names) - {"event_type"}:
        raise TypeError(f"fields the decoder does not fill: {fields - set(names)}")
    rules: dict[str, FieldRules] = {}
    for name, kind in zip(names, kinds, strict=True):
        if name == "event_type":
            continue
        n = len(classes)
        known, required, nullable = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
        min_len, max_len = np.zeros(n, np.int64), np.full(n, _INT64.max, np.int64)
        low, high = np.full(n, _INT64.min, np.int64), np.full(n, _INT64.max, np.int64)
        defaults: list[Any] = [None] * n
        literals: list[Any] = [None] * n
        patterns: set[str] = set()
        for c, cls in enumerate(classes):
            field = infos[cls].get(name)
            if field is None:
                continue
            base, nullable[c] = _unwrap(field.type)
            known[c], required[c] = True, field.required
            if not field.required and field.default is not msgspec.NODEFAULT:
                defaults[c] = field.default
            if isinstance(base, msgspec.inspect.StrType) and kind == pa.string():
                min_len[c] = base.min_length or 0
                max_len[c] = base.max_length if base.max_length is not None else _INT64.max
                if base.pattern:
                    patterns.add(base.pattern)
            elif isinstance(base, msgspec.inspect.LiteralType) and kind == pa.string():
                if len(base.values) != 1 or not isinstance(base.values[0], str):
                    raise TypeError(f"unsupported literal {base}")
                literals[c] = base.values[0]
            elif isinstance(base, msgspec.inspect.IntType) and kind == pa.int64():
                if base.multiple_of is not None:
                    raise TypeError(f"unsupported {base}")
                low[c] = max(
                    x
                    for x in (base.ge, None if base.gt is None else base.gt + 1, _INT64.min)
                    if x is not None
                )
                high[c] = min(
                    x
                    for x in (base.le, None if base.lt is None else base.lt - 1, _INT64.max)
                    if x is not None
                )
            elif isinstance(base, msgspec.inspect.DateTimeType) and kind == pa.timestamp("us"):
                if base.tz is not True:
                    raise TypeError(f"{name}: only tz-aware timestamps are decoded natively")
            else:
                raise TypeError(f"{name}: {base} does not match the decoder's {kind}")
        if len(patterns) > 1:
            raise TypeError(f"{name}: different patterns per class")
        rules[name] = FieldRules(
            known, required, nullable, min_len, max_len, low, high,
            pa.array(defaults, kind),
            pa.array(literals, pa.string()) if any(v is not None for v in literals) else None,
            patterns.pop() if patterns else None,
        )  # fmt: skip
    return rules


class NativeDecoder:
    """The C decoder and the contract's rules; ``decode`` -> columns or None (defer)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.gp_field_name.restype = ctypes.c_char_p
        lib.gp_decode.restype = ctypes.c_long
        lib.gp_decode.argtypes = [ctypes.c_char_p, ctypes.c_long, ctypes.c_long]
        lib.gp_decode.argtypes += [ctypes.c_void_p] * 4
        self._lib = lib
        self.names = [lib.gp_field_name(i).decode() for i in range(lib.gp_field_count())]
        self.kinds = [_KINDS[lib.gp_field_kind(i)] for i in range(len(self.names))]
        self.rules = derive_rules(self.names, self.kinds)
        if self.names[0] != "event_type":
            raise TypeError("the C decoder codes event_type as field 0")
        self._tag = 0
        # The tags' bytes must outlive the C library's pointers to them: kept here.
        self._tags = [t.encode() for t in EVENT_CLASSES]
        lib.gp_set_tags(len(self._tags), (ctypes.c_char_p * len(self._tags))(*self._tags))
        # Per-field rules stacked (field x class), fields in ``names`` order minus the tag,
        # so each check is one numpy operation over (fields x rows) per chunk.
        self._fields = [n for n in self.names if n != "event_type"]
        self._rows = [self.names.index(n) for n in self._fields]
        rules = [self.rules[n] for n in self._fields]
        self._known = np.stack([r.known for r in rules])
        self._required = np.stack([r.required for r in rules])
        self._nullable = np.stack([r.nullable for r in rules])
        self._str = [i for i, n in zip(self._rows, self._fields, strict=True)
                     if self.kinds[i] == pa.string()]  # fmt: skip
        self._int = [i for i, n in zip(self._rows, self._fields, strict=True)
                     if self.kinds[i] == pa.int64()]  # fmt: skip
        by_name = self.rules
        # Rows of the stacked rule tables for the string and the integer fields.
        self._str_rows = [self._rows.index(i) for i in self._str]
        self._int_rows = [self._rows.index(i) for i in self._int]
        self._min_len = np.stack([by_name[self.names[i]].min_len for i in self._str])
        self._max_len = np.stack([by_name[self.names[i]].max_len for i in self._str])
        self._low = np.stack([by_name[self.names[i]].low for i in self._int])
        self._high = np.stack([by_name[self.names[i]].high for i in self._int])
        self._stats = [self.names.index(n) for n in ("level", "attack", "defense", "health")]
        self._enemy_attack = list(EVENT_CLASSES.values()).index(EnemyAttack)
        self._lock = threading.Lock()
        self._lines = self._bytes = 0  # capacity of the scratch buffers
        self._grow(8192, 4 << 20)

    def _grow(self, lines: int, size: int) -> None:
        """(Re)allocate the scratch buffers the C code fills, one row per field."""
        nf = len(self.names)
        self._lines, self._bytes = lines, size
        self._offsets = np.empty((nf, lines + 1), np.int32)
        self._data = np.empty((nf, size), np.uint8)
        self._ints = np.empty((nf, lines), np.int64)
        self._states = np.empty((nf, lines), np.uint8)

        def rows(matrix: np.ndarray) -> Any:
            return (ctypes.c_void_p * nf)(*[matrix[f].ctypes.data for f in range(nf)])

        self._pointers = [rows(m) for m in (self._offsets, self._data, self._ints, self._states)]

    def decode(self, joined: bytes, n_lines: int) -> tuple[dict[str, pa.Array], np.ndarray] | None:
        """Columns (all fields, defaults applied) and class codes of ``n_lines`` lines, or
        None when msgspec must decide (a line outside the C code's reach, a broken rule)."""
        with self._lock:
            if n_lines > self._lines or len(joined) > self._bytes:
                self._grow(max(n_lines, self._lines), max(len(joined), self._bytes))
            if self._lib.gp_decode(joined, len(joined), n_lines, *self._pointers):
                return None
            return self._columns(n_lines)

    def _columns(self, n: int) -> tuple[dict[str, pa.Array], np.ndarray] | None:
        states = self._states[:, :n]
        if not (states[self._tag] == _VALUE).all():
            return None
        offsets = self._offsets[:, : n + 1]
        tag_codes = self._ints[self._tag, :n]
        if (tag_codes < 0).any():  # not one of the nine event types
            return None
        codes = tag_codes.astype(np.int8)
        # The contract, in bulk: required and nullable, then lengths and ranges.
        fields = states[self._rows]
        known = self._known[:, codes]
        if (known & self._required[:, codes] & (fields != _VALUE)).any():
            return None
        if (known & ~self._nullable[:, codes] & (fields == _NULL)).any():
            return None
        lengths = np.diff(offsets[self._str], axis=1)
        has = (states[self._str] == _VALUE) & known[self._str_rows]
        if (
            ((lengths < self._min_len[:, codes]) | (lengths > self._max_len[:, codes])) & has
        ).any():
            return None
        ints = self._ints[self._int, :n]
        has = (states[self._int] == _VALUE) & known[self._int_rows]
        if (((ints < self._low[:, codes]) | (ints > self._high[:, codes])) & has).any():
            return None
        ea = codes == self._enemy_attack
        if ea.any():  # enemy_attack's __post_init__: all four stats or none
            present = states[self._stats][:, ea] == _VALUE
            if not (present == present[0]).all():
                return None
        columns: dict[str, pa.Array] = {}
        for name in self._fields:
            column = self._column(name, n, codes)
            if column is None:
                return None
            columns[name] = column
        return columns, codes

    def _column(self, name: str, n: int, codes: np.ndarray) -> pa.Array | None:
        """One field's Arrow column (copied out of the scratch buffers), patterns and
        literals checked, defaults applied to rows that lack the field."""
        f = self.names.index(name)
        rule, kind = self.rules[name], self.kinds[f]
        state = self._states[f, :n]
        value = state == _VALUE
        validity = pa.py_buffer(np.packbits(value, bitorder="little"))
        if kind == pa.string():
            off = self._offsets[f, : n + 1].copy()
            data = self._data[f, : off[-1]].copy()
            buffers = [validity, pa.py_buffer(off), pa.py_buffer(data)]
        else:
            buffers = [validity, pa.py_buffer(self._ints[f, :n].copy())]
        column = pa.Array.from_buffers(kind, n, buffers)
        known = rule.known[codes]
        has = known & value
        checked = column.filter(pa.array(has)) if rule.pattern and has.any() else None
        if checked is not None and not matches_pattern(
            checked, str(rule.pattern), BYTE_CLASSES.get(name)
        ):
            return None
        if rule.literals is not None and has.any():
            same = pc.equal(column, rule.literals.take(pa.array(codes)))
            if not same.to_numpy(zero_copy_only=False)[has].all():
                return None
        missing = known & (state == _MISSING)
        if missing.any() and rule.defaults.null_count < len(rule.defaults):
            column = pc.if_else(pa.array(missing), rule.defaults.take(pa.array(codes)), column)
        return column


def load() -> NativeDecoder | None:
    """The native decoder if built for this platform and not disabled, else None."""
    if os.environ.get("GAMEPIPE_NATIVE_DECODER", "1") == "0" or not LIBRARY.exists():
        return None
    try:
        return NativeDecoder(ctypes.CDLL(str(LIBRARY)))
    except (OSError, AttributeError):  # built for another platform, or an older build
        return None
    except TypeError:  # the models grew something the C decoder cannot represent
        return None


DECODER = load()
