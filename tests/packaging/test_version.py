"""`agentbook --version` names the commit and loads nothing heavy; `agentbook version --json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentbook import __version__
from agentbook.version import version_info

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("click", "anthropic", "jsonschema", "yaml", "rich", "httpx", "packaging", "markdown_it")


def head() -> str:
    return subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_console_script_version_names_the_checkouts_commit() -> None:
    done = subprocess.run([sys.executable, "-m", "agentbook", "--version"], capture_output=True, text=True,
                          cwd=REPO_ROOT, check=False)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith(f"agentbook {__version__} (commit {head()[:12]}")
    assert done.stderr == ""


def test_version_flag_is_answered_before_the_cli_loads() -> None:
    probe = ("import json, sys\nsys.argv = ['agentbook', '-V']\nfrom agentbook.launcher import main\n"
             "try:\n    main()\nexcept SystemExit as ex:\n    code = ex.code\n"
             f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"agentbook {__version__} (commit ")
    assert json.loads(lines[1]) == [0, []]


def test_the_cli_flag_prints_the_same_line(run_cli) -> None:
    result = run_cli("--version")
    assert result.code == 0
    assert result.out.strip() == version_info().line()


def test_version_json(run_cli) -> None:
    result = run_cli("version", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["version"] == __version__
    assert data["commit"] == head()
    assert data["source"] == "checkout"
    assert data["catalog"] == str(REPO_ROOT)
    assert data["package"] == str(REPO_ROOT / "runner" / "agentbook")
    assert data["python"] == sys.version.split()[0]
    human = run_cli("version")
    assert human.code == 0 and f"commit    {head()}" in human.out


def test_modified_is_reported_for_a_tree_with_changes(tmp_path: Path) -> None:
    """A copy of the package in a fresh repository: clean after the commit, modified after an edit."""
    import shutil

    root = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT / "runner" / "agentbook", root / "runner" / "agentbook",
                    ignore=shutil.ignore_patterns("__pycache__", "_version.py"))
    (root / "pyproject.toml").write_text("[project]\nname = 'agentbook'\n")
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    probe = "from agentbook.version import version_info; import json; print(json.dumps(version_info().as_dict()))"
    env = {"PYTHONPATH": str(root / "runner"), "PATH": "/usr/bin:/bin"}

    def info() -> dict[str, object]:
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
        return dict(json.loads(out.stdout))

    sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert info() == {"version": __version__, "commit": sha, "modified": False, "source": "checkout"}
    (root / "pyproject.toml").write_text("[project]\nname = 'agentbook'  # edited\n")
    assert info()["modified"] is True
