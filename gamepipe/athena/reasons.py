"""Why a query FAILED, in Athena's words: the StateChangeReason and the error category.

Categories are Athena's ``AthenaError.ErrorCategory``: 1 system (ours: a bug, logged),
2 user (the SQL or its data).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from gamepipe.athena.translate import UnsupportedSqlError, line_col

SYSTEM, USER = 1, 2
# DuckDB's errors about the SQL or its data are the user's (with Athena's error name);
# anything else is ours.
_ENGINE_CODES = {
    "ConversionException": "INVALID_CAST_ARGUMENT",
    "OutOfRangeException": "NUMERIC_VALUE_OUT_OF_RANGE",
    "ParserException": "SYNTAX_ERROR",
    "BinderException": "GENERIC_USER_ERROR",
    "InvalidInputException": "INVALID_FUNCTION_ARGUMENT",
    "NotImplementedException": "NOT_SUPPORTED",
    "CatalogException": "GENERIC_USER_ERROR",
}
_USER_ERRORS = frozenset({*_ENGINE_CODES, "ConstraintException"})


def sql_reason(exc: UnsupportedSqlError, query: str) -> str:
    """``CODE: line L:C: message``, the position in the text the client sent."""
    where = ""
    if exc.offset is not None:
        line, col = line_col(query, exc.offset)
        where = f"line {line}:{col}: "
    return f"{exc.code}: {where}{exc}"


def client_error_reason(exc: ClientError) -> str:
    """An S3 or Glue error met while reading data or writing results."""
    error = exc.response.get("Error", {})
    if error.get("Code") == "NoSuchBucket":
        return f"Unable to verify/create output bucket {error.get('BucketName') or ''}".rstrip()
    return f"HIVE_CANNOT_OPEN_SPLIT: {error.get('Code')}: {error.get('Message')}"


def engine_failure(exc: Exception) -> tuple[str, int]:
    """The reason and category of an error the engine (or the emulator) raised."""
    name = type(exc).__name__
    message = str(exc).splitlines()[0] if str(exc) else name
    category = USER if name in _USER_ERRORS else SYSTEM
    if "division by zero" in message.lower():
        return f"DIVISION_BY_ZERO: {message}", category
    return f"{_ENGINE_CODES.get(name, 'GENERIC_INTERNAL_ERROR')}: {message}", category
