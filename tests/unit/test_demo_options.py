"""`gamepipe demo`'s options that need no stack: --days reaches the generator, and a span
the event-time window would cut is refused before anything starts."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gamepipe.commands.demo import demo
from gamepipe.demo import DemoOptions, generator_argv


def test_days_reach_the_generator_only_when_given(tmp_path: Path) -> None:
    # GIVEN the demo's options with and without --days
    def argv(**kw: object) -> list[str]:
        opts = DemoOptions(**kw)  # type: ignore[arg-type]
        return generator_argv("http://api", opts, tmp_path / "t", tmp_path / "s")

    # THEN the generator simulates lifecycles over those days, or one day by default
    with_days = argv(days=40)
    assert with_days[with_days.index("--days") + 1] == "40"
    assert "--days" not in argv()


def test_more_days_than_the_event_time_window_are_refused() -> None:
    # GIVEN the API's window of 45 days WHEN the demo is asked for 46
    result = CliRunner().invoke(demo, ["--days", "46"])
    # THEN it stops before starting anything, saying why and what to do instead
    assert result.exit_code == 2
    assert "45 days old" in result.output and "backfill" in result.output
