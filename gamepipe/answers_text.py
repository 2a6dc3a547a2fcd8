"""The answers as text: each question's title and a small table (titles and headers from
``chalicelib.statements``)."""

from __future__ import annotations

from typing import Any

from chalicelib.statements import QUESTIONS


def format_table(headers: tuple[str, ...], rows: list[list[Any]]) -> str:
    """A plain two-column text table."""
    body = [(str(a), str(b)) for a, b in rows] or [("(none)", "")]
    w0 = max(len(headers[0]), *(len(r[0]) for r in body))
    w1 = max(len(headers[1]), *(len(r[1]) for r in body))
    lines = [f"  {headers[0]:<{w0}}  {headers[1]:>{w1}}", f"  {'-' * w0}  {'-' * w1}"]
    lines += [f"  {a:<{w0}}  {b:>{w1}}" for a, b in body]
    return "\n".join(lines)


def format_answers(answers: dict[str, Any]) -> str:
    """Every question's answer under its title: a table, or the value itself."""
    out = []
    for q in QUESTIONS:
        out.append(f"{q.name.upper()}. {q.title}")
        value = answers.get(q.name)
        if q.answer == "value":
            out.append(f"  {value}")
        elif isinstance(value, dict):
            out.append(format_table(q.headers, [[k, v] for k, v in value.items()]))
        else:
            out.append(format_table(q.headers, list(value or [])))
        out.append("")
    return "\n".join(out)
