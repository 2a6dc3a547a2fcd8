"""The AWS SDK for pandas layer and the Lambda runtime's own libraries, from one lock file.

The template resolves the layer's ARN from the public SSM parameter for the region, Python
version and architecture; the sandbox check installs the same pinned packages as a stand-in.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "infrastructure" / "lambda-layer.lock"
LAYER_VERSION_KEY = "aws-sdk-pandas"
# Linux x86_64 wheels. The real layer is compiled on the runtime's own OS; a wheel built for
# a newer glibc than the runtime's would import here and fail there (not checked).
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def read_lock(path: Path = LOCK) -> dict[str, list[str]]:
    """Sections of the lock file: ``{"layer": [...], "runtime": [...]}`` as requirement lines."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is not None:
            current.append(line)
    return sections


def layer_version(path: Path = LOCK) -> str:
    """The AWS SDK for pandas layer version the template attaches (e.g. ``3.17.1``)."""
    for line in read_lock(path)["layer"]:
        name, _, value = line.partition("=")
        if name == LAYER_VERSION_KEY:
            return value
    raise ValueError(f"{path}: no {LAYER_VERSION_KEY}=<version> in [layer]")


def ssm_parameter(region: str, python: str, arch: str = "x86_64", *, path: Path = LOCK) -> str:
    """Name of the public SSM parameter that holds the layer's ARN (``python`` like ``3.11``)."""
    return f"/aws/service/aws-sdk-pandas/{layer_version(path)}/{region}/py{python}/{arch}/layer-arn"


def requirements(section: str, path: Path = LOCK) -> list[str]:
    """The pinned packages of a section (the layer's version line left out)."""
    return [r for r in read_lock(path)[section] if "==" in r]


def install(section: str, dest: Path, python: str, *, path: Path = LOCK) -> Path:
    """Install a section's pinned packages for Lambda (manylinux x86_64, ``python``) into
    ``dest``; reuse a previous install of the same pins."""
    reqs = requirements(section, path)
    stamp = dest / ".pins"
    wanted = hashlib.sha256("\n".join([python, *reqs]).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return dest
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    dest.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
            "--target", str(dest), "--no-deps", "--only-binary=:all:",
            *(f"--platform={tag}" for tag in PLATFORMS), "--implementation", "cp",
            "--python-version", python, *reqs,
        ],
        check=True,
    )  # fmt: skip
    stamp.write_text(wanted)
    return dest
