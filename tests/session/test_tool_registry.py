"""One tool registry (`agentbook.tools`): the names live in one list, built-in tools load the way
plugins do, and the packages form a downward graph (the session imports neither the eval nor the
runbook package; the catalog learns the names without importing the session)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

from agentbook import tools
from agentbook.session.tools import ToolResult, get_tools, register_tool

SESSION = REPO_ROOT / "runner" / "agentbook" / "session"


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_every_listed_tool_builds_under_its_name() -> None:
    built = get_tools(list(tools.BUILTIN))
    assert [t.name for t in built] == list(tools.BUILTIN)
    assert set(tools.BUILTIN) <= tools.tool_names()


def test_the_session_package_names_no_package_above_it() -> None:
    for path in sorted(SESSION.rglob("*.py")):
        text = path.read_text()
        for upper in ("agentbook.evals", "agentbook.runbooks", "agentbook.catalog", "agentbook.workflows"):
            assert upper not in text, f"{path.relative_to(REPO_ROOT)} names {upper}"


def test_names_are_known_without_importing_a_tool() -> None:
    out = _fresh("import sys; from agentbook.catalog.runbook_rules import tool_names;"
                 "print(sorted(tool_names()));"
                 "print(sorted(m for m in sys.modules if m.startswith(('agentbook.session', 'agentbook.evals',"
                 " 'agentbook.runbooks', 'anthropic'))))")
    names, imported = out.splitlines()
    assert names == str(sorted(tools.BUILTIN)) and imported == "[]"
    # and asking for tools of other packages by name loads them
    out = _fresh("from agentbook.session.tools import get_tools; print([t.name for t in get_tools(['eval', 'skill'])])")
    assert out.strip() == "['eval', 'skill']"


def test_a_registered_tool_is_known_to_validate(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    class Probe:
        name, description, read_only = "probe", "a probe", True

        def __init__(self) -> None:
            self.input_schema = {"type": "object", "properties": {}}

        def run(self, args: dict, ctx: object) -> ToolResult:
            return ToolResult("ok")

    book = tmp_path / "runbooks" / "probe-book.md"
    book.parent.mkdir()
    book.write_text("---\nname: probe-book\ndescription: Uses a plugin tool.\ntools: [read, probe]\n---\n"
                    "Intro.\n\n## One\n\nDo it.\n")
    before = run_cli("validate", book)
    assert before.code == 1 and "unknown tool 'probe'" in before.out
    register_tool("probe", Probe)
    try:
        assert run_cli("validate", book).code == 0
        assert [t.name for t in get_tools(["probe"])] == ["probe"]
    finally:
        tools._REGISTRY.pop("probe", None)
