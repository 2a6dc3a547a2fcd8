"""The rendered reports as files in a local folder (``gamepipe report --out``, the demo's copy)."""

from __future__ import annotations

from pathlib import Path

from chalicelib.reports import ReportFiles


def write_local(files: ReportFiles, out: Path) -> Path:
    """Write every report file into ``out/dt=YYYY-MM-DD/``; return the index.html path."""
    folder = out / f"dt={files.as_of.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    for f in files.files:
        (folder / f.name).write_bytes(f.body)
    return folder / "index.html"
