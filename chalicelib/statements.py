"""Every named statement in one place: the questions, the reports, the KPIs and the views
they share.

One record per name in ``athena_sql/statements.toml`` (next to the SQL, shipped with it):
its SQL file, title, the shape of its answer, and which lake columns it reads. The CLI,
the demo, the reports, the cost model and the benchmarks read the typed records here; the
oracle keeps one function per question and report under the same name
(``gamepipe.oracle.ORACLES``), and per KPI (``gamepipe.oracle_kpi.ORACLES``). Adding a
question or a KPI is one SQL file, one record and one oracle function; tests fail until
all three exist.

A statement's SQL may hold ``${name}`` placeholders: a fragment (``athena_sql/fragments/
<name>.sql``, SQL several statements share that a view cannot hold, as it reads their
parameters) or one of its record's ``template`` values. Both are filled in when the SQL is
read, so what runs is one complete statement.

``scans`` and view ``columns`` are derived from the SQL with sqlglot by
``gamepipe.sql_lineage`` (local tooling: sqlglot does not ship to Lambda, which needs the
view columns to create the Glue views). ``tests/unit/test_statements.py`` keeps the stored
values equal to the derived ones and prints the derived value when they differ.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

SQL_ROOT = Path(__file__).resolve().parent / "athena_sql"
FRAGMENTS = SQL_ROOT / "fragments"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# A report's :as_of bound to this reads every day: dt values are 'YYYY-MM-DD' strings.
ALL_DAYS = "9999-12-31"

# Which rows of a table a scan reads (merge-on-read, athena_sql/README.md).
ALL = "all"  # every row of the partitions the statement reads
COMPACTED = "compacted"  # rows of days holding only compacted rows
LIVE = "live"  # rows of days with live rows (not compacted yet)


@dataclass(frozen=True)
class Scan:
    """One read of a lake table: the columns it reads (no partition key) and whose rows."""

    table: str
    columns: tuple[str, ...]
    days: str = ALL


@dataclass(frozen=True)
class Statement:
    """A named statement: its SQL file, title and the lake columns it reads."""

    name: str
    sql_file: str  # relative to SQL_ROOT
    title: str
    scans: tuple[Scan, ...] = ()
    # Named parameters this statement fixes: written into its SQL as literals.
    bind: Mapping[str, str] = field(default_factory=dict)
    # Values of the ${name} placeholders that name no fragment (in its file or fragments).
    template: Mapping[str, str] = field(default_factory=dict)

    kind: ClassVar[str] = "statement"

    @property
    def path(self) -> Path:
        """The SQL file."""
        return SQL_ROOT / self.sql_file

    def sql(self) -> str:
        """The statement's SQL: template filled in, fixed parameters bound, no ';'."""
        text = fill(self.path.read_text(encoding="utf-8"), self.template)
        for param, value in self.bind.items():
            literal = "'" + value.replace("'", "''") + "'"
            text = re.sub(rf":{param}\b", literal, text)
        return text.strip().rstrip(";").rstrip()


@dataclass(frozen=True)
class Question(Statement):
    """One of the seed's questions; ``answer`` is the shape of its answer in answers JSON."""

    answer: str = "rows"  # "rows": [[a, b], ...]; "mapping": {a: b}; "value": the one cell
    headers: tuple[str, ...] = ()  # display headers of the answer's two columns
    keys: tuple[str, ...] = ()  # mapping answers: keys answered 0 when no row has them

    kind: ClassVar[str] = "question"


@dataclass(frozen=True)
class Report(Statement):
    """A report section, as of a date bound to ``:as_of``."""

    description: str = ""

    kind: ClassVar[str] = "report"


@dataclass(frozen=True)
class Kpi(Statement):
    """A KPI over the days bound to ``:start`` and ``:end`` ('YYYY-MM-DD', inclusive), read
    as of ``:end``; named ``kpi/<key>`` after its file."""

    # The longest range it answers: its per-player bit masks cover 126 days, the rolling
    # windows also read the 27 days before :start (athena_sql/README.md "KPIs").
    max_days: int = 126

    kind: ClassVar[str] = "kpi"

    @property
    def key(self) -> str:
        """The short name (``daily`` for ``kpi/daily``): result keys, ``kpi_<key>.csv``."""
        return self.name.removeprefix("kpi/")


@dataclass(frozen=True)
class View(Statement):
    """A view the other statements read, created in Glue (Athena) and by the local engine."""

    columns: tuple[tuple[str, str], ...] = ()  # (name, Glue type) of each output column

    kind: ClassVar[str] = "view"


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``${name}`` replaced by ``fragments/<name>.sql`` (filled in too,
    without its header comment, indented as the placeholder) or else by ``values[name]``;
    KeyError if neither."""

    def one(match: re.Match[str]) -> str:
        fragment = FRAGMENTS / f"{match[1]}.sql"
        if not fragment.is_file():
            return values[match[1]]
        lines = fill(fragment.read_text(encoding="utf-8"), values).strip().splitlines()
        # Its header comment stays in its file: the statement's own header names it.
        while lines and lines[0].startswith("--"):
            del lines[0]
        before = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
        indent = "" if before.strip() else before
        return "\n".join(lines[:1] + [indent + line if line else "" for line in lines[1:]])

    return _PLACEHOLDER.sub(one, text)


def _build[S: Statement](cls: type[S], record: dict[str, Any]) -> S:
    """A typed record from a TOML table: lists become tuples; unknown keys are an error."""
    fields = {f.name for f in dataclasses.fields(cls)}
    if unknown := set(record) - fields:
        raise ValueError(f"{record.get('name')}: unknown keys {sorted(unknown)} for a {cls.kind}")
    values = {key: _frozen(value) for key, value in record.items()}
    values["scans"] = tuple(
        Scan(scan["table"], tuple(scan["columns"]), scan.get("days", ALL))
        for scan in record.get("scans", ())
    )
    return cls(**values)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


_DOC = tomllib.loads((SQL_ROOT / "statements.toml").read_text(encoding="utf-8"))
VIEWS: tuple[View, ...] = tuple(_build(View, r) for r in _DOC["view"])
QUESTIONS: tuple[Question, ...] = tuple(_build(Question, r) for r in _DOC["question"])
REPORTS: tuple[Report, ...] = tuple(_build(Report, r) for r in _DOC["report"])
KPIS: tuple[Kpi, ...] = tuple(_build(Kpi, r) for r in _DOC["kpi"])
STATEMENTS: dict[str, Statement] = {s.name: s for s in (*VIEWS, *QUESTIONS, *REPORTS, *KPIS)}
QUESTION_NAMES: tuple[str, ...] = tuple(q.name for q in QUESTIONS)
REPORT_NAMES: tuple[str, ...] = tuple(r.name for r in REPORTS)


@functools.lru_cache(maxsize=1)
def view_sql() -> dict[str, str]:
    """Each view's name and SQL, as the local engine inlines them without a catalog."""
    return {v.name: v.sql() for v in VIEWS}
