"""Named SQL statements under chalicelib/athena_sql: resolve a name like "q3" to its text."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from string import Template

from chalicelib.settings import Settings

SQL_ROOT = Path(__file__).resolve().parent.parent / "athena_sql"
# Folders whose files can be run by name; seed/ is reached as "seed/q3" so that the
# seed's wrong answers never shadow ours.
NAMED_FOLDERS = ("questions", "reports")
QUESTION_NAMES = tuple(f"q{i}" for i in range(1, 8))
REPORT_NAMES = ("player_standings", "player_purchases", "guild_membership")

_SHORT = re.compile(r"^(q\d+)_")


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, Path]:
    """Map every resolvable name (stem, short "qN" alias, "folder/stem") to its file."""
    names: dict[str, Path] = {}
    for folder in sorted(p for p in SQL_ROOT.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.sql")):
            short = _SHORT.match(path.stem)
            keys = [path.stem, short.group(1)] if short else [path.stem]
            for key in keys:
                names[f"{folder.name}/{key}"] = path
                if folder.name in NAMED_FOLDERS:
                    names[key] = path
    return names


def resolve(name: str) -> Path | None:
    """The file for a statement name ("q3", "q3_top_levels", "seed/q3"), or None."""
    return catalog().get(name.strip().removesuffix(".sql"))


def strip_terminator(sql: str) -> str:
    """Drop a trailing ';' (Athena's API takes one statement without it)."""
    return sql.strip().rstrip(";").rstrip()


def load_sql(name: str) -> str:
    """The SQL text of a named statement, without its trailing ';'; KeyError if unknown."""
    path = resolve(name)
    if path is None:
        raise KeyError(f"no SQL statement named {name!r}; known: {', '.join(sorted(catalog()))}")
    return strip_terminator(path.read_text(encoding="utf-8"))


def looks_like_sql(text: str) -> bool:
    """Whether ``text`` is SQL rather than a statement name (names have no spaces)."""
    return bool(re.search(r"\s", text.strip()))


def render_ddl(table: str, settings: Settings) -> str:
    """The CREATE EXTERNAL TABLE statement of ``table`` with its S3 location filled in."""
    text = load_sql(f"ddl/{table}")
    return Template(text).substitute(tables_root=settings.tables_root)
