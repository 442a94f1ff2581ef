"""`agentbook models list`, `agentbook standin check|serve` from the shell."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest

from agentbook.shipped import schema_path

REPO = Path(__file__).resolve().parents[2]
EXPLORE = REPO / "examples" / "sessions" / "explore.script.yaml"
Run = Callable[..., Any]


def test_models_list_json_shows_backends_and_prices_never_keys(run_cli: Run, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-do-not-print-1234")
    (tmp_path / "models.yaml").write_text("aliases: {fast: 'anthropic:claude-haiku-4-5'}\n")
    monkeypatch.setenv("AGENTBOOK_MODELS", str(tmp_path / "models.yaml"))
    monkeypatch.chdir(REPO)
    result = run_cli("models", "list", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    anthropic_entry = data["backends"][0]
    assert anthropic_entry["backend"] == "anthropic" and anthropic_entry["ready"] is True
    assert anthropic_entry["key"] == "set (ANTHROPIC_API_KEY)"
    assert "examples/sessions/explore.script.yaml" in data["backends"][2]["scripts"]
    assert data["prices"]["models"]["claude-opus-5"] == {"input": 5.0, "output": 25.0, "cache_write_5m": 6.25,
                                                         "cache_write_1h": 10.0, "cache_read": 0.5}
    assert data["prices"]["batch_discount"] == 0.5
    assert data["aliases"] == {"file": str(tmp_path / "models.yaml"), "aliases": {"fast": "anthropic:claude-haiku-4-5"}}
    assert "do-not-print" not in result.out


def test_models_list_text_is_bounded(run_cli: Run) -> None:
    result = run_cli("models", "list")
    assert result.code == 0 and len(result.out) < 4000
    assert "claude-sonnet-5 " in result.out and "marked estimated" in result.out


def test_standin_check(run_cli: Run, tmp_path: Path) -> None:
    ok = run_cli("standin", "check", "--script", str(EXPLORE))
    assert ok.code == 0
    assert ok.out.strip() == f"ok: {EXPLORE}: sessions: explore (7 turns); default: 1"
    bad = tmp_path / "bad.script.yaml"
    bad.write_text("version: 1\ndefault:\n  turns:\n    - text: hi\n      fault: {kind: explode}\n")
    result = run_cli("standin", "check", "--script", str(bad))
    assert result.code == 3
    assert result.err == (f"agentbook: error: {bad}:5:15: default/turns/0/fault/kind: 'explode' is not one of "
                          "['status', 'midstream_error', 'stall', 'drop', 'truncate'] (`agentbook standin --help` has "
                          f"the format; the schema: {schema_path('script')})\n")
    assert "Traceback" not in result.err


def test_a_pattern_written_beside_the_field_names_the_form_it_takes(run_cli: Run, tmp_path: Path) -> None:
    """The help read `{first_user: "bananas"} ... or {regex: ...}`, so a dogfooding agent wrote
    `match: {regex: ...}`; the refusal named the schema by a source path a wheel does not have. It now
    names the forms `match:` takes and the schema where this agentbook has it."""
    bad = tmp_path / "bad.script.yaml"
    bad.write_text("version: 1\nsessions:\n  - name: insult\n    match: {regex: '(?i)low iq'}\n"
                   "    turns: [{text: 'true'}]\n")
    result = run_cli("standin", "check", "--script", str(bad))
    assert (result.code, result.err) == (3, (
        f"agentbook: error: {bad}:4:5: sessions/0/match: Additional properties are not allowed ('regex' was "
        "unexpected); match: takes first_user:, system:, model:, each a text or {contains: ...} or {regex: ...} "
        f"(`agentbook standin --help` has the format; the schema: {schema_path('script')})\n"))
    assert schema_path("script").is_file()
    bad.write_text(bad.read_text().replace("{regex: '(?i)low iq'}", "{first_user: {regex: '(?i)low iq'}}"))
    assert run_cli("standin", "check", "--script", str(bad)).code == 0


def test_standin_serve_answers_the_real_sdk(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "agentbook", "standin", "serve", "--script", str(EXPLORE),
                             "--port", "0", "--json", "--log"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        head, line = "", ""
        while line != "}\n":  # the indented JSON object printed before serving ends with a bare brace
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "server exited"
            head += line
        info = json.loads(head)
        assert info["url"].startswith("http://127.0.0.1:") and info["sessions"] == [{"name": "explore",
                                                                                    "turns": 7}]

        async def ask() -> anthropic.types.Message:
            async with anthropic.AsyncAnthropic(base_url=info["url"], api_key="k") as c:
                return await c.messages.create(model="m", max_tokens=50,
                                               messages=[{"role": "user", "content": "explore it"}])

        message = asyncio.run(ask())
        assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.stderr is not None
    assert proc.stderr.read().splitlines()[0] == "POST /v1/messages 200 session=explore turn=1 attempt=1"


def test_standin_check_json(run_cli: Run) -> None:
    result = run_cli("standin", "check", "--script", str(EXPLORE), "--json")
    assert result.code == 0
    assert json.loads(result.out) == {"ok": True, "script": str(EXPLORE), "model": "scripted",
                                      "sessions": [{"name": "explore", "turns": 7}], "default": 1}


def test_standin_serve_on_a_taken_port_is_a_clear_error(run_cli: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("standin", "serve", "--script", str(EXPLORE), "--port", str(port))
    assert result.code == 3
    assert result.err == (f"agentbook: error: cannot listen on 127.0.0.1:{port}: address already in use "
                          "(pick another --port, or --port 0 for a free one)\n")
