"""Bound query values: a list binds Athena's ``?`` (qmark), a dict binds ``:name``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

Params = Sequence[Any] | Mapping[str, Any] | None

# The questions and reports take an optional application filter; '' means every one.
APPLICATION = "application_id"
ALL_APPLICATIONS = ""


def as_of_params(as_of: date, application_id: str | None = None) -> dict[str, str]:
    """The binding of the report statements' ``:as_of`` (partitions ``dt <= as_of`` count)
    and ``:application_id`` (None: every application)."""
    return {"as_of": as_of.isoformat(), APPLICATION: application_id or ALL_APPLICATIONS}


def application_params(application_id: str | None = None) -> dict[str, str]:
    """The binding of the questions' ``:application_id`` (None: every application)."""
    return {APPLICATION: application_id or ALL_APPLICATIONS}


def bind_for(sql: str, params: Params) -> Params:
    """``params`` fitted to ``sql``'s named parameters: the application filter defaults to
    every application, and names the statement does not use are left out (DuckDB refuses
    unused ones). Lists (``?``) pass unchanged."""
    code = re.sub(r"--[^\n]*", "", sql)  # a comment may mention a parameter it does not use
    names = set(re.findall(r"(?<!:):([A-Za-z_]\w*)", code))
    if params is not None and not isinstance(params, Mapping):
        return params
    if not names:
        return params
    bound = {k: v for k, v in (params or {}).items() if k in names}
    if APPLICATION in names:
        bound.setdefault(APPLICATION, ALL_APPLICATIONS)
    return bound
