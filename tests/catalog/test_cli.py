"""The catalog commands end to end through `agentbook.cli.main`: validate, skills, runbooks."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GOOD = "---\nname: {name}\ndescription: {desc}\n---\n# {name}\n\n## Use\n\nDo it.\n"
RUNBOOK = ("---\nname: triage\ndescription: Triage a failing eval.\nskills: [alpha]\n---\n\nIntro.\n\n"
           "## Look\n\nRead the suite.\n\n```check\ntrue\n```\n\n## Fix\n\nChange it.\n")


def skill(base: Path, name: str, desc: str = "Does a thing.", text: str | None = None) -> Path:
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(text if text is not None else GOOD.format(name=name, desc=desc))
    return folder


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    skill(tmp_path / "skills", "alpha", "First skill.")
    skill(tmp_path / "skills", "beta", "Second skill, with a long description " + "word " * 40)
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "triage.md").write_text(RUNBOOK)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- validate ------------------------------------------------------------------------------------

def test_validate_clean_repo(run_cli, repo: Path) -> None:
    res = run_cli("validate")
    assert (res.code, res.out) == (0, "checked 2 skills, 1 runbook, 0 eval suites: 0 errors, 0 warnings\n")


def test_validate_json_on_a_folder_of_broken_skills(run_cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    skill(broken, "colon", text="---\nname: colon\ndescription: Use when: asked\n---\n")
    skill(broken, "Upper", text="---\nname: Upper\ndescription: d\n---\n")
    skill(broken, "dup", text="---\nname: dup\nname: dup\ndescription: d\n---\n")
    res = run_cli("validate", "--json", broken)
    assert res.code == 1
    rows = [json.loads(line) for line in res.out.splitlines()]
    assert [(Path(r["path"]).parent.name, r["line"], r["col"], r["rule"]) for r in rows] == [
        ("Upper", 2, 7, "name-case"), ("colon", 3, 22, "yaml-colon"), ("dup", 3, 1, "yaml-duplicate-key")]
    assert set(rows[0]) == {"path", "line", "col", "rule", "message", "hint", "severity"}


def test_validate_human_output_is_bounded(run_cli, tmp_path: Path) -> None:
    for i in range(60):
        skill(tmp_path / "many", f"s{i}", text=f"---\nname: s{i}\n---\n")
    res = run_cli("validate", tmp_path / "many")
    lines = res.out.splitlines()
    assert res.code == 1 and len(lines) == 42
    assert lines[-2] == "[... 20 more findings: run with --json for all, or validate fewer paths]"
    assert lines[-1] == "checked 60 skills, 0 runbooks, 0 eval suites: 60 errors, 0 warnings"
    assert len(run_cli("validate", "--json", tmp_path / "many").out.splitlines()) == 60


def test_strict_makes_warnings_fail(run_cli, tmp_path: Path) -> None:
    folder = skill(tmp_path, "linky", text=GOOD.format(name="linky", desc="d") + "[gone](gone.md)\n")
    assert run_cli("validate", folder).code == 0
    res = run_cli("validate", "--strict", folder)
    assert res.code == 1
    assert "warning[broken-link]: link 'gone.md' points to a file that does not exist" in res.out


def test_profiles_and_usage_errors(run_cli, tmp_path: Path) -> None:
    folder = skill(tmp_path, "claude-helper", text="---\nname: claude-helper\ndescription: d\n---\n")
    assert run_cli("validate", folder).code == 0
    res = run_cli("validate", "--profile", "anthropic", folder)
    assert res.code == 1 and "error[name-reserved]" in res.out
    bad = run_cli("validate", "--profile", "nope", folder)
    assert bad.code == 2 and "Invalid value for '--profile'" in bad.err


def test_missing_path_is_a_finding(run_cli, tmp_path: Path) -> None:
    res = run_cli("validate", tmp_path / "nope")
    assert res.code == 1
    assert res.out.startswith(f"{tmp_path / 'nope'}:1:1: error[path-missing]: path does not exist")


def _reader(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until(lines: queue.Queue[str], predicate, timeout: float = 90.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if predicate(line):
            return seen
    raise AssertionError(f"timed out; saw {seen}")


def test_watch_reports_only_what_changed(tmp_path: Path) -> None:
    folder = skill(tmp_path / "skills", "alpha")
    # Ctrl-C as in a terminal: a test run started in the background inherits SIGINT ignored, and a
    # Python started with it ignored never raises KeyboardInterrupt. A handler (not SIG_IGN) here
    # becomes the default in the child at exec.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "agentbook", "validate", "--watch", str(tmp_path / "skills")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        lines = _reader(proc)
        first = _until(lines, lambda s: s.startswith("checked"))
        assert first == ["checked 1 skill, 0 runbooks, 0 eval suites: 0 errors, 0 warnings"]
        time.sleep(0.3)  # let the observer settle before the save
        (folder / "SKILL.md").write_text("---\nname: alpha\ndescription: Use when: asked\n---\n")
        broke = _until(lines, lambda s: s.startswith("checked"))
        assert broke == [(f"{folder / 'SKILL.md'}:3:22: error[yaml-colon]: unquoted ': ' inside the value of "
                         "'description' (quote values that contain ': ', e.g. description: \"Use when: asked\")"),
                         "checked 1 skill, 0 runbooks, 0 eval suites: 1 error, 0 warnings"]
        (folder / "SKILL.md").write_text(GOOD.format(name="alpha", desc="Fixed."))
        fixed = _until(lines, lambda s: s.startswith("checked"))
        assert fixed[0].startswith("fixed: ") and "yaml-colon" in fixed[0]
        assert fixed[1] == "checked 1 skill, 0 runbooks, 0 eval suites: 0 errors, 0 warnings"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0


# ---- skills and runbooks -------------------------------------------------------------------------

def test_skills_list_and_json(run_cli, repo: Path) -> None:
    res = run_cli("skills", "list", "--json")
    data = json.loads(res.out)
    mine = [(s["name"], s["source"], s["path"]) for s in data["skills"] if s["source"] == "repo"]
    assert mine == [("alpha", "repo", str(repo / "skills/alpha/SKILL.md")),
                    ("beta", "repo", str(repo / "skills/beta/SKILL.md"))]
    text = run_cli("skills", "list").out.splitlines()
    assert text[0].split() == ["alpha", "repo", "First", "skill."]
    assert text[1].strip() == "skills/alpha/SKILL.md"
    assert text[2].endswith("...") and len(text[2].split("  ")[-1].strip()) == 80


def test_repo_skill_overrides_shipped_one_in_list(run_cli, repo: Path) -> None:
    shipped = sorted(p.parent.name for p in (REPO_ROOT / "skills").glob("*/SKILL.md"))
    if not shipped:
        pytest.skip("agentbook ships no skills yet")
    name = shipped[0]
    skill(repo / "skills", name, "Our own version.")
    data = json.loads(run_cli("skills", "list", "--json").out)
    entry = next(s for s in data["skills"] if s["name"] == name)
    assert (entry["source"], entry["shadows"]) == ("repo", str(REPO_ROOT / "skills" / name / "SKILL.md"))
    assert f"{name}" in run_cli("skills", "list").out and "repo (overrides agentbook)" in run_cli("skills", "list").out


def test_skills_show_outline_and_full(run_cli, repo: Path) -> None:
    res = run_cli("skills", "show", "alpha")
    assert res.code == 0
    assert res.out.splitlines()[:3] == [f"# alpha  (repo: {repo / 'skills/alpha/SKILL.md'})", "name: alpha",
                                        "description: First skill."]
    assert "outline:\n# alpha\n## Use\n(body not shown: use --full)" in res.out
    assert "Do it." not in res.out
    assert "Do it." in run_cli("skills", "show", "alpha", "--full").out
    missing = run_cli("skills", "show", "nope")
    assert missing.code == 3 and "no skill named 'nope'" in missing.err


def test_runbooks_list_and_show(run_cli, repo: Path) -> None:
    listed = json.loads(run_cli("runbooks", "list", "--json").out)
    (mine,) = [r for r in listed["runbooks"] if r["source"] == "repo"]
    assert (mine["name"], mine["steps"], len(mine["blob_sha"])) == ("triage", 2, 40)
    shown = run_cli("runbooks", "show", "triage").out
    assert "steps:\n1. Look  (line 9)\n     check: true\n2. Fix  (line 17)\n(body not shown: use --full)" in shown
    assert "Read the suite." not in shown
    full = run_cli("runbooks", "show", "triage", "--full").out
    assert "Intro.\n\n## Look\n\nRead the suite." in full
    data = json.loads(run_cli("runbooks", "show", "triage", "--json").out)
    assert data["steps"][0] == {"index": 1, "title": "Look", "line": 9, "gates": [{"command": "true", "line": 13}]}


def test_list_reports_skipped_files(run_cli, repo: Path) -> None:
    skill(repo / "skills", "broken", text="---\nname: broken\n---\n")
    res = run_cli("skills", "list")
    assert f"note: {repo / 'skills/broken/SKILL.md'}: skipped: no description in the front-matter" in res.out


def test_agentbooks_own_catalog_validates_clean(run_cli) -> None:
    # `agentbook demo` now runs the fix-prompt workflow (tests/runbooks/test_demo.py); what it used to
    # show, agentbook's own skills and runbooks validating, is checked here.
    res = run_cli("validate", "--profile", "anthropic", REPO_ROOT / "skills", REPO_ROOT / "runbooks", "--json")
    assert res.code == 0, res.out


def test_skills_show_of_a_folder_that_is_a_checkout_names_50_files_and_no_git_data(run_cli, tmp_path: Path) -> None:
    """`skills show` listed a skill's folder by walking all of it (rglob): a folder that is a checkout's
    top was walked whole, git data included, and cut at 600 characters without saying how to see the rest."""
    skill = tmp_path / "skills" / "big"
    (skill / ".git" / "objects").mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: big\ndescription: A skill in a checkout.\n---\nBody.\n")
    for n in range(80):
        (skill / ".git" / "objects" / f"{n:02d}").write_text("x")
        (skill / f"f{n:02d}.md").write_text("x")
    shown = run_cli("skills", "show", "big", "--repo", str(tmp_path))
    files = next(line for line in shown.out.splitlines() if line.startswith("files: "))
    assert files.startswith("files: SKILL.md, f00.md, f01.md") and ".git" not in files
    assert files.endswith(" and more (--json lists them all)"), files
    listed = json.loads(run_cli("skills", "show", "big", "--repo", str(tmp_path), "--json").out)["files"]
    assert listed == ["SKILL.md", *(f"f{n:02d}.md" for n in range(80))]
