"""Bound query values: a list binds Athena's ``?`` (qmark), a dict binds ``:name``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

Params = Sequence[Any] | Mapping[str, Any] | None


def as_of_params(as_of: date) -> dict[str, str]:
    """The binding of the report statements' ``:as_of``: partitions ``dt <= as_of`` count."""
    return {"as_of": as_of.isoformat()}
