"""What an Athena statement is, before anything runs: its kind, its query, its parameters.

The emulator runs three kinds: a query (SELECT / WITH / VALUES ...), ``CREATE TABLE ... AS
<query>`` (CTAS, what awswrangler wraps every read in by default) and ``DROP TABLE``.
Everything else is refused by name. Positions in errors are kept in the coordinates of the
text the client sent: parameters are substituted with a map back, and the query inside a
CTAS is cut out of the statement with its offset.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from gamepipe.athena.translate import SqlSyntaxError, UnsupportedSqlError, syntax_error

OffsetMap = Callable[[int], int]
# Words an Athena statement can start with; anything else is a syntax error.
_STATEMENT_WORDS = frozenset(
    {
        "SELECT",
        "WITH",
        "VALUES",
        "TABLE",
        "CREATE",
        "DROP",
        "ALTER",
        "SHOW",
        "DESCRIBE",
        "DESC",
        "MSCK",
        "INSERT",
        "DELETE",
        "UPDATE",
        "MERGE",
        "EXPLAIN",
        "PREPARE",
        "EXECUTE",
        "DEALLOCATE",
        "UNLOAD",
        "OPTIMIZE",
        "VACUUM",
        "USE",
        "GRANT",
        "REVOKE",
    }
)


class ParameterError(UnsupportedSqlError):
    """ExecutionParameters do not match the statement's ``?`` placeholders."""

    code = "INVALID_PARAMETER_USAGE"


