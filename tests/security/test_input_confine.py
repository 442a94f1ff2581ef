"""Attacks on confinement through data and through allowlisted `agentbook` commands: a suite's
`file://` references, symlinks, `..`, absolute paths, `--out` elsewhere and other models. Every attack
ends in a clear refusal (exit 3, or a tool error), and the folder outside the root is byte-for-byte
unchanged."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO_ROOT, CliResult
from tests.security.input_support import Outside

import agentbook.evals.tool  # noqa: F401  (registers the eval tool)
from agentbook.confine import MODEL_ENV, ROOT_ENV
from agentbook.session.sandbox import clean_env
from agentbook.session.tools import ToolContext, get_tools

Cli = Callable[..., CliResult]
FIXTURES = REPO_ROOT / "tests" / "evals" / "fixtures"
TRACE = REPO_ROOT / "tests" / "traces" / "fixtures" / "otlp_events.json"
SCRIPT = FIXTURES / "scripts" / "triage.script.yaml"
SUITE = 'prompts: ["{{q}}"]\nproviders: [echo]\n'


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, Outside]]:
    """A session root (a copy of the split fixture suite, a trace, a script) and a folder beside it."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "split", root)
    shutil.copy(TRACE, root / "trace.json")
    shutil.copy(SCRIPT, root / "triage.script.yaml")
    outside = Outside(tmp_path)
    yield root, outside
    assert outside.unchanged(), "a file outside the root changed"


@pytest.fixture
def confined(world: tuple[Path, Outside], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Outside]:
    """The environment the runner gives commands it runs for an agent."""
    root, outside = world
    monkeypatch.chdir(root)
    for key, value in clean_env({MODEL_ENV: f"scripted:{root / 'triage.script.yaml'}"}, root).items():
        if key.startswith("AGENTBOOK_"):
            monkeypatch.setenv(key, value)
    return root, outside


def refused(result: CliResult, text: str) -> None:
    assert result.code == 3, (result.code, result.out, result.err)
    assert text in result.err and "Traceback" not in result.err, result.err
    assert "TOP-SECRET" not in result.out + result.err


def eval_tool(root: Path, **args: Any) -> Any:
    (tool,) = get_tools(["eval"])
    return asyncio.run(tool.run(args, ToolContext(root=root)))  # type: ignore[arg-type]


# --- suites whose file:// references leave their repository -------------------------------------

@pytest.mark.parametrize("glob", ["file://{outside}/cases/*.yaml", "file://../outside/cases/*.yaml",
                                  "file://{outside}/cases/stolen.yaml", "file://cases/../../outside/cases/*.yaml"])
def test_split_suite_tests_outside_the_repo(run_cli: Cli, world: tuple[Path, Outside], glob: str) -> None:
    root, outside = world
    (root / ".git").mkdir()  # the suite's repository is the root
    suite = root / "evil.yaml"
    suite.write_text(SUITE + f"tests: {glob.format(outside=outside.path)}\n")
    # refused at the line that writes it, naming the reference as written: a pattern that leaves the
    # repository is never expanded, so no name of a file outside it is listed (or printed)
    listed = run_cli("eval", "list", suite)
    refused(listed, f"{suite}:3: case file {glob.format(outside=outside.path)} is outside the repository {root} (")
    assert ("stolen.yaml" in listed.err) == ("stolen.yaml" in glob), listed.err
    refused(run_cli("eval", "run", suite, "--model", f"scripted:{root / 'triage.script.yaml'}"), "is outside")


def test_a_symlinked_case_file_pointing_out(run_cli: Cli, world: tuple[Path, Outside]) -> None:
    root, outside = world
    (root / ".git").mkdir()
    (root / "cases" / "evil.yaml").symlink_to(outside.path / "cases" / "stolen.yaml")
    refused(run_cli("eval", "list", root / "suite.yaml"),
            f"case file {root}/cases/evil.yaml (matched by file://cases/*.yaml) is outside the repository {root}")
    refused(run_cli("eval", "show", root / "suite.yaml", "stolen"), "is outside")


