"""`eval run` with `javascript` assertions from inside agentbook's jail (a gate, the agent's bash), where
no nested jail can be made: node runs in the outer jail itself, and only there (`jail.inside()`).
Real gates (`run_gate`: bubblewrap, seccomp, limits) over recorded outputs, so no model is called."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentbook.evals.jsassert import problem
from agentbook.runbooks.gates import run_gate
from agentbook.session import jail
from agentbook.session.limits import Limits

WHY_NOT = problem()
needs_js = pytest.mark.skipif(WHY_NOT is not None, reason=f"javascript assertions cannot run here: {WHY_NOT}")
TOKEN = "sk-ant-test-0123456789"


def suite(root: Path, *asserts: str) -> Path:
    """A one-case suite in a git repository `root` whose assertions are the given YAML mappings."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "p.txt").write_text("Question: {{question}}")
    (root / "model.yaml").write_text("version: 1\nmodel: none\nsessions: []\ndefault: {turns: [{text: none}]}\n")
    (root / "check.js").write_text("module.exports = (output) => output.includes('db-2');\n")
    body = "".join(f"      - {a}\n" for a in asserts)
    (root / "suite.yaml").write_text(
        "prompts: [file://p.txt]\nproviders: [anthropic:messages:claude-haiku-4-5]\ntests:\n"
        f"  - id: only\n    vars: {{question: Why?}}\n    providerOutput: 'The disk on db-2 is full.'\n"
        f"    assert:\n{body}")
    return root / "suite.yaml"


def gate_report(suite_file: Path) -> tuple[int, dict[str, object], str]:
    """`agentbook eval run --json` as a runbook's gate runs it: in the jail, as the runner starts gates."""
    ran = run_gate("agentbook eval run suite.yaml --model scripted:model.yaml --no-cache --json --full", suite_file.parent, protected=[])
    start = ran.output.find("{")
    report = json.loads(ran.output[start:ran.output.rfind("}") + 1]) if start >= 0 else {}
    return ran.exit_code, report, ran.output


def asserts_of(report: dict[str, object]) -> list[dict[str, object]]:
    cases = report["cases"]
    assert isinstance(cases, list)
    return list(cases[0]["attempts"][0]["asserts"])


@needs_js
def test_a_gate_grades_javascript_in_its_own_jail(tmp_path: Path) -> None:
    code, report, output = gate_report(
        suite(tmp_path / "repo", "{type: javascript, value: \"output.includes('db-2')\"}",
              "{type: javascript, value: 'output.length < 5'}", "{type: javascript, value: 'file://check.js'}",
              "{type: not-javascript, value: 'file://check.js'}"))
    assert code == 1, output  # one assertion fails: the run is a failure, not an error (2)
    got = [(a["pass"], a["error"]) for a in asserts_of(report)]
    assert got == [(True, False), (False, False), (True, False), (False, False)], output


@needs_js
def test_in_the_gate_the_code_sees_no_token_no_network_and_a_deadline(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTBOOK_TEST_TOKEN", TOKEN)  # the runner holds a token; no gate may see it
    escape = "const p = this.constructor.constructor('return process')();\\n"
    steal = (escape + "const fs = p.mainModule.require('fs');\\nlet seen = JSON.stringify(p.env);\\n"
             "for (const f of ['/proc/1/environ', '/proc/' + p.ppid + '/environ']) {\\n"
             "  try { seen += fs.readFileSync(f, 'utf8'); } catch (e) {}\\n}\\n"
             "return {pass: false, reason: seen};")
    net = (escape + "const r = p.mainModule.require('child_process').spawnSync('/bin/bash', "
           "['-c', 'exec 3<>/dev/tcp/1.1.1.1/80 && echo connected'], {encoding: 'utf8'});\\n"
           "return {pass: false, reason: 'out:' + r.stdout + ' err:' + r.stderr};")
    code, report, output = gate_report(suite(tmp_path / "repo", f'{{type: javascript, value: "{steal}"}}',
                                             f'{{type: javascript, value: "{net}"}}',
                                             "{type: javascript, value: 'while (true) {}'}"))
    assert code == 2, output  # the loop is an error
    stolen, reached, looped = asserts_of(report)
    assert "PATH" in str(stolen["reason"]) and TOKEN not in output, output  # it ran, and found no token
    assert "connected" not in str(reached["reason"]) and "err:" in str(reached["reason"]), output
    assert looped["error"] and "timed out" in str(looped["reason"]), output


@needs_js
def test_a_jail_that_is_not_agentbooks_does_not_count_as_one(tmp_path: Path) -> None:
    """bubblewrap with no namespaces left and the same seccomp state but without the jail's mark: the
    assertion is refused, not run unconfined; the mark alone (a host's file, an environment) is no proof."""
    root = tmp_path / "repo"
    suite(root, "{type: javascript, value: 'true'}")
    probe = ("import json, sys\nfrom agentbook.session import jail\n"
             "from agentbook.cli import main\nprint('INSIDE', jail.inside())\n"
             "sys.exit(main(['eval', 'run', 'suite.yaml', '--model', 'scripted:model.yaml', '--no-cache', '--json', '--full']))\n")
    call = jail.prepare(root, Limits(), argv=[sys.executable, "-c", probe])
    argv = list(call.argv)
    at = next(i for i in range(len(argv)) if argv[i:i + 3] == ["--ro-bind", "/dev/null", jail.JAIL_MARK])
    del argv[at:at + 3]  # the same jail without its mark
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "HOME": str(root), "AGENTBOOK_JAIL": "1"}
    try:
        ran = subprocess.run(argv, pass_fds=call.pass_fds, capture_output=True, text=True, cwd=root, env=env,
                             check=False, timeout=120)
    finally:
        call.close()
    assert "INSIDE no sandbox mark" in ran.stdout, ran.stdout + ran.stderr
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "nor is this already inside agentbook's sandbox (no sandbox mark mounted" in ran.stdout, ran.stdout


@needs_js
@pytest.mark.skipif(os.geteuid() != 0, reason="bubblewrap keeps capabilities only for root")
def test_the_mark_without_the_jails_confinement_is_not_the_jail(tmp_path: Path) -> None:
    """The same jail with its mark but with capabilities kept: `inside()` says no."""
    call = jail.prepare(tmp_path, Limits(), argv=[sys.executable, "-c",
                                                  "from agentbook.session import jail; print(jail.inside())"])
    argv = list(call.argv)
    at = argv.index("--cap-drop")
    del argv[at:at + 2]
    try:
        ran = subprocess.run(argv, pass_fds=call.pass_fds, capture_output=True, text=True, cwd=tmp_path,
                             env={"PATH": os.environ["PATH"]}, check=False, timeout=120)
    finally:
        call.close()
    assert ran.stdout.startswith("a sandbox mark, but not the sandbox's confinement (CapEff 0"), ran.stdout + ran.stderr


def test_outside_the_jail_it_is_not_inside() -> None:
    assert jail.inside() == f"no sandbox mark mounted at {jail.JAIL_MARK}"
