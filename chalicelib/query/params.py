"""Bound query values: a list binds Athena's ``?`` (qmark), a dict binds ``:name``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Params = Sequence[Any] | Mapping[str, Any] | None
