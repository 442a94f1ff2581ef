"""The skills and runbooks we ship agree: every command a shipped skill tells an agent to run is
permitted by the bash allow-list of each shipped runbook that loads that skill.

Commands are the inline code spans of two or more words that start with a program name, and every
`sh`/`bash`/`shell` fenced block (as one script), in a skill's SKILL.md and its references (the parser
is `skill_forms.py`, shared with the scripted agents of test_skills_taught_forms.py). Runbooks run
under bubblewrap (the line goes to bash, each command in it must match); a plain command must also
pass without bubblewrap, where only single commands run.
"""

from __future__ import annotations

import re

import pytest
from tests.conftest import REPO_ROOT

from agentbook.catalog import load_catalog
from agentbook.session import allowlist

from .skill_forms import skill_commands, skill_grammar


def shipped_runbooks() -> list[tuple[str, list[str], list[str]]]:
    """(runbook, skills, bash allow-list) of each shipped runbook that offers bash."""
    catalog = load_catalog(REPO_ROOT)
    out = []
    for runbook in catalog.runbooks:
        front = runbook.front
        if "bash" not in (front.get("tools") or []):
            continue
        allow = (front.get("bash") or {}).get("allow")
        assert isinstance(allow, list), f"{runbook.name}: a shipped runbook lists its bash commands"
        out.append((runbook.name, [str(s) for s in front.get("skills") or []], [str(a) for a in allow]))
    return out


RUNBOOKS = shipped_runbooks()


def test_every_skill_teaches_commands_and_every_runbook_loads_skills() -> None:
    assert {name for name, _, _ in RUNBOOKS} >= {"fix-prompt", "add-eval", "consolidate-prompt", "analyze-backtest"}
    for skill in ("eval-tool", "debug-trace", "prompt-craft", "backtest-analysis"):
        assert skill_commands(REPO_ROOT / "skills" / skill), skill
    taught = [c for _, c in skill_commands(REPO_ROOT / "skills" / "eval-tool")]
    assert "agentbook eval add SUITE --file .agentbook/new-case.yaml" in taught
    assert any(c.startswith("agentbook eval add SUITE --file - <<'EOF'\n") for c in taught)


@pytest.mark.parametrize(("runbook", "skills", "allow"), RUNBOOKS, ids=[r[0] for r in RUNBOOKS])
def test_runbooks_permit_every_command_their_skills_teach(runbook: str, skills: list[str], allow: list[str]) -> None:
    refused = []
    for skill in skills:
        for where, command in skill_commands(REPO_ROOT / "skills" / skill):
            why = allowlist.check(command, allow, shell=True)
            if why is None and allowlist.parse(command.strip()).shell_syntax is None:
                why = allowlist.check(command, allow, shell=False)
            if why is not None:
                refused.append(f"{where}: {command!r}: {why}")
        for where, synopsis in skill_grammar(REPO_ROOT / "skills" / skill):  # the command tables, as plain words
            if (why := allowlist.check(synopsis, allow, shell=False)) is not None:
                refused.append(f"{where}: {synopsis!r}: {why}")
    assert not refused, f"runbook {runbook} refuses what its skills teach:\n" + "\n".join(refused)


def test_the_check_fails_for_a_runbook_that_forgets_a_command() -> None:
    """The test above can fail: fix-prompt's skills teach `agentbook baseline`."""
    allow = ["agentbook eval *", "agentbook trace *"]
    commands = [c for skill in ("eval-tool", "prompt-craft") for _, c in skill_commands(REPO_ROOT / "skills" / skill)]
    assert any(allowlist.check(c, allow, shell=True) for c in commands)


def test_what_a_runbook_tells_the_agent_to_read_is_loaded() -> None:
    """A runbook may send its agent to a skill it loads, never to another runbook's text: fix-prompt said
    "Follow the add-eval procedure", which its agent has not got and whose `agentbook runbooks show` its
    bash may not run."""
    catalog = load_catalog(REPO_ROOT)
    names = {r.name for r in catalog.runbooks}
    wrong = []
    for runbook in catalog.runbooks:
        loaded = {str(s) for s in runbook.front.get("skills") or []}
        text = " ".join(runbook.body.split())
        wrong += [f"{runbook.name}: skill {m!r} is not in its skills:" for m in
                  re.findall(r"skills? `([a-z0-9-]+)`", text) if m not in loaded]
        wrong += [f"{runbook.name}: {m.group(0)!r}" for m in
                  re.finditer(r"\b([a-z0-9-]+) (procedure|runbook's steps)\b", text) if m.group(1) in names]
    assert not wrong, "\n".join(wrong)
