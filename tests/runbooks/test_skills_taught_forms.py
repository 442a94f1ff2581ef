"""A scripted agent that uses every command form the shipped skills teach completes each shipped runbook.

For each shipped runbook, `taught/NAME.yaml` is an agent working the runbook's example ticket with
the commands its skills show (pipes, a here-document, `--json`, the flags of the command tables),
and `taught/NAME.test.yaml` says what the run must leave behind. The run is real: `agentbook run`'s
executor on a fresh git repository of the example system, bash in the bubblewrap sandbox, gates
calling the real `agentbook`. Every bash call must run: not refused by the runbook's allow-list, and
accepted by the CLI (exit 0, or 1 for a verdict such as a failing case; 2 is a usage error, 3 bad
input). Together the scripts must use every form (`skill_forms.py`) of every skill a shipped runbook
loads, so a skill that starts teaching a new command or flag fails here until an agent has run it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
from tests.conftest import REPO_ROOT

from agentbook import yamlsafe
from agentbook.catalog import load_catalog
from agentbook.session import allowlist
from agentbook.workflows import runbook_test as rt

from .skill_forms import line_forms, taught_forms

TAUGHT = REPO_ROOT / "tests" / "runbooks" / "taught"
RUNBOOKS = ["add-eval", "fix-prompt", "consolidate-prompt", "analyze-backtest"]
EXIT = re.compile(r"\[exit code (\d+)\]\s*\Z")


def _front(name: str) -> dict[str, Any]:
    (runbook,) = [r for r in load_catalog(REPO_ROOT).runbooks if r.name == name]
    return dict(runbook.front)


def scripted_commands(name: str) -> list[str]:
    """The bash command lines of the scripted agent for runbook `name`, in order."""
    script = yamlsafe.load((TAUGHT / f"{name}.yaml").read_bytes(), f"{name}.yaml")
    out = []
    for session in script["sessions"]:
        for turn in session["turns"]:
            call = turn.get("tool_use") or {}
            if call.get("name") == "bash":
                out.append(str(call["input"]["command"]))
    return out


def test_every_shipped_runbook_has_a_taught_forms_agent() -> None:
    shipped = {r.name for r in load_catalog(REPO_ROOT).runbooks if r.path.is_relative_to(REPO_ROOT / "runbooks")}
    assert shipped == set(RUNBOOKS)
    for name in RUNBOOKS:
        assert (TAUGHT / f"{name}.yaml").is_file() and (TAUGHT / f"{name}.test.yaml").is_file(), name


def _covered(form: str, used: set[str]) -> bool:
    """A form is used as written; a bare group (`agentbook eval`) by any command of the group."""
    return form in used or any(u.startswith(form + " ") for u in used if " | " not in u)


def test_the_scripts_use_every_form_their_runbooks_skills_teach() -> None:
    used: set[str] = set()
    for name in RUNBOOKS:
        for line in scripted_commands(name):
            used |= line_forms(line)
    missing = [f"{form!r} (taught at {where}, skill {skill}, loaded by {name})"
               for name in RUNBOOKS for skill in _front(name).get("skills") or []
               for form, where in taught_forms(str(skill)).items() if not _covered(form, used)]
    assert not missing, "no scripted agent runs these taught forms:\n" + "\n".join(sorted(set(missing)))


def test_the_coverage_check_can_fail() -> None:
    """A form no script uses is found: the here-document the eval-tool skill teaches is one form."""
    taught = taught_forms("eval-tool")
    assert "agentbook eval add <<here-document" in taught and "agentbook eval add --file" in taught
    assert "grep | cut" in taught_forms("debug-trace") and "sort -k" in taught_forms("debug-trace")
    assert "agentbook eval add <<here-document" not in line_forms("agentbook eval add S --file case.yaml")
    assert "--repeat" in (_cli_options(["agentbook", "eval", "run"]) or set())
    assert _cli_options(["agentbook", "eval", "rerun"]) is None


def _cli_options(path: list[str]) -> set[str] | None:
    """The option strings of `agentbook SUB...`, or None when that is not a command of the CLI."""
    from agentbook.cli import cli

    node: click.Command = cli
    for word in path[1:]:
        if not isinstance(node, click.Group) or (sub := node.get_command(click.Context(node), word)) is None:
            return None
        node = sub
    return {opt for param in node.params for opt in (*param.opts, *param.secondary_opts)}


def test_every_taught_agentbook_flag_is_an_option_of_its_command() -> None:
    """The CLI accepts what the skills teach, statically (the runs below prove it by running)."""
    wrong = []
    for skill in sorted(p.parent.name for p in (REPO_ROOT / "skills").glob("*/SKILL.md")):
        for form, where in taught_forms(skill).items():
            words = form.split()
            if words[0] != "agentbook" or "|" in words or words[-1] == "<<here-document":
                continue
            flag = words[-1] if words[-1].startswith("-") else None
            path = words[:-1] if flag else words
            options = _cli_options(path)
            if options is None or (flag not in (None, "-") and flag not in options):
                wrong.append(f"{where}: {form!r}")
    assert not wrong, "skills teach what the CLI does not have:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", RUNBOOKS)
def test_each_scripted_command_passes_its_runbooks_allow_list(name: str) -> None:
    allow = [str(a) for a in (_front(name).get("bash") or {}).get("allow") or []]
    refused = [f"{line!r}: {why}" for line in scripted_commands(name)
               if (why := allowlist.check(line, allow, shell=True)) is not None]
    assert not refused, "\n".join(refused)


def _events(run: dict[str, Any]) -> list[dict[str, Any]]:
    transcript = Path(run["run_dir"]) / "transcript.jsonl"
    return [json.loads(line) for line in transcript.read_text().splitlines() if line.strip()]


def _bash_calls(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in _events(run) if e.get("event") == "tool" and e.get("name") == "bash"]


@pytest.mark.slow
@pytest.mark.parametrize("name", RUNBOOKS)
def test_the_runbook_completes_with_the_taught_forms(name: str, tmp_path: Path) -> None:
    result = rt.run_test(rt.load_spec(TAUGHT / f"{name}.test.yaml"), tmp_path)
    failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.ok]
    assert not failed, "\n".join(failed)
    assert {"outcome", "branch", "commit count"} <= {c.name for c in result.checks}
    calls = _bash_calls(result.run)
    assert [c["input"]["command"] for c in calls] == scripted_commands(name), "the agent's bash calls did not all run"
    broken = []
    for call in calls:
        status = EXIT.search(call["content"])
        code = int(status.group(1)) if status else None
        if call["content"].startswith("error:") or call.get("denied") or code not in (0, 1):
            broken.append(f"{call['input']['command']!r}:\n{call['content'][-600:]}")
    assert not broken, "taught commands that did not run:\n" + "\n\n".join(broken)
    if name == "fix-prompt":  # its first prompt change fails the check: the feedback shows the model's answer
        feedback = [e["text"] for e in _events(result.run) if e.get("event") == "user"
                    and str(e.get("text", "")).startswith("The checks for step 3/6 failed")]
        assert len(feedback) == 1 and 'answered (attempt 1): "{service_name=\\"checkout\\"} |= \\"error\\""' \
            in feedback[0], feedback
