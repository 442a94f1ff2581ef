"""Runbook validation: the JSON Schema and the cross-checks, each broken on purpose in a real repo
folder; every finding's line, rule and exact message is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentbook.catalog.validate import validate_paths

GOOD = """\
---
name: fix-it
description: Fix a prompt.
inputs:
  suite: {type: path, required: true, description: Eval suite}
skills: [local-skill]
tools: [read, bash]
limits: {max_turns: 10, max_usd: 1, timeout: 45m}
branch: agentbook/fix-it/{ticket.id}
---

## Run the suite

```check
agentbook eval run {inputs.suite}
```
"""

CASES = [
    ("missing-name", ("name: fix-it\n", ""),
     [(1, "schema", "missing required key 'name' in front-matter")]),
    ("unknown-key", ("branch:", "colour: red\nbranch:"),
     [(9, "schema", "unknown key 'colour' in front-matter")]),
    ("unknown-skill", ("[local-skill]", "[local-skill, no-such-skill]"),
     [(6, "skill-unknown", "skill 'no-such-skill' does not exist")]),
    ("undeclared-input", ("run {inputs.suite}", "run {inputs.suite} {inputs.model}"),
     [(15, "input-undeclared", "placeholder '{inputs.model}' is not a declared input")]),
    ("unknown-ticket-field", ("{ticket.id}", "{ticket.owner}"),
     [(9, "ticket-field", "placeholder '{ticket.owner}' is not a ticket field")]),
    ("unknown-tool", ("[read, bash]", "[read, bash, teleport]"),
     [(7, "tool-unknown", "unknown tool 'teleport'")]),
    ("tools-not-a-list", ("[read, bash]", "read"),
     [(7, "schema", "'tools' must be a list, got a string")]),
    ("no-steps", ("## Run the suite", "Run the suite"),
     [(11, "no-steps", "runbook has no steps")]),
    ("empty-gate", ("agentbook eval run {inputs.suite}\n", ""),
     [(14, "gate-empty", "gate in step 1 ('Run the suite') is empty")]),
    ("zero-turns", ("max_turns: 10", "max_turns: 0"),
     [(8, "limit-positive", "'limits.max_turns' must be positive, got 0")]),
    ("negative-usd", ("max_usd: 1", "max_usd: -2"),
     [(8, "limit-positive", "'limits.max_usd' must be positive, got -2")]),
    ("bad-timeout", ("timeout: 45m", "timeout: 45x"),
     [(8, "limit-positive", "'limits.timeout' must be positive, got '45x'")]),
    ("unknown-limit", ("max_usd: 1", "max_usd: 1, max_cost: 2"),
     [(8, "schema", "unknown key 'max_cost' in limits")]),
    ("branch-space", ("agentbook/fix-it/{ticket.id}", "agentbook/fix it/{ticket.id}"),
     [(9, "branch-ref", ("branch template 'agentbook/fix it/{ticket.id}' is not a valid git ref: "
                        "contains a space or control character"))]),
    ("branch-dotdot", ("agentbook/fix-it/{ticket.id}", "agentbook/../{ticket.id}"),
     [(9, "branch-ref", "branch template 'agentbook/../{ticket.id}' is not a valid git ref: contains '..'")]),
    ("name-differs-from-file", ("name: fix-it", "name: other"),
     [(2, "name-file", "name 'other' differs from the file name 'fix-it.md'")]),
    ("bad-name", ("name: fix-it", "name: Fix_It"),
     [(2, "name-file", "name 'Fix_It' differs from the file name 'fix-it.md'"),
      (2, "schema", "name 'Fix_It' must be lowercase a-z, 0-9 and single hyphens")]),
    ("bad-input-type", ("type: path", "type: directory"),
     [(5, "schema", ("'inputs.suite.type' must be one of string, path, integer, number, boolean, model, str, int, "
                    "float, bool, file; got 'directory'"))]),
    ("description-list", ("description: Fix a prompt.", "description: [Fix a prompt]"),
     [(3, "schema", "'description' must be a string, got a list")]),
    ("yaml-colon", ("description: Fix a prompt.", "description: Fix: a prompt"),
     [(3, "yaml-colon", "unquoted ': ' inside the value of 'description'")]),
    # the agent must be able to run what a gate runs, or it cannot check its step before the gate does
    ("gate-not-allowed", ("tools: [read, bash]\n", 'tools: [read, bash]\nbash: {allow: ["agentbook baseline *"]}\n'),
     [(16, "gate-not-allowed", ("the gate of step 1 runs `agentbook eval ...`, which the agent's bash may not run, "
                                "so it cannot check its work the way the gate will"))]),
    ("gate-allowed", ("tools: [read, bash]\n", 'tools: [read, bash]\nbash: {allow: ["agentbook eval *"]}\n'), []),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    skill = tmp_path / "skills" / "local-skill"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: local-skill\ndescription: A local skill.\n---\n# Local\n")
    (tmp_path / "runbooks").mkdir()
    return tmp_path


def test_good_runbook_is_clean(repo: Path) -> None:
    (repo / "runbooks" / "fix-it.md").write_text(GOOD)
    assert validate_paths([repo]) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_runbook_table(repo: Path, case: tuple[str, tuple[str, str], list[tuple[int, str, str]]]) -> None:
    _, (old, new), expected = case
    assert old in GOOD
    path = repo / "runbooks" / "fix-it.md"
    path.write_text(GOOD.replace(old, new, 1))
    findings = validate_paths([path])
    assert [(f.line, f.rule, f.message) for f in findings] == expected
    assert all(f.path == str(path) and f.hint for f in findings)


def test_skills_shipped_with_agentbook_count_as_known(repo: Path) -> None:
    """A runbook in any repo may name agentbook's own skills (from this source checkout)."""
    shipped = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "skills").iterdir()
                     if (p / "SKILL.md").is_file())
    if not shipped:
        pytest.skip("agentbook ships no skills yet")
    (repo / "runbooks" / "fix-it.md").write_text(GOOD.replace("[local-skill]", f"[local-skill, {shipped[0]}]"))
    assert validate_paths([repo]) == []


def test_skill_validated_in_the_same_run_counts_as_known(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "local-skill"
    other.mkdir(parents=True)
    (other / "SKILL.md").write_text("---\nname: local-skill\ndescription: d\n---\n")
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "fix-it.md").write_text(GOOD)
    assert validate_paths([tmp_path / "runbooks", other]) == []
