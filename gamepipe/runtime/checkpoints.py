"""Per-shard checkpoints in a JSON file, written atomically so a killed poller resumes cleanly."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class CheckpointStore:
    """Last processed sequence number per shard of one stream incarnation."""

    def __init__(self, path: Path, stream_key: str) -> None:
        self.path = path
        # key = stream ARN + creation time: a re-created stream must not reuse old positions
        self.stream_key = stream_key

    def _load_all(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def load(self) -> dict[str, str]:
        """shard id -> last sequence number handed to the function successfully."""
        return dict(self._load_all().get(self.stream_key, {}))

    def save(self, shard_id: str, sequence_number: str) -> None:
        """Record that everything up to ``sequence_number`` on ``shard_id`` is done."""
        data = self._load_all()
        data.setdefault(self.stream_key, {})[shard_id] = sequence_number
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # write-then-rename: a crash leaves the old file or the new one, never half of one
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ckpt-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
