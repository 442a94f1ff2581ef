"""promptfoo features agentbook meets halfway: `transform` is flagged by validate (run refuses it),
`$ref` assertions are listed by the type they point at, and `eval split` keeps `file://` paths that leave
the suite's folder pointing at the same files from the new folder."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentbook.evals.render import load_prompts
from agentbook.evals.store import open_suite

SUITE = """\
prompts: [file://../prompts/p.md]
assertionTemplates:
  mentions-disk: {type: icontains, value: disk}
tests:
  - id: with-ref
    vars: {q: x}
    assert:
      - $ref: '#/assertionTemplates/mentions-disk'
      - type: equals
        value: disk
        transform: output.trim()
  - id: dangling
    vars: {q: y}
    assert: [{$ref: '#/assertionTemplates/nope'}]
"""


def _suite(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # the repository bounds file:// paths
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.md").write_text("Q: {{q}}")
    (tmp_path / "evals").mkdir()
    path = tmp_path / "evals" / "suite.yaml"
    path.write_text(SUITE)
    return path


def test_validate_flags_transform(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    res = run_cli("validate", _suite(tmp_path), "--json")
    findings = [json.loads(line) for line in res.out.splitlines() if line.startswith("{")]
    flagged = [f for f in findings if f["rule"] == "eval-transform"]
    assert len(flagged) == 1 and flagged[0]["severity"] == "warning"
    assert "'equals' has `transform`" in flagged[0]["message"]


def test_list_names_the_type_a_ref_points_at(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    res = run_cli("eval", "list", _suite(tmp_path), "--json")
    asserts = {c["id"]: c["asserts"] for c in json.loads(res.out)["cases"]}
    assert asserts == {"with-ref": ["icontains", "equals"], "dangling": ["$ref"]}


def test_split_rewrites_paths_that_leave_the_folder(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    out = tmp_path / "evals" / "split" / "deeper"
    res = run_cli("eval", "split", suite, "--out", out)
    assert res.code == 0, res.err
    assert "prompts: [file://../../../prompts/p.md]" in (out / "suite.yaml").read_text()
    split = open_suite(out / "suite.yaml")
    (prompt,) = load_prompts(split.config(), split.base_dir)
    assert prompt.text == "Q: {{q}}"
    assert {c.id: c.asserts for c in split.list_cases()} == {"with-ref": ["icontains", "equals"], "dangling": ["$ref"]}
