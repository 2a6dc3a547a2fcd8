"""notebooks/explore.ipynb runs headless, cell by cell in a real kernel, against the embedded
stack (awswrangler -> our moto server's Athena) and fails on any cell error."""

from __future__ import annotations

from pathlib import Path

import boto3
import nbformat
import pytest
from nbclient import NotebookClient

from chalicelib import aws
from chalicelib.settings import Settings
from gamepipe.stack.targets import make_target
from tests.helpers_sql import consume_into_lake, make_events

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"


def test_explore_notebook_runs_against_the_embedded_stack(
    tmp_path: Path, e2e_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the embedded stack with a consumed run, names and endpoints in the environment
    settings = Settings(
        glue_database="notebook",
        data_bucket="notebook-data",
        athena_output="s3://notebook-results/athena/",
    )
    names = {
        "GAMEPIPE_GLUE_DATABASE": settings.glue_database,
        "GAMEPIPE_DATA_BUCKET": settings.data_bucket,
        "GAMEPIPE_ATHENA_OUTPUT": settings.athena_output,
    }
    target = make_target("embedded", tmp_path / "stack")
    try:
        for key, value in {**target.start(), **names}.items():
            monkeypatch.setenv(key, value)  # the kernel inherits this environment
        aws.reset()
        consume_into_lake(make_events(1200, users=60, seed=3), settings)
        boto3.client("s3").create_bucket(Bucket="notebook-results")
        notebook = nbformat.read(NOTEBOOK, as_version=4)

        # WHEN every cell runs in a fresh Python kernel (an error in any cell raises)
        NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        ).execute()
    finally:
        target.stop()
        aws.reset()

    # THEN the questions were answered from the lake and the two figures were drawn
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert all(item in html for item in ("potion", "shield", "sword"))
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Athena endpoint: http://127.0.0.1:" in text
    assert "q7. How many players were attacked by an enemy?" in text