@pytest.mark.parametrize(("head", "case"), [
    ("prompts: [file://{outside}/secret.txt]\n", "    vars: {q: x}\n"),
    ('prompts: ["{{{{q}}}}"]\n', "    vars: {q: file://../outside/secret.txt}\n"),
    ('prompts: ["{{{{q}}}}"]\ndefaultTest: file://{outside}/suite.yaml\n', "    vars: {q: x}\n"),
])
def test_prompt_vars_and_default_test_references_out(run_cli: Cli, world: tuple[Path, Outside], head: str,
                                                     case: str) -> None:
    root, outside = world
    (root / ".git").mkdir()
    suite = root / "evil.yaml"
    suite.write_text(head.format(outside=outside.path) + "providers: [echo]\ntests:\n  - id: a\n" + case)
    result = run_cli("eval", "run", suite, "--model", f"scripted:{root / 'triage.script.yaml'}", "--json", "--full")
    assert "TOP-SECRET" not in result.out + result.err
    assert result.code in (2, 3), (result.code, result.out, result.err)  # an error, never a graded read
    assert "is outside" in result.out + result.err


def test_the_eval_tool_refuses_references_out_of_the_session_root(world: tuple[Path, Outside]) -> None:
    root, outside = world
    (root / "evil.yaml").write_text(SUITE + f"tests: file://{outside.path}/cases/*.yaml\n")
    listed = eval_tool(root, command="list", suite="evil.yaml")
    assert listed.is_error and "is outside" in listed.content and "TOP-SECRET" not in listed.content
    (root / "linked.yaml").symlink_to(outside.path / "suite.yaml")
    linked = eval_tool(root, command="show", suite="linked.yaml", id="stolen")
    assert linked.is_error and linked.content == "error: linked.yaml: resolves outside the root (through a symlink)"


def test_the_eval_tool_reaches_only_its_sessions_model(world: tuple[Path, Outside]) -> None:
    root, _ = world
    with listening() as (port, server):
        result = eval_tool(root, command="run", suite="suite.yaml", model=f"compat:http://127.0.0.1:{port}#x")
        assert result.is_error
        assert result.content.startswith(f"error: model 'compat:http://127.0.0.1:{port}#x' is not allowed inside a session")
        assert not accepted(server)


# --- agentbook commands run for an agent (AGENTBOOK_CONFINE_ROOT set) ---------------------------

def test_the_runner_marks_every_command_it_runs(tmp_path: Path) -> None:
    env = clean_env({ROOT_ENV: "/", MODEL_ENV: "scripted:x"}, tmp_path)
    assert env[ROOT_ENV] == str(tmp_path.resolve()) and env[MODEL_ENV] == "scripted:x"  # extra cannot widen it


@pytest.mark.parametrize("out", ["{outside}/export", "../outside/export", "link/export"])
def test_trace_export_elsewhere(run_cli: Cli, confined: tuple[Path, Outside], out: str) -> None:
    root, outside = confined
    (root / "link").symlink_to(outside.path)
    target = out.format(outside=outside.path)
    refused(run_cli("trace", "export", "trace.json", target), f"OUT {target} is outside the session root {root}")
    assert not (outside.path / "export").exists()


def test_trace_export_inside_still_works(run_cli: Cli, confined: tuple[Path, Outside]) -> None:
    root, _ = confined
    result = run_cli("trace", "export", "trace.json", "exported")
    assert result.code == 0, result.err
    assert (root / "exported" / "README.md").is_file()


@pytest.mark.parametrize("suite", ["{outside}/suite.yaml", "../outside/suite.yaml", "link/suite.yaml"])
def test_eval_edit_of_a_suite_elsewhere(run_cli: Cli, confined: tuple[Path, Outside], suite: str) -> None:
    root, outside = confined
    (root / "link").symlink_to(outside.path)
    path = suite.format(outside=outside.path)
    refused(run_cli("eval", "edit", path, "stolen", "--set", "vars.q=pwned"),
            f"SUITE {path} is outside the session root {root}")
    refused(run_cli("eval", "show", path, "stolen"), "is outside the session root")


