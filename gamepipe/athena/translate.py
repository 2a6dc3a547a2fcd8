"""Athena (Trino dialect) SQL -> DuckDB SQL with sqlglot, failing loudly where it can't.

sqlglot alone turns ``7 / 2`` into float division (3.5; Athena gives 3). Running the tree
through ``qualify`` + ``annotate_types`` with the Glue column types first lets the DuckDB
generator see that both operands are integers and emit a truncating division. Anything
the translation cannot carry faithfully raises :class:`UnsupportedSqlError` naming the
construct, so no query is ever silently wrong.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
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
    """The SQL uses a construct the local engine cannot run the way Athena would."""


TableSchemas = Mapping[str, Mapping[str, str]]  # table -> column -> Glue type


def translate(
    sql: str,
    tables: TableSchemas,
    *,
    database: str,
    known_functions: Collection[str] = (),
) -> str:
    """Translate one Athena statement to DuckDB SQL over ``"<database>"."<table>"`` views."""
    _reject_java_pattern_functions(sql)
    tree = _parse_one(sql)
    _strip_catalog(tree, database)
    _reject_hidden_columns(tree)
    _name_like_athena(tree)
    schema = MappingSchema(
        {database: {t: _sqlglot_types(cols) for t, cols in tables.items()}},
        dialect="athena",
    )
    try:
        tree = qualify(tree, schema=schema, dialect="athena", db=database, quote_identifiers=True)
        tree = annotate_types(tree, schema=schema)
    except OptimizeError as exc:
        raise UnsupportedSqlError(f"cannot resolve the query against the catalog: {exc}") from exc
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
        raise UnsupportedSqlError(f"cannot parse as Athena SQL: {exc}") from exc
    if len(statements) != 1:
        raise UnsupportedSqlError(f"expected exactly one statement, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise UnsupportedSqlError(f"only queries can run locally, not {tree.key.upper()}")
    return tree


def _reject_java_pattern_functions(sql: str) -> None:
    tokens = sqlglot.tokenize(sql, read="athena")
    for tok, nxt in itertools.pairwise(tokens):
        if tok.text.lower() in JAVA_PATTERN_FUNCTIONS and nxt.token_type.name == "L_PAREN":
            raise UnsupportedSqlError(
                f"{tok.text.lower()}() takes a Java date pattern the local engine cannot "
                "translate; use date_format()/date_parse() with MySQL-style % patterns"
            )


def _strip_catalog(tree: exp.Expr, database: str) -> None:
    # "awsdatacatalog"."db"."t": DuckDB has no such catalog; the db maps to our schema.
    for table in tree.find_all(exp.Table):
        catalog = table.catalog
        if catalog and catalog.lower() == ATHENA_CATALOG:
            table.set("catalog", None)
        elif catalog:
            raise UnsupportedSqlError(f"unknown catalog {catalog!r} (only {ATHENA_CATALOG})")
        if table.db and table.db.lower() != database.lower():
            raise UnsupportedSqlError(
                f"database {table.db!r} is not the configured Glue database {database!r}"
            )


def _reject_hidden_columns(tree: exp.Expr) -> None:
    for column in tree.find_all(exp.Column):
        if column.name.startswith("$"):
            raise UnsupportedSqlError(f'hidden column "{column.name}" is not available locally')


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
            raise UnsupportedSqlError(f"function {name}() has no DuckDB equivalent")


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
