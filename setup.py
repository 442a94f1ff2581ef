"""Build hooks (all other metadata is in pyproject.toml):

- ship agentbook's own skills/, runbooks/ and schemas/ inside the package as agentbook/_catalog/, so
  they work from a wheel in any repository (an editable install reads them from the checkout; see
  agentbook.shipped);
- ship what `agentbook demo` reads as agentbook/_demo/, under its paths in the checkout: the example
  system (less what its setup regenerates in the copy: the backtest's traces, 1.8 MB) and the scripted
  agents of the demo's two acts (agentbook.workflows.fixture.demo_file finds them);
- write agentbook/_version.py with the version and the commit the build comes from, into the wheel
  and into the sdist (a wheel built from an sdist has no git to ask, so it keeps the sdist's file).
  An editable install gets none: agentbook.version asks git in the checkout at run time.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
CATALOG_DIRS = ("skills", "runbooks", "schemas")
VERSION_FILE = Path("agentbook") / "_version.py"
DEMO_FILES = ("examples/incident-assistant", "tests/runbooks/fix-prompt.yaml",
              "tests/loop/data/example-fixer-good.script.yaml", "tests/loop/data/example-fixer-wrong.script.yaml")
# written in the demo's copy by backtest/generate.py and scripts/generate.py --big (MANIFEST.in leaves them out too)
DEMO_GENERATED = ("backtest/traces", "backtest/manifest.jsonl", "backtest/planted.jsonl", "evals/root-cause.yaml",
                  "evals/sut.script.yaml", "traces")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".agentbook", "*.tmp")


def _git(*args: str) -> str | None:
    if not (HERE / ".git").exists():
        return None
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(["git", "-C", str(HERE), *args], capture_output=True, text=True, env=env,
                              timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _version() -> str:
    text = (HERE / "runner" / "agentbook" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise SystemExit("setup.py: no __version__ in runner/agentbook/__init__.py")
    return found.group(1)


def write_version_file(dest: Path) -> bool:
    """Write _version.py at dest when git knows the commit; False (nothing written) otherwise."""
    commit = _git("rev-parse", "--verify", "-q", "HEAD")
    if not commit or not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        return False
    modified = bool(_git("status", "--porcelain", "--untracked-files=no"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(f'"""Written by setup.py when this package was built; do not edit."""\n\n'
                    f'VERSION = "{_version()}"\nCOMMIT = "{commit}"\nMODIFIED = {modified}\n', encoding="utf-8")
    return True


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        write_version_file(Path(self.build_lib) / VERSION_FILE)
        dest = Path(self.build_lib) / "agentbook" / "_catalog"
        for name in CATALOG_DIRS:
            if (HERE / name).is_dir():
                shutil.copytree(HERE / name, dest / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
        copy_demo(Path(self.build_lib) / "agentbook" / "_demo")


def copy_demo(dest: Path) -> None:
    example = HERE / DEMO_FILES[0]
    generated = {example / name for name in DEMO_GENERATED}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return set(SKIPPED(folder, names)) | {n for n in names if Path(folder, n) in generated}

    for name in DEMO_FILES:
        src = HERE / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True, ignore=ignore)
        elif src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        write_version_file(Path(base_dir) / "runner" / VERSION_FILE)


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