def test_eval_reads_of_files_elsewhere(run_cli: Cli, confined: tuple[Path, Outside]) -> None:
    root, outside = confined
    secret = outside.path / "secret.txt"
    refused(run_cli("eval", "edit", "suite.yaml", "auth-expired", "--set", f"vars.question=@{secret}"),
            f"--set @FILE {secret} is outside the session root {root}")
    refused(run_cli("eval", "add", "suite.yaml", "--file", secret), f"--file {secret} is outside the session root")
    refused(run_cli("eval", "split", "suite.yaml", "--out", outside.path / "split"), "--out")
    refused(run_cli("baseline", "save", "suite.yaml", "--model", "scripted:triage.script.yaml", "--prompt", secret),
            "--prompt")


@pytest.mark.parametrize("spec", ["compat:http://127.0.0.1:{port}#x", "anthropic:claude-opus-4-1",
                                  "scripted:{outside}/evil.script.yaml"])
def test_eval_run_with_another_model(run_cli: Cli, confined: tuple[Path, Outside], spec: str) -> None:
    _, outside = confined
    with listening() as (port, server):
        model = spec.format(port=port, outside=outside.path)
        result = run_cli("eval", "run", "suite.yaml", "--model", model)
        assert result.code == 3, result.err
        assert "not allowed inside a session" in result.err or "model script" in result.err
        assert not accepted(server)


def test_a_suites_own_provider_cannot_reach_another_model(run_cli: Cli, confined: tuple[Path, Outside]) -> None:
    root, _ = confined
    with listening() as (port, server):
        (root / "evil.yaml").write_text(f'prompts: ["hi"]\nproviders: ["compat:http://127.0.0.1:{port}#x"]\n'
                                        "tests:\n  - id: a\n    vars: {}\n")
        refused(run_cli("eval", "run", "evil.yaml"), f"model 'compat:http://127.0.0.1:{port}#x' is not allowed")
        assert not accepted(server)


def test_the_sessions_own_model_is_allowed(run_cli: Cli, confined: tuple[Path, Outside]) -> None:
    result = run_cli("eval", "run", "suite.yaml", "--case", "cache-stampede", "--model",
                     os.environ[MODEL_ENV], "--json", "--full")
    assert result.code == 0, result.err


@pytest.mark.parametrize("command", [["run", "fix-prompt", "--ticket", "T.md"], ["session", "--model", "scripted:x",
                                     "--root", ".", "hi"], ["standin", "serve", "--script", "triage.script.yaml"],
                                     ["watch", "."], ["demo"]])
def test_commands_that_start_agents_or_servers(run_cli: Cli, confined: tuple[Path, Outside],
                                               command: list[str]) -> None:
    refused(run_cli(*command), f"`agentbook {command[0]}` cannot run inside a session")


def test_a_marker_naming_no_folder_confines_to_nothing(run_cli: Cli, confined: tuple[Path, Outside],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROOT_ENV, "/nonexistent/root")
    refused(run_cli("eval", "list", "suite.yaml"), "is outside the session root")


def test_an_allowlisted_bash_command_stays_in_the_root(world: tuple[Path, Outside]) -> None:
    """The whole path: the bash tool in allowlist mode runs a real `agentbook` process for the agent."""
    root, outside = world
    (tool,) = get_tools(["bash"])
    agentbook = f"{sys.executable} -m agentbook"
    ctx = ToolContext(root=root, sandbox="allowlist", bash_allow=[f"{agentbook} *"],
                      env={"PYTHONPATH": str(REPO_ROOT / "runner")})
    result = tool.run({"command": f"{agentbook} trace export trace.json {outside.path}/export"}, ctx)
    assert not isinstance(result, asyncio.Future)
    assert result.is_error and "is outside the session root" in result.content and "[exit code 3]" in result.content
    inside = tool.run({"command": f"{agentbook} trace export trace.json exported --json"}, ctx)
    assert not inside.is_error, inside.content
    assert (root / "exported" / "README.md").is_file()


class listening:
    """A TCP listener on loopback standing in for a server an attacker wants reached."""

    def __enter__(self) -> tuple[int, socket.socket]:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        return self.server.getsockname()[1], self.server

    def __exit__(self, *exc: object) -> None:
        self.server.close()


def accepted(server: socket.socket) -> bool:
    server.setblocking(False)
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True
