"""``make package``: the deployable artifact, built only from what the repository tracks.

Chalice zips ``app.py``, ``chalicelib/`` and ``vendor/`` as they lie on disk, so an untracked
build output (a compiled ``.so``) or a native source would ship. We copy the git-tracked
files of those paths (minus native sources) into a clean project directory and run
``chalice package --merge-template`` there. The sandbox check and ``make deploy`` use this
same function, so what is checked is what ships.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gamepipe.infra.template import merge_template

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("app.py", "chalicelib", "vendor", "requirements.txt", ".chalice/config.json")
# Sources of native code are build inputs, not run-time files.
NATIVE_SOURCES = (".c", ".h", ".cc", ".cpp", ".pyx", ".pxd")
# Built native code: only from a pinned wheel in requirements.txt, never from the work tree.
NATIVE_BUILDS = (".so", ".pyd", ".dylib", ".o", ".a")


@dataclass(frozen=True)
class Package:
    """A packaged stage: the merged SAM template and the Lambda zip next to it."""

    stage: str
    out_dir: Path

    @property
    def template_path(self) -> Path:
        """The merged, deployable SAM template."""
        return self.out_dir / "sam.json"

    @property
    def zip_path(self) -> Path:
        """The code every function runs."""
        return self.out_dir / "deployment.zip"

    def template(self) -> dict:
        """The merged template, parsed."""
        return json.loads(self.template_path.read_text())  # type: ignore[no-any-return]


def chalice_executable() -> str:
    """The ``chalice`` script next to the running interpreter (the project's .venv)."""
    candidate = Path(sys.executable).parent / "chalice"
    return str(candidate) if candidate.exists() else "chalice"


def tracked_files(repo: Path = ROOT, paths: tuple[str, ...] = SHIPPED) -> list[str]:
    """Git-tracked files under ``paths`` that exist, without native sources or builds."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths],
        cwd=repo,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return sorted(
        name
        for name in out.split("\0")
        if name
        and (repo / name).is_file()
        and PurePosixPath(name).suffix not in NATIVE_SOURCES + NATIVE_BUILDS
    )


def stage_sources(dest: Path, repo: Path = ROOT) -> Path:
    """A clean project directory holding only the tracked files that ship."""
    if dest.exists():
        shutil.rmtree(dest)
    for name in tracked_files(repo):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    return dest


def package(stage: str, out_dir: Path, *, region: str | None = None, repo: Path = ROOT) -> Package:
    """Generate the stage's merge template and run ``chalice package`` into ``out_dir``."""
    region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    out_dir = out_dir.resolve()
    work = out_dir.parent / f".{out_dir.name}-src"
    stage_sources(work, repo)
    merge = work / "merge-template.json"
    merge.write_text(json.dumps(merge_template(stage, region), indent=2))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    env = {**os.environ, "AWS_DEFAULT_REGION": region}
    run = subprocess.run(
        [chalice_executable(), "--project-dir", str(work), "package", "--stage", stage,
         "--merge-template", str(merge), str(out_dir)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"chalice package failed:\n{run.stdout}{run.stderr}")
    shutil.copy2(merge, out_dir / "merge-template.json")
    shutil.rmtree(work)
    return Package(stage, out_dir)


def main(argv: list[str] | None = None) -> None:
    """``python -m gamepipe.infra.package STAGE [OUT_DIR]`` (``make package``)."""
    args = sys.argv[1:] if argv is None else argv
    stage = args[0] if args else "dev"
    out = Path(args[1]) if len(args) > 1 else ROOT / "build" / "package" / stage
    pkg = package(stage, out)
    print(f"template: {pkg.template_path}\nzip:      {pkg.zip_path}")


if __name__ == "__main__":
    main()
