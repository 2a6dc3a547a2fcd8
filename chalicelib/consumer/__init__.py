"""PLACEHOLDER — replaced by its issue's work."""
