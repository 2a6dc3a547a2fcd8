"""Unit tests of the AWS cost model (pure arithmetic; no AWS, no benchmarks)."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from click.testing import CliRunner

from chalicelib.statements import REPORTS, STATEMENTS
from gamepipe.commands.cost import cost
from gamepipe.cost import model, prices
from gamepipe.cost.inputs import Inputs
from gamepipe.cost.lake import COLUMN_BYTES, scan_bytes
from gamepipe.cost.measured import Measured, MeasuredFigures, load_measured
from gamepipe.cost.model import CostLine, Estimate, estimate
from gamepipe.cost.presets import PRESETS, build_inputs, lever_steps
from gamepipe.cost.render import DEFAULT_VOLUMES, GOAL_USD_PER_MILLION, parse_volume, render_levers


def _line(est: Estimate, service: str, startswith: str) -> CostLine:
    return next(x for x in est.lines if x.service == service and x.item.startswith(startswith))


def test_shards_sized_by_records_or_bytes_whichever_binds() -> None:
    # GIVEN write rates on either side of the 1,000 records/s and 1 MB/s shard limits
    # WHEN / THEN the shard count is the larger of the two needs, never below the minimum
    assert model.shards_needed(0, 0) == 1
    assert model.shards_needed(1000, 0) == 1
    assert model.shards_needed(1001, 0) == 2
    assert model.shards_needed(10, 2_500_000) == 3
    assert model.shards_needed(10, 10, min_shards=4) == 4


def test_vcpu_share_is_proportional_to_memory_up_to_one_core() -> None:
    # GIVEN Lambda's 1 vCPU at 1,769 MB
    # THEN half the memory gives half a core and more memory does not speed one thread up
    assert model.vcpu_share(1769 / 2) == pytest.approx(0.5)
    assert model.vcpu_share(10_240) == 1.0


def test_consumer_batches_full_batches_when_busy_one_per_record_when_sparse() -> None:
    # GIVEN a busy stream (many records per window) and a nearly idle one
    busy = model.consumer_batches(1e9, lanes=1, window_s=1, max_records_per_batch=1000)
    sparse = model.consumer_batches(100, lanes=4, window_s=1, max_records_per_batch=1000)
    # THEN busy -> records / batch size; sparse -> about one invocation per record
    assert busy == pytest.approx(1e9 / 1000)
    assert sparse == pytest.approx(100, rel=0.01)
    # AND a longer batching window means fewer, fuller batches
    moderate = model.consumer_batches(1e6, lanes=2, window_s=1, max_records_per_batch=10_000)
    windowed = model.consumer_batches(1e6, lanes=2, window_s=60, max_records_per_batch=10_000)
    assert windowed < moderate / 10


def test_known_inputs_give_known_lines() -> None:
    # GIVEN 100M events/day of 350 B sent 100 per REST request, one player per request
    inp = Inputs(events_per_day=1e8, avg_bytes=350, ingest="rest", events_per_request=100)
    # WHEN the model runs
    est = estimate(inp)
    # THEN API Gateway bills one request per 100 events at $3.50 per million
    api = _line(est, "API Gateway", "REST")
    assert api.quantity == pytest.approx(1e6)
    assert api.usd_per_day == pytest.approx(3.50)
    # AND each 35,000-byte Kinesis record costs two 25 KB PUT payload units
    units = _line(est, "Kinesis", "PUT payload units")
    assert units.quantity == pytest.approx(2e6)
    assert units.usd_per_day == pytest.approx(2e6 * 0.014e-6)
    # AND the shard-hours follow the peak: 3x average of 1,157 records/s x 35 KB = 1.2 MB/s
    assert est.derived["shards"] == 2
    assert _line(est, "Kinesis", "shard-hours").usd_per_day == pytest.approx(2 * 24 * 0.015)


def test_storage_is_retention_days_of_parquet() -> None:
    # GIVEN a fixed 200 B of Parquet per event and 30 days retained
    inp = Inputs(events_per_day=1e9, lake_bytes_per_event=200, retention_days=30)
    est = estimate(inp)
    # THEN 6,000 GB are stored, billed per day at the monthly GB price
    line = _line(est, "S3", "storage")
    assert line.quantity == pytest.approx(6000)
    assert line.usd_per_day == pytest.approx(6000 * 0.023 / prices.DAYS_PER_MONTH)


def test_athena_bills_the_ten_megabyte_minimum_on_tiny_tables() -> None:
    # GIVEN so few events that every query scans less than 10 MB, and only one query run/day
    inp = Inputs(events_per_day=1000, query_runs_per_day=1, report_runs_per_day=0)
    est = estimate(inp)
    # THEN Athena bills exactly 7 queries x 10 MB
    line = _line(est, "Athena", "data scanned")
    assert line.quantity == pytest.approx(7 * 10e6 / 1e12)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_breakdown_sums_to_the_total(preset: str) -> None:
    # GIVEN any preset and volume
    for n in DEFAULT_VOLUMES:
        inp, _ = build_inputs(n, 350, preset)
        est = estimate(inp)
        # THEN lines and the per-service breakdown both add up to the total
        assert sum(x.usd_per_day for x in est.lines) == pytest.approx(est.usd_per_day)
        assert sum(est.by_service().values()) == pytest.approx(est.usd_per_day)
        assert est.usd_per_million_events == pytest.approx(est.usd_per_day / (n / 1e6))
        assert all(x.usd_per_day >= 0 for x in est.lines)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_cost_grows_with_volume_and_event_size(preset: str) -> None:
    # GIVEN growing volumes and growing events
    totals = [
        estimate(build_inputs(n, 350, preset)[0]).usd_per_day for n in (1e5, 1e6, 1e7, 1e8, 1e9)
    ]
    sizes = [estimate(build_inputs(1e8, b, preset)[0]).usd_per_day for b in (200, 400, 800, 1600)]
    # THEN the bill never shrinks
    assert totals == sorted(totals)
    assert sizes == sorted(sizes)


def test_http_api_is_cheaper_than_rest_and_direct_is_cheapest() -> None:
    # GIVEN the same load through the three ingest paths
    usd = {
        path: estimate(Inputs(events_per_day=1e8, ingest=path)).usd_per_day
        for path in ("rest", "http", "direct")
    }
    # THEN REST > HTTP > direct PutRecords (no API Gateway, no ingest Lambda)
    assert usd["rest"] > usd["http"] > usd["direct"]


def test_recommended_settings_meet_the_goal_at_100m_per_day() -> None:
    # GIVEN the recommended production settings and the documented default figures
    inp, _ = build_inputs(1e8, 350, "recommended")
    # THEN the model gives at most $0.10 per million events, well under the deployed preset
    rec = estimate(inp).usd_per_million_events
    dep = estimate(build_inputs(1e8, 350, "deployed")[0]).usd_per_million_events
    assert rec <= GOAL_USD_PER_MILLION
    assert rec < dep / 5


def test_compaction_cuts_athena_s3_gets() -> None:
    # GIVEN many small files per day, queried with and without hourly compaction
    base = Inputs(events_per_day=1e8, batch_window_s=1)
    gets = [
        _line(estimate(i), "S3", "GETs by Athena").quantity
        for i in (base, Inputs(events_per_day=1e8, batch_window_s=1, compaction_interval_h=1))
    ]
    # THEN compaction reads far fewer objects
    assert gets[1] < gets[0] / 10


def test_every_price_has_a_source_and_date() -> None:
    # GIVEN the one price table
    # THEN each price is positive, from an aws.amazon.com pricing page, and dated
    for key, price in prices.PRICES.items():
        assert price.value > 0, key
        assert price.source.startswith("https://aws.amazon.com/"), key
        assert price.as_of, key


def test_measured_figures_are_read_by_name_with_their_source(tmp_path) -> None:
    # GIVEN a bench.run JSON whose "measured" section holds two of the model's inputs
    data = {
        "date": "2026-11-28 05:00 UTC",
        "figures": [{"bench": "consumer", "name": "anything", "unit": "events/s", "values": [1]}],
        "measured": {
            "consumer_events_per_s": {"value": 400_000.0, "source": "consumer: core per CPU-s"},
            "ingest_us_per_event": {"value": 6.0, "source": "ingest: handler"},
        },
    }
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(data))
    # WHEN the measured inputs are loaded
    measured = load_measured(path)
    # THEN the named fields carry the values, their source prefixed with file and run date;
    # the figures list is not searched
    assert measured.consumer_events_per_s == Measured(
        400_000.0, "latest.json 2026-11-28 05:00 UTC: consumer: core per CPU-s"
    )
    assert measured.ingest_us_per_event is not None
    assert measured.ingest_us_per_event.value == 6.0
    assert measured.lake_bytes_per_event is None
    # AND they become the model's inputs, marked as measured
    inp, sources = build_inputs(1e8, 350, "deployed", measured)
    assert inp.consumer_events_per_s == 400_000.0 and inp.ingest_us_per_event == 6.0
    assert sources["ingest_us_per_event"].startswith("measured (latest.json")
    # AND a missing file, or one written before the "measured" section, measures nothing
    assert load_measured(tmp_path / "nope.json") == MeasuredFigures()
    path.write_text(json.dumps({"figures": data["figures"]}))
    assert load_measured(path) == MeasuredFigures()


def test_measured_figures_round_trip_and_reject_unknown_inputs() -> None:
    # GIVEN measured figures WHEN written as bench/run.py writes them and read back
    figures = MeasuredFigures(consumer_events_per_s=Measured(2.5e5, "consumer: x"))
    # THEN they are equal; an input the model does not have is an error, not ignored
    assert MeasuredFigures.from_json(figures.to_json()) == figures
    with pytest.raises(TypeError):
        MeasuredFigures.from_json({"consumer_speed": {"value": 1.0, "source": "?"}})


def test_overrides_win_over_measured_and_preset() -> None:
    # GIVEN a preset value, a measured value and a command-line override for the same field
    measured = MeasuredFigures(consumer_events_per_s=Measured(5.0, "bench"))
    inp, sources = build_inputs(
        1e6, 350, "recommended", measured,
        overrides={"consumer_events_per_s": 300_000.0, "batch_size": None},
    )  # fmt: skip
    # THEN the command line wins and unset overrides leave the preset alone
    assert inp.consumer_events_per_s == 300_000.0
    assert sources["consumer_events_per_s"] == "command line"
    assert inp.batch_size == PRESETS["recommended"]["batch_size"]


@pytest.mark.parametrize(
    ("text", "value"), [("1M", 1e6), ("100m", 1e8), ("1B", 1e9), ("2.5e7", 2.5e7), ("1_000", 1e3)]
)
def test_parse_volume(text: str, value: float) -> None:
    # GIVEN human volumes THEN they parse to events per day
    assert parse_volume(text) == value


def test_cli_json_has_three_default_volumes_and_totals() -> None:
    # GIVEN the click command with no volume
    result = CliRunner().invoke(cost, ["--no-bench", "--format", "json"])
    # THEN it prints the 1M, 100M and 1B estimates with consistent totals
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    vols = [e["events_per_day"] for e in doc["estimates"]]
    assert vols == [1e6, 1e8, 1e9]
    for e in doc["estimates"]:
        assert math.isclose(sum(x["usd_per_day"] for x in e["lines"]), e["usd_per_day"])
    assert "athena_tb_scanned" in doc["prices"]


def test_cli_markdown_and_bad_volume() -> None:
    # GIVEN one volume in markdown, then an invalid volume
    runner = CliRunner()
    md = runner.invoke(cost, ["--no-bench", "--events-per-day", "100M", "--format", "markdown"])
    bad = runner.invoke(cost, ["--no-bench", "--events-per-day", "lots"])
    # THEN markdown has the summary table; the bad volume is a usage error
    assert md.exit_code == 0, md.output
    assert "| 100M |" in md.output
    assert bad.exit_code == 2


def test_levers_end_at_the_recommended_preset_and_each_step_helps() -> None:
    # GIVEN the deployed → recommended steps at 100M events/day
    steps = lever_steps(1e8, 350)
    *levers, (_, direct) = steps
    rec = estimate(build_inputs(1e8, 350, "recommended")[0])
    # THEN the last lever is exactly the recommended preset, no step raises the bill,
    # and sending straight to Kinesis is cheaper still
    assert levers[-1][1].usd_per_day == pytest.approx(rec.usd_per_day)
    totals = [e.usd_per_day for _, e in levers]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(totals))
    assert direct.usd_per_day < rec.usd_per_day


def test_without_a_dt_filter_athena_scans_every_retained_day() -> None:
    # GIVEN the same load with all-time SQL (query_days unset) at 30 and 60 days retained
    tb = [
        _line(estimate(Inputs(events_per_day=1e9, retention_days=d)), "Athena", "data").quantity
        for d in (30, 60)
    ]
    pruned = _line(
        estimate(Inputs(events_per_day=1e9, query_days=1, report_days=1)), "Athena", "data"
    )
    # THEN bytes scanned double with retention, and a one-day filter scans 30x less
    assert tb[1] == pytest.approx(2 * tb[0])
    assert pruned.quantity == pytest.approx(tb[0] / 30)


def test_docs_quote_the_model() -> None:
    # GIVEN docs/cost.md, which quotes the model's output (made with --no-bench)
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cost.md").read_text(encoding="utf-8")
    # THEN its levers table is exactly what the model prints today (regenerate it otherwise:
    # gamepipe cost --no-bench --levers --events-per-day 100M)
    assert render_levers(lever_steps(1e8, 350)) in doc
    rec = estimate(build_inputs(1e8, 350, "recommended")[0]).usd_per_million_events
    assert f"**${rec:.3f}**" in doc


def test_compacted_days_are_read_without_event_id() -> None:
    # GIVEN q4's scans, derived from its SQL: the live-days check, the compacted days
    # (userid, event_type) and the live days (the same plus event_id)
    col = COLUMN_BYTES["character_events"]
    events = 1000 / 0.333  # 1,000 character_events rows per day
    # WHEN 30 days are read of which only today is live
    got = scan_bytes(STATEMENTS["q4"].scans, events, days=30, live_days=1)
    # THEN event_id bytes are paid on the live rows only
    expected = 30_000 * (col["userid"] + col["event_type"]) + 1_000 * col["event_id"]
    assert got == pytest.approx(expected)


def test_reports_open_the_files_compaction_leaves() -> None:
    # GIVEN hourly compaction and only the reports running, once a day over one day
    inp = Inputs(events_per_day=1e8, compaction_interval_h=1, query_runs_per_day=0, report_days=1)
    day = model.one_day(inp)
    # WHEN the model counts the S3 GETs Athena makes
    gets = _line(estimate(inp), "S3", "GETs by Athena").quantity
    # THEN each report opens the day's 24 compacted files of its table plus half an hour of
    # batch files not compacted yet, 3 GETs each (not 1 compacted file: the report runs once
    # a day, compaction 24 times)
    tables = [scan.table for r in REPORTS for scan in r.scans[:1]]
    expected = sum(3 * (24 + day.small_files[t] / 24 / 2) for t in tables)
    assert gets == pytest.approx(expected)
