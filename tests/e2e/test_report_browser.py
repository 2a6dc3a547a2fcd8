"""Open the rendered report in headless Chromium: the page renders, offline, as intended.

Chromium comes from the Debian package ``chromium``. Locally a missing browser skips
these tests with the install command; under CI (``CI`` set) the session fixture installs
it with apt-get, and fails loudly if it cannot: skipping silently in CI is not allowed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from chalicelib.reports import build_report
from tests.helpers_reports import empty_tables, sample_tables

pytestmark = pytest.mark.browser

INSTALL = ["apt-get", "install", "-y", "-qq", "chromium"]  # as installed where this was tested
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
AS_OF = date(2021, 8, 6)


def _find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the chromium binary; installed under CI when missing."""
    found = _find_chromium()
    if found:
        return found
    if not os.environ.get("CI"):
        pytest.skip("chromium not installed: apt-get install -y chromium (CI installs it)")
    if os.geteuid() != 0:
        pytest.fail("CI: chromium missing and not root; install it: " + " ".join(INSTALL))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(INSTALL, check=True, env=env, timeout=1200)
    found = _find_chromium()
    if not found:
        pytest.fail("CI: apt-get installed chromium but it is not on PATH")
    return found


def _write(files, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for f in files.files:
        (where / f.name).write_bytes(f.body)
    return where / "index.html"


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A throwaway profile per run: no state shared between tests or with a user's browser.
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
    dom = _chromium(chromium, tmp_path / "p1", "--dump-dom", index.as_uri())
    # THEN the titles and the three inline charts are in the DOM
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Game Analytics Reports as of August 06, 2021" in dom.stdout
    assert "Player Standings Report as of August 06, 2021" in dom.stdout
    assert dom.stdout.count("<svg") == 3

    # WHEN it takes a screenshot
    png = tmp_path / "report.png"
    shot = _chromium(
        chromium, tmp_path / "p2", f"--screenshot={png}", "--window-size=1200,2000", index.as_uri()
    )
    # THEN the image is not blank, and both the highlight and the chart bars are painted
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    image = Image.open(png)
    assert image.size == (1200, 2000)
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 10
    assert _pixels_of(image, (255, 255, 0)) > 500  # yellow maxima (the seed's highlight)
    assert _pixels_of(image, (0x4C, 0x78, 0xA8)) > 2000  # chart bars
    assert _pixels_of(image, (0xD3, 0xD3, 0xD3), tolerance=2) > 500  # lightgrey headers


def test_no_events_report_renders(chromium, tmp_path):
    # GIVEN the report of a lake with no events yet
    files = build_report(empty_tables(), AS_OF, 10)
    index = _write(files, tmp_path / "empty")
    # WHEN Chromium loads it
    dom = _chromium(chromium, tmp_path / "p", "--dump-dom", index.as_uri())
    # THEN it shows the no-events notice and no tables
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "No events yet" in dom.stdout
    assert "<table" not in dom.stdout
