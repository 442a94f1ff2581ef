"""parse_runbook: steps from `##` headings, gates from ```check fences, git blob sha, line numbers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentbook.catalog import parse_runbook
from agentbook.errors import FatalError

RUNBOOK = """\
---
name: fix-prompt
description: Make a prompt satisfy a new behaviour.
inputs:
  suite: {type: path, required: true, description: Eval suite}
---

Read the ticket first.

## Read the suite

Run it once.

```check
agentbook eval run {inputs.suite}
```

## Change the prompt

```sh
## a comment in a code block, not a step
```

```check
git diff --quiet || true
```
"""


def test_steps_gates_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "fix-prompt.md"
    path.write_text(RUNBOOK)
    rb = parse_runbook(path)
    assert rb.name == "fix-prompt"
    assert rb.front["inputs"]["suite"]["required"] is True
    assert rb.intro == "Read the ticket first."
    assert [(s.index, s.title, s.line) for s in rb.steps] == [(1, "Read the suite", 10), (2, "Change the prompt", 18)]
    assert [(g.command, g.line) for g in rb.steps[0].gates] == [("agentbook eval run {inputs.suite}", 14)]
    assert [(g.command, g.line) for g in rb.steps[1].gates] == [("git diff --quiet || true", 24)]
    assert rb.steps[1].body.startswith("```sh\n## a comment")
    assert rb.body.startswith("\nRead the ticket first.")


def test_blob_sha_is_what_git_says(tmp_path: Path) -> None:
    path = tmp_path / "fix-prompt.md"
    path.write_text(RUNBOOK)
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert parse_runbook(path).blob_sha == expected


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "triage.md"
    path.write_text("---\ndescription: d\n---\n## Only step\n")
    rb = parse_runbook(path)
    assert (rb.name, len(rb.steps), rb.steps[0].gates) == ("triage", 1, [])


def test_broken_front_matter_is_a_fatal_error_with_location(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\nname: bad\ndescription: Use when: asked\n---\n## Step\n")
    with pytest.raises(FatalError) as info:
        parse_runbook(path)
    assert info.value.location == f"{path}:3:22"
    assert info.value.message == "runbook cannot be read: unquoted ': ' inside the value of 'description'"
    assert info.value.hint == "quote values that contain ': ', e.g. description: \"Use when: asked\""


def test_missing_file_is_a_fatal_error(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="cannot read file"):
        parse_runbook(tmp_path / "nope.md")
