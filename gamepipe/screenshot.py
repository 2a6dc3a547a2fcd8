"""A screenshot of a rendered page in headless Chromium (Debian's ``chromium`` package):
the demo keeps one of its dashboard, the browser tests use the same flags."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

# What works here: no sandbox (root in a container), no GPU, nothing fetched in the
# background (the page is self-contained; a first run would otherwise reach the network).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
INSTALL_HINT = "apt-get install -y chromium (Debian's package, as root; `make browser` does it)"
# Wide enough for the dashboard's two-column grid, tall enough for tiles, series, heatmap
# and funnel (the test of the dashboard checks each at this size).
DASHBOARD_SIZE = (1600, 3200)


def find_chromium() -> str | None:
    """The chromium binary on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(
    binary: str, profile: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Chromium with :data:`FLAGS` and its own profile folder (no state shared between runs
    or with a user's browser)."""
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def screenshot(
    page: Path, png: Path, *, binary: str | None = None, size: tuple[int, int] = DASHBOARD_SIZE
) -> Path:
    """Render ``page`` (a local HTML file) into ``png``; RuntimeError when chromium is
    missing or fails."""
    binary = binary or find_chromium()
    if binary is None:
        raise RuntimeError(f"chromium not installed: {INSTALL_HINT}")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gamepipe-chromium-") as profile:
        shot = run_chromium(
            binary,
            Path(profile),
            f"--screenshot={png}",
            f"--window-size={size[0]},{size[1]}",
            page.resolve().as_uri(),
        )
    if shot.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium failed (exit {shot.returncode}): {shot.stderr[-500:]}")
    return png
