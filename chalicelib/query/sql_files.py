"""Named SQL statements under chalicelib/athena_sql: resolve a name like "q3" to its text.

The registered statements (``chalicelib.statements``: questions, reports, views) resolve by
their name; every file also resolves as "folder/stem" (``seed/q3``, ``kpi/daily``), so the
seed's wrong answers never shadow ours. The pieces in ``fragments/`` are not statements.
The tables' DDL is not a file: ``chalicelib.ddl`` writes it from ``chalicelib.tables``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from chalicelib.statements import FRAGMENTS, SQL_ROOT, STATEMENTS

__all__ = ["SQL_ROOT", "catalog", "load_sql", "looks_like_sql"]

_SHORT = re.compile(r"^(q\d+)_")


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, Path]:
    """Map every resolvable name (registered name, "folder/stem", "folder/qN") to its file."""
    return {name: _file(target) for name, target in _names().items()}


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, str | Path]:
    """Every name → the registered statement it stands for, or a plain file (the seed's)."""
    by_path: dict[Path, list[str]] = {}
    for name, statement in STATEMENTS.items():
        by_path.setdefault(statement.path, []).append(name)
    names: dict[str, str | Path] = {}
    # A fragment is a piece of other statements (filled in by the registry), not one.
    for folder in sorted(p for p in SQL_ROOT.iterdir() if p.is_dir() and p != FRAGMENTS):
        for path in sorted(folder.glob("*.sql")):
            owners = by_path.get(path, [])
            if len(owners) > 1:
                continue  # a template several statements fill in (q5/q6): not one statement
            short = _SHORT.match(path.stem)
            for key in [path.stem, short.group(1)] if short else [path.stem]:
                names[f"{folder.name}/{key}"] = owners[0] if owners else path
    names.update({name: name for name in STATEMENTS})
    return names


def _file(target: str | Path) -> Path:
    return STATEMENTS[target].path if isinstance(target, str) else target


def strip_terminator(sql: str) -> str:
    """Drop a trailing ';' (Athena's API takes one statement without it)."""
    return sql.strip().rstrip(";").rstrip()


def load_sql(name: str) -> str:
    """The SQL text of a named statement, without its trailing ';'; KeyError if unknown.

    A registered statement (by its name or its file's "folder/stem") comes with its
    template filled in and fixed parameters bound.
    """
    target = _names().get(_key(name))
    if target is None:
        raise KeyError(f"no SQL statement named {name!r}; known: {', '.join(sorted(catalog()))}")
    if isinstance(target, str):
        return STATEMENTS[target].sql()
    return strip_terminator(target.read_text(encoding="utf-8"))


def looks_like_sql(text: str) -> bool:
    """Whether ``text`` is SQL rather than a statement name (names have no spaces)."""
    return bool(re.search(r"\s", text.strip()))


def _key(name: str) -> str:
    return name.strip().removesuffix(".sql")
