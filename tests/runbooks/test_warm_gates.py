"""Gates (and the agent's bash) give the same exit codes and output whether their `agentbook` calls are
answered by the warm worker (`agentbook.warm`) or start cold: the fix-prompt runbook's gates on the
example system, plus the edges (usage errors, bad input, pipes, redirections, stdin, a signal, a
refused command)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentbook.runbooks.gates import prewarm, run_gate, tool_path
from agentbook.session import jail
from agentbook.session.limits import Limits
from agentbook.session.tools import ToolContext, get_tools
from agentbook.warm import pool
from agentbook.workflows.fixture import example_dir, make_repo

pytestmark = pytest.mark.skipif(not jail.works(), reason=f"the sandbox cannot run here: {jail.problem()}")
SUITE, CASE, MODEL = "evals/logql/suite.yaml", "errors-checkout-case-insensitive", "scripted:evals/sut.script.yaml"
GATES = [  # the fix-prompt runbook's, as the demo renders them
    f"agentbook baseline save {SUITE} --model {MODEL} --prompt prompts/logql.md",
    f"agentbook eval show {SUITE} {CASE}",
    f"agentbook validate --strict {SUITE}",
    f"agentbook eval run {SUITE} --case {CASE} --model {MODEL}; test $? -eq 1",
    f"agentbook eval run {SUITE} --case {CASE} --repeat 3 --model {MODEL} --json",
    f"agentbook baseline check {SUITE} --model {MODEL}",
]
EDGES = [
    "agentbook nosuch; echo rc=$?",
    "agentbook validate --strict evals/missing.yaml --json; echo rc=$?",
    f"agentbook eval list {SUITE} | head -2",  # a broken pipe (when it breaks is a race, warm or cold)
    f"agentbook eval show {SUITE} {CASE} > shown.txt 2> err.txt; echo rc=$?; wc -c < shown.txt; cat err.txt",
    f"printf 'id: from-stdin\\nvars: {{question: x}}\\n' | agentbook eval add {SUITE} --file -; echo rc=$?",
    "agentbook run x 2>&1; echo rc=$?",  # refused inside the sandbox, warm as cold
    "cd evals && agentbook validate --strict logql/suite.yaml --json; echo rc=$?",
    "umask 077; agentbook eval new made.yaml >/dev/null 2>&1; echo rc=$?; stat -c %a made.yaml 2>&1",
    f"sleep 30 | agentbook eval add {SUITE} --file - & sleep 1; kill -TERM $!; wait $!; echo rc=$?",  # a signal
    # leaves the export's writer threads idle at exit: the worker must let them go as the interpreter does
    "agentbook trace export traces/inv-0142-checkout-errors.otlp.json exported --json >/dev/null; echo rc=$?",
]
RUN_ID = re.compile(r"\b\d{8}-\d{6,}-[0-9a-f]{4}\b")
SECONDS = re.compile(r"\b\d+(\.\d+)?\s?(s|ms)\b|\"(seconds|duration_ms|started_at|finished_at|created_at)\": [^,}]+")


def _normal(text: str, root: Path) -> str:
    text = RUN_ID.sub("RUN", text.replace(str(root.resolve()), "ROOT"))
    lines = [line for line in SECONDS.sub("T", text).splitlines()
             if not line.startswith(("Exception ignored in: <_io.TextIOWrapper name='<stdout>'", "BrokenPipeError"))]
    return "\n".join(lines)


def _results(root: Path, commands: list[str]) -> list[tuple[int, str]]:
    out = []
    for command in commands:
        gate = run_gate(command, root, protected=[], timeout=300)
        out.append((gate.exit_code, _normal(gate.output, root)))
    return out


def _repo(tmp_path: Path, name: str) -> Path:
    return make_repo(example_dir(), tmp_path / name / "incident-assistant", [], "incident-assistant: initial")


def test_gates_are_the_same_warm_and_cold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTBOOK_WARM", "0")
    cold = _results(_repo(tmp_path, "cold"), GATES + EDGES)
    monkeypatch.setenv("AGENTBOOK_WARM", "1")
    root = _repo(tmp_path, "warm")
    try:
        assert prewarm(root, protected=[], wait=120)
        warm = _results(root, GATES + EDGES)
        log = pool.log_of("gate", root)
    finally:
        pool.stop(root)
    for command, c, w in zip(GATES + EDGES, cold, warm, strict=True):
        assert w == c, f"{command}\n--- cold ---\n{c[1]}\n--- warm ---\n{w[1]}"
    assert {0, 1, 3} <= {code for code, _ in cold}  # passes, failures and bad input alike
    assert log.count("warm: ") >= len(GATES), log  # the worker answered (it logs a line per call)


def test_the_agents_bash_is_the_same_warm_and_cold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tool,) = get_tools(["bash"])
    commands = [f"agentbook eval show {SUITE} auth-staging", f"agentbook validate --strict {SUITE} --json",
                "agentbook nosuch", f"agentbook eval list {SUITE} | wc -l"]

    def results(root: Path) -> list[tuple[bool, str]]:
        ctx = ToolContext(root=root, sandbox="bwrap", limits=Limits(), env={"PATH": tool_path()})
        out = []
        for command in commands:
            result = tool.run({"command": command}, ctx)
            out.append((result.is_error, _normal(result.content, root)))
        return out

    monkeypatch.setenv("AGENTBOOK_WARM", "0")
    cold = results(_repo(tmp_path, "cold"))
    monkeypatch.setenv("AGENTBOOK_WARM", "1")
    root = _repo(tmp_path, "warm")
    try:
        results(root)  # its first `agentbook` call starts the agent's worker, and runs cold
        worker = pool._workers[(str(root.resolve()), "bash")]
        assert worker.wait_ready(120), worker.log.read_text()
        warm = results(root)
        log = pool.log_of("bash", root)
    finally:
        pool.stop(root)
    assert warm == cold
    assert log.count("warm: ") >= len(commands), log
