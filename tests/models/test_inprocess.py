"""The in-process scripted model answers exactly as the stand-in does over HTTP through the real SDK:
same messages, events, usage, recorded requests and typed errors; scripts that test the transport
still go over HTTP."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentbook.models import BadRequest, ModelError, ModelRequest, load_model
from agentbook.models.backend import MessagesBackend
from agentbook.models.scripted import ScriptedModel
from agentbook.session import Budgets, SessionConfig, run_session
from agentbook.standin import ensure_server, stop_all

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sessions"
CACHED = """version: 1
server: {cache_min_tokens: 8, chunk_chars: 5, json_chunks: 4}
sessions:
  - name: s
    match: {first_user: {regex: "(?P<who>\\\\w+) here"}}
    turns:
      - thinking: "think about {who}"
        text: "hello {who}, a longer text split into several deltas"
        tool_use: {name: read, input: {path: "{who}.txt", note: "é ü"}}
      - variants: [{text: one}, {text: two}]
        pick: cycle
      - on_result:
          - if: {regex: "code (?P<code>\\\\d+)"}
            text: "code was {code}"
          - text: "no code"
"""


@pytest.fixture(autouse=True)
def _stop_servers() -> Any:
    yield
    stop_all()


async def drive(spec: str, task: str, results: list[str]) -> tuple[list[Any], list[Any]]:
    """Run a conversation (tool results from `results`); return every response and every event seen."""
    model = load_model(spec)
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    responses: list[Any] = []
    events: list[Any] = []
    system = [{"type": "text", "text": "You are terse. " * 8, "cache_control": {"type": "ephemeral"}}]
    try:
        for n in range(len(results) + 1):
            try:
                response = await model.complete(ModelRequest(messages=messages, system=system),
                                                on_event=events.append)
            except ModelError as err:
                evidence = {**err.evidence(), "message": err.message.replace(spec, "SPEC")}
                responses.append((type(err).__name__, evidence))
                break
            responses.append((response.content, response.stop_reason, response.usage, response.id,
                              response.model, response.request_id))
            messages.append({"role": "assistant", "content": response.content})
            if n < len(results):
                uses = response.tool_uses() or [{"id": "none"}]
                messages.append({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": t["id"], "content": results[n]} for t in uses]})
    finally:
        await model.aclose()
    return responses, events


def twin_scripts(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """The same script under two paths: one server object each, so neither path sees the other's state."""
    pair = []
    for side in "ab":
        (tmp_path / side).mkdir()
        pair.append(tmp_path / side / "s.script.yaml")
        pair[-1].write_text(text)
    return pair[0], pair[1]


def recorded(path: Path) -> list[tuple[Any, ...]]:
    return [(r["body"], r.get("session"), r.get("turn"), r.get("attempt"), r.get("variant"), r["status"])
            for r in ensure_server(path).requests()]


@pytest.mark.parametrize("results", [["code 42"], ["ok", "code 7"], ["nothing", "x", "y"]])
def test_in_process_and_http_answer_alike(tmp_path: Path, results: list[str]) -> None:
    a, b = twin_scripts(tmp_path, CACHED)
    assert isinstance(load_model(f"scripted:{a}"), ScriptedModel)
    assert isinstance(load_model(f"scripted:{b}?http=1"), MessagesBackend)
    local = asyncio.run(drive(f"scripted:{a}", "alice here", results))
    http = asyncio.run(drive(f"scripted:{b}?http=1", "alice here", results))
    assert local == http
    assert recorded(a) == recorded(b)
    assert any(r[2].cache_read_input_tokens for r in local[0] if len(r) > 2)  # the prompt cache was hit


def test_exhausted_script_is_the_same_typed_error(tmp_path: Path) -> None:
    a, b = twin_scripts(tmp_path, "version: 1\nsessions: [{name: s, match: {first_user: hi}, turns: [{text: one}]}]\n")
    local = asyncio.run(drive(f"scripted:{a}", "hi", ["more"]))
    http = asyncio.run(drive(f"scripted:{b}?http=1", "hi", ["more"]))
    assert local == http
    name, evidence = local[0][-1]
    assert name == BadRequest.__name__ and "has 1 turns; this request asks for turn 2" in evidence["message"]
    assert evidence["status"] == 400 and evidence["request_id"] == "req_standin00000002"


@pytest.mark.parametrize("script, option, expected", [
    ("explore.script.yaml", "", ScriptedModel),
    ("explore.script.yaml", "?http=1", MessagesBackend),
    ("explore.script.yaml", "?auth=x-api-key", MessagesBackend),
    ("flaky.script.yaml", "", MessagesBackend),
    ("fix-under-faults.script.yaml", "", MessagesBackend),
])
def test_only_scripts_without_transport_tests_skip_http(script: str, option: str, expected: type) -> None:
    model = load_model(f"scripted:{EXAMPLES / script}{option}")
    assert type(model) is expected
    asyncio.run(model.aclose())


def test_auth_rules_in_the_script_keep_http(tmp_path: Path) -> None:
    path = tmp_path / "k.script.yaml"
    path.write_text("version: 1\nserver: {api_keys: [sk-secret]}\ndefault: {turns: [{text: hi}]}\n")
    assert isinstance(load_model(f"scripted:{path}"), MessagesBackend)


def test_a_session_ends_the_same_either_way(tmp_path: Path) -> None:
    outcomes = []
    scripts = twin_scripts(tmp_path, (EXAMPLES / "explore.script.yaml").read_text())
    for script, option in zip(scripts, ("", "?http=1"), strict=True):
        root = tmp_path / f"root{len(outcomes)}"
        shutil.copytree(EXAMPLES.parent / "incident-assistant", root)
        config = SessionConfig(model=f"scripted:{script}{option}", root=root,
                               budgets=Budgets(max_turns=12))
        result = asyncio.run(run_session(config, "Please explore the repo and keep a note LOG.md"))
        outcomes.append((result.outcome.kind, result.turns, result.tool_calls, result.files_changed,
                         result.final_text, (root / "LOG.md").read_text(), result.usage.to_json()))
    assert outcomes[0] == outcomes[1], outcomes
    assert outcomes[0][4].startswith("Done: I read README.md"), outcomes


def test_a_scripted_session_loads_no_sdk(tmp_path: Path) -> None:
    probe = (f"import sys\nfrom agentbook.cli import main\n"
             f"code = main(['session', '--root', {str(tmp_path)!r}, '--out', {str(tmp_path / 'out')!r}, '--model', "
             f"'scripted:{EXAMPLES / 'explore.script.yaml'}', '--sandbox', 'allowlist', 'say hello'])\n"
             f"print(code, 'anthropic' in sys.modules, 'httpx2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split()[-3:] == ["0", "False", "False"]
