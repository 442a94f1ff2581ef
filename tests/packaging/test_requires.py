"""`requires:` in a runbook's front-matter: checked by `validate` (a finding at its line) and by `run`
(exit 3 before a branch, a run record or a model call), with a message naming both versions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agentbook import __version__
from agentbook.errors import FatalError
from agentbook.version import requires_problem

RUNBOOK = """---
name: notes
description: Write notes about a topic.
inputs:
  topic: {{type: string, required: true, description: What the notes are about}}
tools: [read, write]
requires: "{requires}"
branch: "agentbook/notes/{{ticket.id}}"
---
## Write the notes

Write notes/{{inputs.topic}}.md.

```check
test -f notes/{{inputs.topic}}.md
```
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("spec", [">=0.1", "agentbook >= 0.1.0", "AgentBook>=0.0.1,<1000", f"=={__version__}",
                                  "~=0.1", ">0.0.9", "agentbook"])
def test_satisfied(spec: str) -> None:
    assert requires_problem(spec) is None


@pytest.mark.parametrize("spec, version, problem", [
    (">=99", __version__, f"needs agentbook >=99, but this is agentbook {__version__}"),
    ("agentbook >= 0.2, < 1", "0.1.5", "needs agentbook <1,>=0.2, but this is agentbook 0.1.5"),
    ("<0.1", "0.1.0", "needs agentbook <0.1, but this is agentbook 0.1.0"),
])
def test_unsatisfied(spec: str, version: str, problem: str) -> None:
    assert requires_problem(spec, version) == problem


def test_prereleases_are_ordered_as_pep_440_says() -> None:
    """A pre-release past the floor satisfies it (specifiers alone would refuse every pre-release);
    one of the floor's own release comes before it, so it does not."""
    assert requires_problem(">=0.1", "0.2.0rc1") is None
    assert requires_problem(">=0.2", "0.2.0.dev3") == "needs agentbook >=0.2, but this is agentbook 0.2.0.dev3"


@pytest.mark.parametrize("spec, message", [
    ("=> 0.1", "'requires' is not a version specifier: '=> 0.1'"),
    ("numpy >= 1", "'requires' names 'numpy', not agentbook"),
    ("agentbook >= banana", "'requires' is not a version specifier"),
    ("", "'requires' must be a version specifier"),
])
def test_unreadable(spec: str, message: str) -> None:
    with pytest.raises(FatalError) as caught:
        requires_problem(spec)
    assert message in caught.value.message


def write_runbook(root: Path, requires: str) -> Path:
    path = root / "runbooks" / "notes.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RUNBOOK.format(requires=requires))
    return path


def test_validate_reports_a_runbook_for_a_newer_agentbook(run_cli, tmp_path: Path) -> None:
    path = write_runbook(tmp_path, "agentbook >= 99.0")
    result = run_cli("validate", path, "--json")
    assert result.code == 1, result.err
    findings = [json.loads(line) for line in result.out.splitlines() if line.startswith("{")]
    found = [f for f in findings if f.get("rule") == "requires-version"]
    assert len(found) == 1, findings
    assert found[0]["line"] == 7 and found[0]["col"] == 11
    assert found[0]["message"] == f"this runbook needs agentbook >=99.0, but this is agentbook {__version__}"
    assert "agentbook --version" in found[0]["hint"]


def test_validate_reports_an_unreadable_specifier_and_passes_a_satisfied_one(run_cli, tmp_path: Path) -> None:
    path = write_runbook(tmp_path, ">> 1")
    bad = run_cli("validate", path)
    assert bad.code == 1
    assert "notes.md:7:11: error[requires-invalid]: 'requires' is not a version specifier: '>> 1'" in bad.out
    write_runbook(tmp_path, f"agentbook >= {__version__}")
    good = run_cli("validate", path)
    assert good.code == 0, good.out


def test_a_wrong_type_is_a_schema_finding(run_cli, tmp_path: Path) -> None:
    path = write_runbook(tmp_path, "x")
    path.write_text(path.read_text().replace('requires: "x"', "requires: 2"))
    result = run_cli("validate", path)
    assert result.code == 1
    assert "'requires' must be a string, got" in result.out


def test_run_refuses_before_anything_starts(run_cli, git_repo: Path) -> None:
    write_runbook(git_repo, ">=99")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "runbook")
    result = run_cli("run", "notes", "--input", "topic=x", "--repo", git_repo,
                     "--model", "scripted:/nonexistent/never-loaded.script.yaml")
    assert result.code == 3, result.err
    assert (f"runbooks/notes.md:7:11: this runbook needs agentbook >=99, but this is agentbook {__version__}"
            in result.err)
    assert "Traceback" not in result.err
    assert git(git_repo, "branch", "--list", "agentbook/*") == ""
    assert not (git_repo / ".agentbook" / "runs").exists()


def test_requires_comes_before_keys_this_version_does_not_know(run_cli, git_repo: Path) -> None:
    """A runbook written for a newer agentbook may use a key this one lacks: the version is the news."""
    path = write_runbook(git_repo, ">=99")
    path.write_text(path.read_text().replace("tools: [read, write]\n", "tools: [read, write]\nfuture_key: 1\n"))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "runbook")
    result = run_cli("run", "notes", "--input", "topic=x", "--repo", git_repo,
                     "--model", "scripted:/nonexistent/never-loaded.script.yaml")
    assert result.code == 3
    assert "needs agentbook >=99" in result.err and "future_key" not in result.err


def test_the_shipped_runbooks_declare_what_they_need() -> None:
    root = Path(__file__).resolve().parents[2] / "runbooks"
    for path in sorted(root.glob("*.md")):
        front = path.read_text().split("\n---\n", 1)[0]
        assert '\nrequires: "agentbook >= ' in front, path
