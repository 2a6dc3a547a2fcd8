"""Open the rendered report in headless Chromium: the page renders, offline, as intended.

Chromium comes from the Debian package ``chromium``. Locally a missing browser skips
these tests with the install command; under CI (``CI`` set) the session fixture installs
it with apt-get, and fails loudly if it cannot: skipping silently in CI is not allowed.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from chalicelib.reports import build_report
from gamepipe.screenshot import DASHBOARD_SIZE, find_chromium, run_chromium
from tests.helpers_kpi import sample_kpis
from tests.helpers_reports import empty_tables, sample_tables

pytestmark = pytest.mark.browser

INSTALL = ["apt-get", "install", "-y", "-qq", "chromium"]  # as installed where this was tested
AS_OF = date(2021, 8, 6)
# Where screenshots are kept after the run (out/ is not tracked); GAMEPIPE_TEST_ARTIFACTS
# moves it, e.g. to a CI job's artifact folder.
ARTIFACTS = Path(
    os.environ.get(
        "GAMEPIPE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "out" / "test-artifacts"
    )
)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the chromium binary; installed under CI when missing."""
    found = find_chromium()
    if found:
        return found
    if not os.environ.get("CI"):
        pytest.skip("chromium not installed: apt-get install -y chromium (CI installs it)")
    if os.geteuid() != 0:
        pytest.fail("CI: chromium missing and not root; install it: " + " ".join(INSTALL))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(INSTALL, check=True, env=env, timeout=1200)
    found = find_chromium()
    if not found:
        pytest.fail("CI: apt-get installed chromium but it is not on PATH")
    return found


def _write(files, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for f in files.files:
        (where / f.name).write_bytes(f.body)
    return where / "index.html"


def _pixels_of(image: Image.Image, rgb: tuple[int, int, int], tolerance: int = 8) -> int:
    """How many pixels are within ``tolerance`` of ``rgb`` on every channel."""
    bands = image.convert("RGB").split()
    masks = [
        band.point(lambda v, c=c: 255 if abs(v - c) <= tolerance else 0)
        for band, c in zip(bands, rgb, strict=True)
    ]
    both = Image.composite(masks[0], Image.new("L", image.size, 0), masks[1])
    every = Image.composite(both, Image.new("L", image.size, 0), masks[2])
    return int(sum(every.histogram()[255:]))


def test_report_renders_in_headless_chromium(chromium, tmp_path):
    # GIVEN a rendered report written to disk (as `gamepipe report --out` does)
    files = build_report(sample_tables(), AS_OF, 10, generated_at=datetime.now(UTC))
    index = _write(files, tmp_path / "report")
    # WHEN Chromium loads it and dumps the DOM
    dom = run_chromium(chromium, tmp_path / "p1", "--dump-dom", index.as_uri())
    # THEN the titles and the three inline charts are in the DOM
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Game Analytics Reports as of August 06, 2021" in dom.stdout
    assert "Player Standings Report as of August 06, 2021" in dom.stdout
    assert dom.stdout.count("<svg") == 3

    # WHEN it takes a screenshot
    png = tmp_path / "report.png"
    shot = run_chromium(
        chromium, tmp_path / "p2", f"--screenshot={png}", "--window-size=1200,2000", index.as_uri()
    )
    # THEN the image is not blank, and both the highlight and the chart bars are painted
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    image = Image.open(png)
    assert image.size == (1200, 2000)
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 10
    assert _pixels_of(image, (0xDB, 0xE9, 0xF6), tolerance=2) > 500  # maxima, pale blue
    assert _pixels_of(image, (255, 255, 0), tolerance=40) == 0  # no bright yellow left
    assert _pixels_of(image, (0x4C, 0x78, 0xA8)) > 2000  # chart bars
    assert _pixels_of(image, (0xD3, 0xD3, 0xD3), tolerance=2) > 500  # lightgrey headers


def test_no_events_report_renders(chromium, tmp_path):
    # GIVEN the report of a lake with no events yet
    files = build_report(empty_tables(), AS_OF, 10)
    index = _write(files, tmp_path / "empty")
    # WHEN Chromium loads it
    dom = run_chromium(chromium, tmp_path / "p", "--dump-dom", index.as_uri())
    # THEN it shows the no-events notice and no tables
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "No events yet" in dom.stdout
    assert "<table" not in dom.stdout


def test_kpi_dashboard_renders_in_headless_chromium(chromium, tmp_path, capsys):
    # GIVEN the report with 40 days of KPIs (tiles, time series, heatmap, funnel)
    files = build_report(
        sample_tables(), date(2026, 3, 31), 10, generated_at=datetime.now(UTC),
        kpis=sample_kpis(date(2026, 3, 31)),
    )  # fmt: skip
    index = _write(files, tmp_path / "kpi")
    # WHEN Chromium loads it and dumps the DOM
    dom = run_chromium(chromium, tmp_path / "p1", "--dump-dom", index.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    # THEN each part is there and has content: 5 tiles with values, 7 time series with
    # lines of points, a heatmap with shaded cells, a funnel with bars
    tiles = re.findall(r'<div class="tile-value">([^<]*)</div>', page)
    assert len(tiles) == 5 and all(t.strip() not in ("", "—") for t in tiles)
    lines = re.findall(r'<polyline class="line s\d" points="([^"]*)"', page)
    assert len(lines) >= 7 and all(len(p.split()) > 30 for p in lines)
    cells = re.findall(r'<rect [^>]*fill="#([0-9a-f]{6})"', page[page.index('id="kpi-heatmap"') :])
    assert len(cells) == 900 and len(set(cells)) > 10
    assert len(re.findall(r'class="funnel-bar"', page)) > 10

    # WHEN it takes a full-page screenshot, kept as an artifact
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / "kpi-dashboard.png"
    shot = run_chromium(
        chromium,
        tmp_path / "p2",
        f"--screenshot={png}",
        "--window-size={},{}".format(*DASHBOARD_SIZE),
        index.as_uri(),
    )
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    with capsys.disabled():
        print(f"\n  KPI dashboard screenshot: {png}")
    # THEN the lines, the heatmap's blues and the funnel are painted, and no bright yellow
    image = Image.open(png)
    assert image.size == (1600, 3200)
    assert _pixels_of(image, (0x4C, 0x78, 0xA8), tolerance=12) > 2000  # lines (and bars)
    assert _pixels_of(image, (0xF5, 0x85, 0x18), tolerance=12) > 200  # the WAU line
    assert _pixels_of(image, (0x6F, 0x9F, 0xCF), tolerance=6) > 2000  # funnel bars
    assert _pixels_of(image, (255, 255, 0), tolerance=40) == 0
