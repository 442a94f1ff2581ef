"""Placeholders, gate quoting and the prompts the agent sees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentbook.errors import FatalError
from agentbook.runbooks.render import RenderedStep, fill, shell_quote, step_message, without_gates

VALUES = {"inputs": {"suite": "evals/a.yaml", "behaviour": "say 'hi'; rm -rf /"}, "ticket": {"id": "7"},
          "runbook": {"name": "rb"}}


def test_fill_leaves_other_braces_alone() -> None:
    text = 'Run {inputs.suite} for {ticket.id}: {"json": {inputs}} {unknown.x}'
    assert fill(text, VALUES, where="rb.md") == 'Run evals/a.yaml for 7: {"json": {inputs}} {unknown.x}'


def test_unknown_placeholder_points_at_its_line() -> None:
    with pytest.raises(FatalError) as exc:
        fill("line one\nuse {inputs.sweet}\n", VALUES, where="runbooks/rb.md", line=10)
    assert str(exc.value) == ("runbooks/rb.md:11: unknown placeholder {inputs.sweet} "
                              "(known: {inputs.behaviour}, {inputs.suite})")


def test_gate_placeholders_are_one_shell_word() -> None:
    gate = fill("echo {inputs.behaviour}", VALUES, where="rb.md", quote=shell_quote)
    out = subprocess.run(["bash", "-c", gate], capture_output=True, text=True, check=True).stdout
    assert out == "say 'hi'; rm -rf /\n"


def test_step_text_lists_gates_once() -> None:
    body = "Do it.\n\n```check\ntest -f a\n```\n\n```sh\necho example\n```"
    step = RenderedStep(2, 3, "Build", without_gates(body), ["test -f a"])
    assert step_message(step, None) == ("# Step 2/3: Build\n\nDo it.\n\n```sh\necho example\n```\n\n"
                                        "Checks after this step:\n- `test -f a`\n")


def test_unknown_placeholder_in_a_runbook_stops_the_run(run_cli, runner_repo: Path) -> None:
    rb = runner_repo / "runbooks" / "typo.md"
    rb.write_text("---\nname: typo\ndescription: A typo.\n---\n## One\nRead {inputs.nope}.\n")
    subprocess.run(["git", "add", "-A"], cwd=runner_repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "typo"], cwd=runner_repo, check=True)
    r = run_cli("run", "typo", "--repo", runner_repo, "--model", "scripted:/nonexistent.yaml")
    assert r.code == 3
    assert f"{rb}:6: unknown placeholder {{inputs.nope}} (known: none)" in r.err
