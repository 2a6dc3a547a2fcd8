"""One query execution's state, as GetQueryExecution reports it.

QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED. The worker thread moves a run
forward; StopQueryExecution may cancel it at any point; every transition happens under
the run's lock so a cancel and a completion cannot both win.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gamepipe.athena.results import Cell

FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class ResultData:
    """What GetQueryResults pages: ColumnInfo and text rows (the header row included)."""

    columns: list[dict[str, Any]]
    rows: list[list[Cell]]
    update_count: int | None = None


@dataclass
class QueryRun:
    """One StartQueryExecution and what became of it."""

    id: str
    query: str
    context: dict[str, Any] | None
    config: dict[str, Any]  # ResultConfiguration as reported (OutputLocation = the file)
    workgroup: Any  # moto's WorkGroup (moto's list_query_executions reads .name)
    execution_parameters: list[str] | None
    output_root: str  # the result location the run writes under (ends with "/")
    statement_type: str = "DML"
    substatement_type: str = "SELECT"
    status: str = "QUEUED"
    reason: str | None = None
    error_category: int | None = None  # Athena's AthenaError.ErrorCategory: 1 system, 2 user
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    completed: float | None = None
    preprocessing_ms: int = 0
    planning_ms: int = 0
    engine_ms: int = 0
    service_ms: int = 0
    scanned_bytes: int = 0
    manifest_location: str | None = None
    result: ResultData | None = None
    cancel_requested: bool = False
    # Offsets in the statement after parameter substitution -> in the text the client sent.
    to_original: Callable[[int], int] | None = None
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def database(self) -> str:
        """The database unqualified names resolve in (Athena's default: "default")."""
        return str((self.context or {}).get("Database") or "default")

    def start_running(self) -> bool:
        """QUEUED -> RUNNING; False if it was cancelled meanwhile."""
        with self.lock:
            if self.status != "QUEUED":
                return False
            self.status = "RUNNING"
            self.started = time.time()
            return True

    def finish(self, state: str, reason: str | None = None, category: int | None = None) -> None:
        """Move to a final state (a requested cancel wins over success)."""
        with self.lock:
            if self.status in FINAL_STATES:
                return
            if self.cancel_requested and state == "SUCCEEDED":
                state, reason, category = "CANCELLED", None, None
            self.reason, self.error_category = reason, category
            self.completed = time.time()
            self.status = state
        self.done.set()

    def request_cancel(self) -> bool:
        """Ask to stop; a QUEUED run ends CANCELLED at once. True if it is still running."""
        with self.lock:
            if self.status in FINAL_STATES:
                return False
            self.cancel_requested = True
            if self.status == "QUEUED":
                self.status = "CANCELLED"
                self.completed = time.time()
                self.done.set()
                return False
            return True

    def describe(self) -> dict[str, Any]:
        """The QueryExecution structure of GetQueryExecution / BatchGetQueryExecution."""
        status: dict[str, Any] = {"State": self.status, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
            status["AthenaError"] = {
                "ErrorCategory": self.error_category or 3,
                "Retryable": self.error_category == 1,
                "ErrorMessage": self.reason,
            }
        end = self.completed or time.time()
        queued_until = self.started or end
        statistics: dict[str, Any] = {
            "EngineExecutionTimeInMillis": self.engine_ms,
            # An estimate: see gamepipe.athena.scan_estimate.
            "DataScannedInBytes": self.scanned_bytes,
            "TotalExecutionTimeInMillis": int((end - self.submitted) * 1000),
            "QueryQueueTimeInMillis": int((queued_until - self.submitted) * 1000),
            "ServicePreProcessingTimeInMillis": self.preprocessing_ms,
            "QueryPlanningTimeInMillis": self.planning_ms,
            "ServiceProcessingTimeInMillis": self.service_ms,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }
        if self.manifest_location:
            statistics["DataManifestLocation"] = self.manifest_location
        execution: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "SubstatementType": self.substatement_type,
            "ResultConfiguration": self.config,
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": self.context or {},
            "Status": status,
            "Statistics": statistics,
            "WorkGroup": self.workgroup.name if self.workgroup else "primary",
            "EngineVersion": {
                "SelectedEngineVersion": "AUTO",
                "EffectiveEngineVersion": "Athena engine version 3",
            },
        }
        if self.execution_parameters is not None:
            execution["ExecutionParameters"] = self.execution_parameters
        return execution