def substitute_parameters(sql: str, literals: Sequence[str] | None) -> tuple[str, OffsetMap]:
    """``sql`` with each ``?`` replaced by the next literal (Athena's ExecutionParameters
    are SQL literal text, bound in order), and a map from offsets in the result back to
    offsets in ``sql``."""
    literals = list(literals or [])
    marks = [t for t in _tokens(sql) if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    if len(marks) != len(literals):
        raise ParameterError(
            f"Incorrect number of parameters: expected {len(marks)} but found {len(literals)}",
            offset=marks[len(literals)].start if len(marks) > len(literals) else None,
        )
    for literal in literals:
        _check_literal(literal)
    pieces: list[str] = []
    starts: list[int] = []  # offset in the result where each substituted literal starts
    shifts: list[int] = []  # what to subtract from a result offset after that literal
    cursor, shift = 0, 0
    for mark, literal in zip(marks, literals, strict=True):
        pieces.append(sql[cursor : mark.start])
        starts.append(mark.start + shift)
        pieces.append(literal)
        shift += len(literal) - 1
        shifts.append(shift)
        cursor = mark.end + 1
    pieces.append(sql[cursor:])
    text = "".join(pieces)

    def back(offset: int) -> int:
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            return offset
        literal_end = starts[i] + len(literals[i])
        # Inside a literal: point at its placeholder.
        return (
            starts[i] - (shifts[i - 1] if i else 0) if offset < literal_end else offset - shifts[i]
        )

    return text, back


def _check_literal(literal: str) -> None:
    try:
        node = sqlglot.parse_one(literal, read="athena")
    except (ParseError, TokenError) as exc:
        raise ParameterError(f"execution parameter {literal!r} is not a SQL literal") from exc
    allowed = (exp.Literal, exp.Boolean, exp.Null, exp.Cast, exp.Neg, exp.Array, exp.Paren)
    if not isinstance(node, allowed) or any(
        isinstance(n, exp.Column | exp.Query) for n in node.walk()
    ):
        raise ParameterError(f"execution parameter {literal!r} is not a SQL literal")


@dataclass(frozen=True)
class Statement:
    """One statement classified. ``query``/``query_offset``: the query text to run (a
    SELECT, or the AS part of a CTAS) and where it starts in the statement."""

    kind: str  # "query" | "ctas" | "drop_table"
    text: str
    query: str = ""
    query_offset: int = 0
    database: str | None = None  # CTAS / DROP: the table's database, if qualified
    table: str | None = None
    if_exists: bool = False
    with_data: bool = True
    properties: dict[str, object] = field(default_factory=dict)
    tree: exp.Expr | None = None


def parse_statement(text: str) -> Statement:
    """Classify ``text`` (one statement, parameters already substituted)."""
    tokens = _tokens(text)
    words = [t.text.upper() for t in tokens if t.token_type != TokenType.HIVE_TOKEN_STREAM]
    if not words:
        raise SqlSyntaxError("empty statement", offset=0)
    if words[:2] == ["CREATE", "TABLE"]:
        return _ctas(text, tokens)
    if words[:2] == ["DROP", "TABLE"]:
        return _drop_table(text)
    if words[0] in ("SELECT", "WITH", "VALUES", "(", "TABLE"):
        return Statement(kind="query", text=text, query=text, query_offset=0)
    first = next(t for t in tokens if t.token_type != TokenType.HIVE_TOKEN_STREAM)
    if words[0] not in _STATEMENT_WORDS:
        raise SqlSyntaxError(f"mismatched input '{first.text}'", offset=first.start)
    what = " ".join(words[:2]) if words[0] in ("CREATE", "DROP", "ALTER", "SHOW") else words[0]
    raise UnsupportedSqlError(
        f"the local Athena emulator does not run {what} statements"
        " (it runs SELECT, CREATE TABLE AS SELECT and DROP TABLE)",
        offset=first.start,
    )


def _ctas(text: str, tokens: list[Token]) -> Statement:
    try:
        tree = sqlglot.parse_one(text, read="athena")
    except ParseError as exc:
        raise syntax_error(exc, text) from exc
    query = tree.args.get("expression") if isinstance(tree, exp.Create) else None
    if not isinstance(query, exp.Query):
        raise UnsupportedSqlError(
            "only CREATE TABLE ... AS <query> runs here (a plain CREATE TABLE does not)",
            offset=0,
        )
    table = tree.this if isinstance(tree.this, exp.Table) else tree.find(exp.Table)
    if table is None:
        raise SqlSyntaxError("CREATE TABLE without a table name", offset=0)
    properties: dict[str, object] = {}
    with_data = True
    for prop in (tree.args.get("properties") or exp.Properties()).expressions:
        if isinstance(prop, exp.WithDataProperty):
            with_data = not prop.args.get("no")
        elif isinstance(prop, exp.FileFormatProperty):
            properties["format"] = _value(prop.this)
        elif isinstance(prop, exp.PartitionedByProperty):
            properties["partitioned_by"] = _value(prop.this)
        elif isinstance(prop, exp.Property):
            properties[str(prop.name).lower()] = _value(prop.args.get("value"))
        else:
            properties[prop.key] = _value(prop)
    start, end = _query_span(text, tokens)
    return Statement(
        kind="ctas",
        text=text,
        query=text[start:end],
        query_offset=start,
        database=table.db or None,
        table=table.name,
        with_data=with_data,
        properties=properties,
        tree=tree,
    )


def _drop_table(text: str) -> Statement:
    try:
        tree = sqlglot.parse_one(text, read="athena")
    except ParseError as exc:
        raise syntax_error(exc, text) from exc
    tables = tree.args.get("tables") if isinstance(tree, exp.Drop) else None
    if not tables or len(tables) != 1 or not isinstance(tables[0], exp.Table):
        raise SqlSyntaxError("DROP TABLE takes one table name", offset=0)
    table = tables[0]
    return Statement(
        kind="drop_table",
        text=text,
        database=table.db or None,
        table=table.name,
        if_exists=bool(tree.args.get("exists")),
        tree=tree,
    )


def _value(node: object) -> object:
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else node.to_py()
    if isinstance(node, exp.Array):
        return [_value(e) for e in node.expressions]
    if isinstance(node, exp.Expr):
        return node.sql("athena")
    return node


def _query_span(text: str, tokens: list[Token]) -> tuple[int, int]:
    """Where the AS query of a CTAS starts and ends (without a trailing WITH [NO] DATA)."""
    depth = 0
    start = None
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and tok.token_type == TokenType.ALIAS and i + 1 < len(tokens):
            start = tokens[i + 1].start
            rest = tokens[i + 1 :]
            break
    if start is None:
        raise SqlSyntaxError("CREATE TABLE needs AS <query>", offset=0)
    end = len(text)
    tail = [t.text.upper() for t in rest[-3:]]
    if tail[-2:] == ["NO", "DATA"] and len(rest) >= 3 and tail[-3] == "WITH":
        end = rest[-3].start
    elif tail[-2:] == ["WITH", "DATA"]:
        end = rest[-2].start
    return start, end


def _tokens(sql: str) -> list[Token]:
    try:
        return list(sqlglot.tokenize(sql, read="athena"))
    except TokenError as exc:
        raise SqlSyntaxError(f"cannot read the statement: {exc}") from exc


def referenced_tables(tree: exp.Expr) -> list[exp.Table]:
    """The catalog tables a query reads (CTE names excluded)."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return [t for t in tree.find_all(exp.Table) if t.name and t.name.lower() not in ctes]
