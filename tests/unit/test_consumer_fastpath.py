"""The fast path's byte-class pattern check agrees with Python's ``re`` on the contract's
patterns (and leaves patterns it does not understand to RE2)."""

from __future__ import annotations

import random
import re

import pyarrow as pa
import pytest

from chalicelib.consumer.fastpath import (
    BYTE_CLASSES,
    PATTERNS,
    byte_classes,
    matches_byte_classes,
)

_UUID = "00000000-0000-4000-8000-00000000000"
TRICKY = ["", "a", "user-1", "user-1\n", "\nuser", "-user", "_u", "us er", "üser", "user\x00",
          "u" * 128, "User.Name:1@x-y_z", _UUID + "1", _UUID + "A", _UUID + "g", _UUID + "1\n",
          _UUID, _UUID + "11", "000000000-000-4000-8000-000000000001", _UUID + "é",
          "0" * 37]  # fmt: skip


def _agree(pattern: str, values: list[str]) -> None:
    classes = byte_classes(pattern)
    assert classes is not None
    for value in values:
        expected = re.search(pattern, value) is not None
        assert matches_byte_classes(pa.array([value], pa.string()), classes) is expected, value
    # And a whole column: true only if every value matches.
    expected_all = all(re.search(pattern, v) is not None for v in values)
    assert matches_byte_classes(pa.array(values, pa.string()), classes) is expected_all


def test_contract_patterns_are_checked_by_byte_classes() -> None:
    # GIVEN the contract's patterns
    # THEN the fast path checks all of them with byte lookups (no RE2 per value)
    assert set(BYTE_CLASSES) == set(PATTERNS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_byte_classes_agree_with_python_re(name: str) -> None:
    # GIVEN a contract pattern and tricky values, plus random ones over a mixed alphabet
    pattern = PATTERNS[name]
    rng = random.Random(7)
    alphabet = "aZ09-_.:@ \n\x00é/gG"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    uuids = ["".join(rng.choice("0123456789abcdefABCDEF-g") for _ in range(36)) for _ in range(500)]
    # WHEN checked one by one and as a column, THEN the verdict is re's
    _agree(pattern, TRICKY + randoms + uuids)
    _agree(pattern, [v for v in TRICKY + randoms + uuids if re.search(pattern, v)])


def test_nulls_are_skipped_and_offsets_respected() -> None:
    # GIVEN a column with nulls, sliced (non-zero offset)
    classes = byte_classes(PATTERNS["event_id"])
    assert classes is not None
    good = "00000000-0000-4000-8000-000000000001"
    values = pa.array(["bad", good, None, good], pa.string())
    # THEN nulls do not count and the slice is what is checked
    assert matches_byte_classes(values.slice(1), classes)
    assert not matches_byte_classes(values, classes)


@pytest.mark.parametrize(
    "pattern",
    [
        r"user-\d+\Z",
        r"^\d+\Z",
        r"^[^a]\Z",
        r"^a+\Z",
        r"^a?\Z",
        r"^a{1,3}\Z",
        r"^(a|b)\Z",
        r"^a.\Z",
        r"^a*b\Z",
        r"^[a-z]",
        r"(?i)^a\Z",
        r"^[z-a]\Z",
        r"^\w\Z",
    ],
)
def test_patterns_beyond_plain_classes_are_left_to_re2(pattern: str) -> None:
    # GIVEN a pattern with anything but ^, ASCII classes/literals, {n}, a final * and \Z
    # THEN no byte classes are derived (RE2, then the contract, decide)
    assert byte_classes(pattern) is None


def test_simple_pattern_forms() -> None:
    # GIVEN \A ... $ and escaped literals
    classes = byte_classes(r"\A[a\-c]x\.{2}[0-9]*$")
    assert classes is not None
    # THEN they behave as the regex on whole values (no trailing newline accepted)
    for value, ok in [("ax..", True), ("-x..12", True), ("bx..", False), ("ax..\n", False),
                      ("cx.", False), ("cx..a", False)]:  # fmt: skip
        assert matches_byte_classes(pa.array([value]), classes) is ok, value


def test_untracked_twins_hold_no_containers() -> None:
    # GIVEN the twins (gc=False: safe only while no field can hold a container)
    import msgspec.inspect as mi

    from chalicelib.consumer.fastpath import TWINS

    scalar = (mi.StrType, mi.IntType, mi.DateTimeType, mi.NoneType, mi.LiteralType)

    def leaves(t: mi.Type) -> list[mi.Type]:
        if isinstance(t, mi.Metadata):
            return leaves(t.type)
        if isinstance(t, mi.UnionType):
            return [leaf for u in t.types for leaf in leaves(u)]
        return [t]

    for cls, twin in TWINS.items():
        # THEN each is a subclass of its contract class, untracked
        assert issubclass(twin, cls) and twin.__struct_config__.gc is False
        # AND every field's type is built from str/int/datetime/None only
        info = mi.type_info(twin)
        assert isinstance(info, mi.StructType)
        for field in info.fields:
            for leaf in leaves(field.type):
                assert isinstance(leaf, scalar), (twin.__name__, field.name, leaf)
