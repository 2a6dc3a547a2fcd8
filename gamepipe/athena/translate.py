"""Athena (Trino dialect) SQL -> DuckDB SQL with sqlglot, failing loudly where it can't.

sqlglot alone turns ``7 / 2`` into float division (3.5; Athena gives 3). Running the tree
through ``qualify`` + ``annotate_types`` with the Glue column types first lets the DuckDB
generator see that both operands are integers and emit a truncating division. Anything
the translation cannot carry faithfully raises :class:`UnsupportedSqlError` naming the
construct, so no query is ever silently wrong.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

# Glue catalog name as Athena writes it in fully qualified names.
ATHENA_CATALOG = "awsdatacatalog"

# Functions whose Athena meaning needs a Java (Joda) date pattern; sqlglot passes the
# pattern through unchanged (or maps it to strptime with the wrong pattern language).
JAVA_PATTERN_FUNCTIONS = frozenset({"format_datetime", "parse_datetime"})

# Glue/Hive type names -> sqlglot schema types (Athena's DDL spelling).
_GLUE_TO_SQLGLOT = {"string": "varchar", "int": "integer"}


class UnsupportedSqlError(ValueError):
    """The statement cannot run locally the way Athena would; the message says why.

    ``code`` is the Athena error name it corresponds to (NOT_SUPPORTED here: a construct the
    translation cannot carry; subclasses: bad SQL, unknown table, column or function) and
    ``offset`` the 0-based character offset in the SQL text where the problem starts, when
    known; :func:`line_col` turns it into Athena's ``line L:C``.
    """

    code = "NOT_SUPPORTED"

    def __init__(self, message: str, *, offset: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        if code:
            self.code = code


class SqlSyntaxError(UnsupportedSqlError):
    """The text does not parse as Athena SQL."""

    code = "SYNTAX_ERROR"


class TableNotFoundError(UnsupportedSqlError):
    """A table the query names is not in the catalog."""

    code = "TABLE_NOT_FOUND"


class ColumnNotFoundError(UnsupportedSqlError):
    """A column the query names is in none of its tables."""

    code = "COLUMN_NOT_FOUND"


class FunctionNotFoundError(UnsupportedSqlError):
    """A function neither Athena's dialect (as sqlglot knows it) nor DuckDB has."""

    code = "FUNCTION_NOT_FOUND"


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a 0-based character offset in ``text``."""
    before = text[: max(0, offset)]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


TableSchemas = Mapping[str, Mapping[str, str]]  # table -> column -> Glue type


def translate(
    sql: str,
    tables: TableSchemas,
    *,
    database: str,
    known_functions: Collection[str] = (),
    views: Mapping[str, str] | None = None,
) -> str:
    """Translate one Athena statement to DuckDB SQL over ``"<database>"."<table>"`` views.

    ``views`` (name -> Athena SQL, as the Glue catalog stores them) are inlined where the
    statement reads them, so only the columns the statement uses are read: DuckDB 1.4 does
    not prune unused columns through a view's UNION ALL, sqlglot's pushdown does.
    """
    _check_tokens(sql)
    tree = _parse_one(sql)
    _require_known_tables(tree, [*tables, *(views or {})], database)
    _strip_catalog(tree, database)
    inlined = inline_views(tree, views or {}, database)
    _reject_hidden_columns(tree)
    _name_like_athena(tree)
    # A query that names no table (SELECT 1) may come with no tables at all; sqlglot
    # refuses a database entry without tables.
    mapping = {t: _sqlglot_types(cols) for t, cols in tables.items()}
    schema = MappingSchema({database: mapping} if mapping else {}, dialect="athena")
    try:
        tree = qualify(tree, schema=schema, dialect="athena", db=database, quote_identifiers=True)
        if inlined:
            tree = pushdown_projections(tree)
        tree = annotate_types(tree, schema=schema)
    except OptimizeError as exc:
        raise _resolution_error(exc, tree) from exc
    if known_functions:
        _reject_unknown_functions(tree, known_functions)
    _sum_integers_as_bigint(tree)
    _exact_distinct_counts(tree)
    _count_if_never_null(tree)
    try:
        return tree.sql("duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise UnsupportedSqlError(f"DuckDB has no equivalent for: {exc}") from exc


def _parse_one(sql: str) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    except ParseError as exc:
        raise syntax_error(exc, sql) from exc
    if len(statements) != 1:
        raise UnsupportedSqlError(f"expected exactly one statement, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise UnsupportedSqlError(f"only queries can run locally, not {tree.key.upper()}")
    return tree


def _check_tokens(sql: str) -> None:
    tokens = sqlglot.tokenize(sql, read="athena")
    for tok, nxt in itertools.pairwise(tokens):
        if tok.token_type.name == "SELECT" and nxt.token_type.name == "FROM":
            # sqlglot accepts an empty select list; Athena does not.
            raise SqlSyntaxError(
                f"mismatched input '{nxt.text}'. Expecting: '*', <expression>", offset=nxt.start
            )
        if tok.text.lower() in JAVA_PATTERN_FUNCTIONS and nxt.token_type.name == "L_PAREN":
            raise UnsupportedSqlError(
                f"{tok.text.lower()}() takes a Java date pattern the local engine cannot "
                "translate; use date_format()/date_parse() with MySQL-style % patterns",
                offset=tok.start,
            )
        if tok.text.lower() == "format" and nxt.token_type.name == "L_PAREN":
            # DuckDB's format() takes {} placeholders and would return Trino's %s text as is.
            raise UnsupportedSqlError(
                "format() takes a Java format string the local engine cannot translate;"
                " use concat() or ||",
                offset=tok.start,
            )


def _strip_catalog(tree: exp.Expr, database: str) -> None:
    # "awsdatacatalog"."db"."t": DuckDB has no such catalog; the db maps to our schema.
    for table in tree.find_all(exp.Table):
        catalog = table.catalog
        if catalog and catalog.lower() == ATHENA_CATALOG:
            table.set("catalog", None)
        elif catalog:
            raise UnsupportedSqlError(
                f"unknown catalog {catalog!r} (only {ATHENA_CATALOG})", offset=_start(table)
            )
        if table.db and table.db.lower() != database.lower():
            raise UnsupportedSqlError(
                f"database {table.db!r} is not the configured Glue database {database!r}"
                " (the local engine reads one database per query)",
                offset=_start(table),
            )


def _require_known_tables(tree: exp.Expr, tables: Collection[str], database: str) -> None:
    # Checked before qualify, which would report the first column of an unknown table
    # instead. CTE names are tables too.
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    known = {name.lower() for name in tables}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if not name or name in ctes or name in known or not isinstance(table.this, exp.Identifier):
            continue
        raise TableNotFoundError(
            f"Table '{ATHENA_CATALOG}.{database}.{name}' does not exist", offset=_start(table)
        )


def _start(node: exp.Expr) -> int | None:
    """Offset where ``node``'s text starts (its first identifier's, for qualified names)."""
    parts = [node.args.get(k) for k in ("catalog", "db", "table", "this")]
    for part in [p for p in parts if isinstance(p, exp.Expr)] + [node]:
        start = part.meta.get("start")
        if start is not None:
            return int(start)
    return None


def syntax_error(exc: ParseError, sql: str) -> SqlSyntaxError:
    """A parse error as SYNTAX_ERROR with the offset of the token sqlglot stopped at."""
    first = exc.errors[0] if exc.errors else {}
    line, col = first.get("line"), first.get("col")
    highlight = str(first.get("highlight") or "")
    description = str(first.get("description") or exc).split(". Line ")[0]
    missing = _MISSING_PART.match(description)
    if missing:  # sqlglot names its own classes; say which clause is incomplete
        description = f"incomplete {missing.group('clause').upper()} clause"
    offset = None
    if isinstance(line, int) and isinstance(col, int):
        # sqlglot's col is the 1-based column of the highlighted token's LAST character.
        lines = sql.split("\n")
        end = sum(len(text) + 1 for text in lines[: line - 1]) + col - 1
        offset = max(0, end - len(highlight) + 1)
    at = f" at {highlight!r}" if highlight else ""
    return SqlSyntaxError(f"{description}{at}", offset=offset)


_MISSING_PART = re.compile(r"Required keyword: '\w+' missing for <class '[\w.]*\.(?P<clause>\w+)'>")
_UNRESOLVED_COLUMN = re.compile(
    r"Column '(?P<name>[^']+)' could not be resolved|Unknown column: (?P<bare>\S+)"
)


def _resolution_error(exc: OptimizeError, tree: exp.Expr) -> UnsupportedSqlError:
    found = _UNRESOLVED_COLUMN.search(str(exc))
    if found is None:
        return UnsupportedSqlError(f"cannot resolve the query against the catalog: {exc}")
    name = found.group("name") or found.group("bare")
    column = next(
        (c for c in tree.find_all(exp.Column) if c.name.lower() == name.lower()),
        None,
    )
    return ColumnNotFoundError(
        f"Column '{name}' cannot be resolved",
        offset=_start(column) if column is not None else None,
    )


def inline_views(
    tree: exp.Expr, views: Mapping[str, str], database: str, within: tuple[str, ...] = ()
) -> bool:
    """Replace each read of a view with the view's SQL as a subquery (views within views
    too); True if any was replaced. A view that reads itself is an error."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    inlined = False
    for table in list(tree.find_all(exp.Table)):
        name = table.name.lower()
        if name not in views or name in ctes:
            continue
        if name in within:
            raise UnsupportedSqlError(f"view {name} reads itself: {' -> '.join(within)}")
        body = _parse_one(views[name])
        _strip_catalog(body, database)
        inline_views(body, views, database, (*within, name))
        alias = exp.TableAlias(this=exp.to_identifier(table.alias_or_name))
        table.replace(exp.Subquery(this=body, alias=alias))
        inlined = True
    return inlined


