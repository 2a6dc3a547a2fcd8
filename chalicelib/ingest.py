"""PLACEHOLDER — replaced by the ingest work (issue 2)."""
