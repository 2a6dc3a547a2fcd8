"""Every named statement in one place: the questions, the reports and the views they share.

One record per name: its SQL file (under ``chalicelib/athena_sql``), title, what it
answers with, and which lake columns it reads. The CLI, the demo, the reports, the cost
model and the benchmarks read this; the oracle keeps one function per question and report
under the same name (``gamepipe.oracle.ORACLES``). Adding a question is one SQL file, one
entry here and one oracle function; tests fail until all three exist.

``scans`` and view ``columns`` are derived from the SQL with sqlglot by
``gamepipe.sql_lineage`` (local tooling: sqlglot does not ship to Lambda, which needs the
view columns to create the Glue views). ``tests/unit/test_statements.py`` keeps the stored
values equal to the derived ones and prints the derived value when they differ.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import ClassVar

SQL_ROOT = Path(__file__).resolve().parent / "athena_sql"
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
    # ${name} placeholders of a template file and their values.
    template: Mapping[str, str] = field(default_factory=dict)

    kind: ClassVar[str] = "statement"

    @property
    def path(self) -> Path:
        """The SQL file."""
        return SQL_ROOT / self.sql_file

    def sql(self) -> str:
        """The statement's SQL: template filled in, fixed parameters bound, no ';'."""
        text = self.path.read_text(encoding="utf-8")
        if self.template:
            text = Template(text).substitute(self.template)
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
class View(Statement):
    """A view the other statements read, created in Glue (Athena) and by the local engine."""

    columns: tuple[tuple[str, str], ...] = ()  # (name, Glue type) of each output column

    kind: ClassVar[str] = "view"


def _scan(table: str, columns: str, days: str = ALL) -> Scan:
    return Scan(table, tuple(sorted(columns.split())), days)


def _deduped(table: str, columns: str, live_extra: str) -> tuple[Scan, ...]:
    """A merge-on-read read of ``table``: live days, compacted days as is, live days deduped."""
    return (
        _scan(table, "compacted"),
        _scan(table, f"compacted {columns}", COMPACTED),
        _scan(table, f"{columns} {live_extra}", LIVE),
    )


_GUILD_SCANS = (
    _scan("guild_events", "event_ts guild_name userid"),
    _scan("guild_events", "event_id event_ts guild_name userid"),
)

VIEWS: tuple[View, ...] = (
    View(
        "unique_purchases",
        "views/unique_purchases.sql",
        "Purchases, each event_id once per day (merge-on-read)",
        columns=(
            ("userid", "string"),
            ("item_type", "string"),
            ("amount_purchased", "bigint"),
            ("price", "bigint"),
            ("dt", "string"),
        ),
    ),
    *(
        View(
            name,
            "views/player_event_totals.sql",
            f"Events per player and type in {table}, each event_id once (merge-on-read)",
            template={"table": table},
            columns=(
                ("event_type", "string"),
                ("userid", "string"),
                ("events", "bigint"),
                ("most", "bigint"),
            ),
        )
        for name, table in (
            ("character_event_totals", "character_events"),
            ("character_stat_totals", "character_stats"),
        )
    ),
)

QUESTIONS: tuple[Question, ...] = (
    Question(
        "q1",
        "questions/q1_items_purchased.sql",
        "How many swords, shields and potions were purchased?",
        _deduped("purchase_events", "amount_purchased item_type", "event_id received_at"),
        answer="mapping",
        headers=("item", "purchased"),
        keys=("potion", "shield", "sword"),
    ),
    Question(
        "q2",
        # The Guild Membership report over every day: one statement, not two copies.
        "reports/guild_membership.sql",
        "How many members are in each guild?",
        _GUILD_SCANS,
        bind={"as_of": ALL_DAYS},
        answer="mapping",
        headers=("guild", "members"),
    ),
    Question(
        "q3",
        "questions/q3_top_levels.sql",
        "What are the levels of the top 10 players?",
        (_scan("character_stats", "level userid"),),
        headers=("userid", "level"),
    ),
    Question(
        "q4",
        "questions/q4_enemies_defeated.sql",
        "How many enemies did each player defeat? (top 10)",
        _deduped("character_events", "event_type userid", "event_id"),
        headers=("userid", "defeats"),
    ),
    Question(
        "q5",
        "questions/q5_most_potions.sql",
        "Which player used the most potions?",
        _deduped("character_stats", "event_type userid", "event_id"),
        headers=("userid", "potions"),
    ),
    Question(
        "q6",
        "questions/q6_most_treasures.sql",
        "Which player found the most treasures?",
        _deduped("character_events", "event_type userid", "event_id"),
        headers=("userid", "treasures"),
    ),
    Question(
        "q7",
        "questions/q7_players_attacked.sql",
        "How many players were attacked by an enemy?",
        (_scan("character_events", "event_type userid"),),
        answer="value",
    ),
)

REPORTS: tuple[Report, ...] = (
    Report(
        "player_standings",
        "reports/player_standings.sql",
        "Player Standings",
        (
            _scan("character_stats", "event_ts userid"),
            _scan("character_stats", "attack defense event_id event_ts health level userid"),
        ),
        description="Which players lead the game in level, attack, defense and health.",
    ),
    Report(
        "player_purchases",
        "reports/player_purchases.sql",
        "Player Purchases",
        _deduped(
            "purchase_events", "amount_purchased item_type price userid", "event_id received_at"
        ),
        description="What each player bought (swords, shields, potions) and the gold they spent.",
    ),
    Report(
        "guild_membership",
        "reports/guild_membership.sql",
        "Guild Membership",
        _GUILD_SCANS,
        description="How many players belong to each guild.",
    ),
)

STATEMENTS: dict[str, Statement] = {s.name: s for s in (*VIEWS, *QUESTIONS, *REPORTS)}
QUESTION_NAMES: tuple[str, ...] = tuple(q.name for q in QUESTIONS)
REPORT_NAMES: tuple[str, ...] = tuple(r.name for r in REPORTS)


@functools.lru_cache(maxsize=1)
def view_sql() -> dict[str, str]:
    """Each view's name and SQL, as the local engine inlines them without a catalog."""
    return {v.name: v.sql() for v in VIEWS}
