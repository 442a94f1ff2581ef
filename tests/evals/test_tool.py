"""The `eval` tool in agent sessions: direct calls, protected paths, and a real session driving it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agentbook.evals.tool  # noqa: F401  (registers the tool)
from agentbook.evals.store import open_suite
from agentbook.session import SessionConfig, run_session
from agentbook.session.config import Budgets
from agentbook.session.tools import ToolContext, get_tools, tool_spec

SCRIPTS = Path(__file__).parent / "fixtures" / "scripts"


def call(root: Path, protected: list[str] | None = None, **args: Any) -> Any:
    (tool,) = get_tools(["eval"])
    return asyncio.run(tool.run(args, ToolContext(root=root, protected=protected or [])))  # type: ignore[arg-type]


def test_tool_lists_shows_and_edits(suite_copy: Callable[[str], Path]) -> None:
    root = suite_copy("split")
    (tool,) = get_tools(["eval"])
    assert tool_spec(tool)["input_schema"]["required"] == ["command", "suite"] and not tool.read_only
    listed = json.loads(call(root, command="list", suite="suite.yaml", filter="assert=regex").content)
    assert [c["id"] for c in listed["cases"]] == ["auth-expired"]
    field = json.loads(call(root, command="show", suite="suite.yaml", id="auth-expired", field="vars.question",
                            range="0:9").content)
    assert field["text"] == "Why can n" and field["size"] == 22
    result = call(root, command="edit", suite="suite.yaml", id="auth-expired", set={"assert[0].value": "key"})
    assert not result.is_error and result.changed == ["cases/auth-expired.yaml"]
    assert open_suite(root / "suite.yaml").get_case("auth-expired")["assert"][0]["value"] == "key"


def test_tool_respects_protected_cases_and_the_root(suite_copy: Callable[[str], Path]) -> None:
    root = suite_copy("split")
    before = (root / "cases" / "auth-expired.yaml").read_text()
    refused = call(root, protected=["cases/*.yaml"], command="edit", suite="suite.yaml", id="auth-expired",
                   set={"min_pass": 1})
    assert refused.is_error and refused.denied == {"tool": "eval", "path": "cases/auth-expired.yaml",
                                                   "rule": "cases/*.yaml"}
    assert (root / "cases" / "auth-expired.yaml").read_text() == before
    reading = call(root, protected=["cases/*.yaml"], command="show", suite="suite.yaml", id="auth-expired")
    assert not reading.is_error
    outside = call(root, command="list", suite="../elsewhere.yaml")
    assert outside.is_error and outside.content.startswith("error: ")
    unknown = call(root, command="show", suite="suite.yaml", id="nope")
    assert unknown.is_error and "unknown case id 'nope'" in unknown.content


def test_tool_runs_cases(suite_copy: Callable[[str], Path]) -> None:
    root = suite_copy("split")
    script = root / "triage.script.yaml"  # a scripted model the tool may use must lie inside the root
    script.write_bytes((SCRIPTS / "triage.script.yaml").read_bytes())
    out = json.loads(call(root, command="run", suite="suite.yaml", cases=["cache-stampede"],
                          model=f"scripted:{script}").content)
    assert out["exit_code"] == 0 and out["summary"]["passed"] == 1 and out["cases"] == []  # `eval run --json`'s view
    outside = call(root, command="run", suite="suite.yaml", cases=["cache-stampede"],
                   model=f"scripted:{SCRIPTS / 'triage.script.yaml'}")
    assert outside.is_error and "is outside the session root" in outside.content


def test_a_session_agent_edits_a_case_through_the_tool(suite_copy: Callable[[str], Path], tmp_path: Path) -> None:
    root = suite_copy("single")
    script = tmp_path / "agent.script.yaml"
    script.write_text(
        "version: 1\nmodel: scripted-agent\nsessions:\n  - name: fix\n    match: {first_user: 'expected output'}\n"
        "    turns:\n      - tool_use: {name: eval, input: {command: edit, suite: promptfooconfig.yaml,"
        " id: checkout-timeout, set: {'assert[0].value': 'payments-api'}}}\n      - text: Done.\n")
    config = SessionConfig(model=f"scripted:{script}", root=root, tools=["eval"], budgets=Budgets(max_turns=4))
    result = asyncio.run(run_session(config, "Change the expected output of checkout-timeout to payments-api."))
    assert result.outcome.ok, result.outcome
    assert open_suite(root).get_case("checkout-timeout")["assert"][0]["value"] == "payments-api"
    assert "promptfooconfig.yaml" in result.files_changed


def test_tool_shows_what_a_case_inherits_from_default_test(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(
        "prompts: ['{{q}}']\ndefaultTest:\n  vars: {tone: dry, q: default}\n  assert: [{type: not-icontains, value: AI}]\n"
        "tests:\n  - id: a\n    vars: {q: hello}\n    assert: [{type: icontains, value: hello}]\n")
    listed = json.loads(call(tmp_path, command="list", suite="suite.yaml").content)
    assert listed["cases"][0]["asserts"] == ["not-icontains", "icontains"]
    assert listed["cases"][0]["inherited"] == ["not-icontains"]
    shown = json.loads(call(tmp_path, command="show", suite="suite.yaml", id="a").content)
    assert shown["case"] == {"id": "a", "vars": {"q": "hello"}, "assert": [{"type": "icontains", "value": "hello"}]}
    assert shown["inherited"] == {"vars": {"tone": "dry"}, "assert": [{"type": "not-icontains", "value": "AI"}]}
