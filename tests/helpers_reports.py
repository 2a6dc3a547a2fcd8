"""Test helpers of the reports area: sample report tables and a small HTML table reader."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa

EVENTS_DIR = Path(__file__).parent / "events"


def load_event(relpath: str) -> dict[str, Any]:
    """A JSON event fixture from tests/events/."""
    return json.loads((EVENTS_DIR / relpath).read_text())  # type: ignore[no-any-return]


def sample_tables(n_players: int = 30) -> dict[str, pa.Table]:
    """Deterministic report tables shaped like the SQL's output (rows in the SQL's order)."""
    users = [f"user-{i:04d}" for i in range(n_players)]
    levels = [1 + (i * 7) % 12 for i in range(n_players)]
    standings = sorted(zip(users, levels, strict=True), key=lambda r: (-r[1], r[0]))
    purchases = [
        {"userid": u, "swords": i % 4, "shields": (i * 3) % 5, "potions": (i * 11) % 40,
         "gold_spent": 100 * (i % 4) + 80 * ((i * 3) % 5) + 5 * ((i * 11) % 40)}
        for i, u in enumerate(users)
    ]  # fmt: skip
    purchases.sort(key=lambda r: (-r["gold_spent"], r["userid"]))
    return {
        "player_standings": pa.table(
            {
                "userid": [u for u, _ in standings],
                "level": pa.array([lv for _, lv in standings], pa.int64()),
                "attack": pa.array([200 * lv for _, lv in standings], pa.int64()),
                "defense": pa.array([175 * lv for _, lv in standings], pa.int64()),
                "health": pa.array([100 + 10 * lv for _, lv in standings], pa.int64()),
            }
        ),
        "player_purchases": pa.Table.from_pylist(
            purchases,
            schema=pa.schema(
                [("userid", pa.string())]
                + [(c, pa.int64()) for c in ("swords", "shields", "potions", "gold_spent")]
            ),
        ),
        "guild_membership": pa.table(
            {
                "guild_name": ["Knights of the Round Table", "Game of Thrones", "Castle of Rock"],
                "members": pa.array([50, 49, 42], pa.int64()),
            }
        ),
    }


def empty_tables() -> dict[str, pa.Table]:
    """The same tables with no rows (a lake with no events yet)."""
    return {name: t.slice(0, 0) for name, t in sample_tables().items()}


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.sections: dict[str, list[list[dict[str, Any]]]] = {}
        self.row: list[dict[str, Any]] | None = None
        self.cell: dict[str, Any] | None = None
        self.row_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
            self.sections[self.section or ""] = []
        elif tag == "tr":
            self.row, self.row_class = [], a.get("class") or ""
        elif tag in ("td", "th") and self.row is not None:
            classes = (a.get("class") or "").split()
            self.cell = {"tag": tag, "classes": classes, "text": "", "row": self.row_class}

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None and self.section is not None:
            self.sections[self.section].append(self.row)
            self.row = None


def html_tables(html: str) -> dict[str, list[list[dict[str, Any]]]]:
    """Section id -> rows of cells ``{"tag", "classes", "text", "row"}`` (row = tr class)."""
    reader = _TableReader()
    reader.feed(html)
    return reader.sections