def _reject_hidden_columns(tree: exp.Expr) -> None:
    for column in tree.find_all(exp.Column):
        if column.name.startswith("$"):
            raise UnsupportedSqlError(
                f'hidden column "{column.name}" is not available locally', offset=_start(column)
            )


def _name_like_athena(tree: exp.Expr) -> None:
    # Athena names an unaliased computed output column _col<N> (0-based); qualify would
    # name it _col_<N> or after the column inside a CAST.
    if not isinstance(tree, exp.Select):
        return
    for i, projection in enumerate(tree.expressions):
        if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
            projection.replace(exp.alias_(projection.copy(), f"_col{i}", quoted=True))


def _reject_unknown_functions(tree: exp.Expr, known: Collection[str]) -> None:
    for func in tree.find_all(exp.Anonymous):
        name = str(func.this).lower()
        if name not in known:
            raise FunctionNotFoundError(
                f"Function '{name}' not registered (unknown to Athena's dialect as sqlglot"
                " reads it, and DuckDB has no function of that name)",
                offset=_start(func),
            )


def _sum_integers_as_bigint(tree: exp.Expr) -> None:
    # Athena's sum() of integers is bigint; DuckDB's is HUGEINT (a Python Decimal).
    for node in list(tree.find_all(exp.Sum)):
        arg_type = node.this.type
        if arg_type is None or not arg_type.is_type(*exp.DataType.INTEGER_TYPES):
            continue
        target = node.parent if isinstance(node.parent, exp.Window) else node
        target.replace(exp.cast(target.copy(), exp.DataType.Type.BIGINT))


def _exact_distinct_counts(tree: exp.Expr) -> None:
    # DuckDB's HyperLogLog was ~9% off on 20k values; Athena's approx_distinct has a 2.3%
    # standard error. An exact count is always within Athena's error and cheap at our sizes.
    for node in list(tree.find_all(exp.ApproxDistinct)):
        node.replace(exp.Count(this=exp.Distinct(expressions=[node.this.copy()])))


def _count_if_never_null(tree: exp.Expr) -> None:
    # Trino's count_if over no row (or only NULL/false) is 0; DuckDB's is NULL.
    for node in list(tree.find_all(exp.CountIf)):
        target = node.parent if isinstance(node.parent, exp.Window) else node
        target.replace(exp.func("coalesce", target.copy(), exp.Literal.number(0)))


def _sqlglot_types(columns: Mapping[str, str]) -> dict[str, str]:
    return {c: _GLUE_TO_SQLGLOT.get(t.lower(), t.lower()) for c, t in columns.items()}
