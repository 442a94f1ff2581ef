"""`on_result:`: a scripted turn that answers according to what its tools returned."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from agentbook.errors import FatalError
from agentbook.standin import StandinServer, parse_script

Standin = Callable[[str], StandinServer]

READER = """
    version: 1
    sessions:
      - name: reader
        match: {first_user: {regex: "Analyse (?P<inv>inv-\\\\d+)"}}
        turns:
          - tool_use: {name: read, input: {path: trace/errors.md}}
          - on_result:
              - if: {regex: "tool `(?P<tool>[\\\\w.]+)`: (?P<error>[^\\\\n]+)"}
                text: "{inv}: {tool} failed with {error}"
              - if: "no errors"
                tool_use: {name: read, input: {path: outcome.md}}
              - text: "{inv}: nothing I recognise"
          - on_result:
              - if: {regex: "no errors.*total (?P<first>\\\\d+)"}
                text: "never: the latest result alone does not say 'no errors'"
              - if: {regex: "no errors.*total (?P<first>\\\\d+)"}
                results: all
                text: "{inv}: a clean trace, and the answer says {first}"
"""


def converse(server: StandinServer, results: list[str]) -> list[anthropic.types.Message]:
    """Ask for a turn, answer its tool call with the next result, and so on: the replies in order."""
    async def go() -> list[anthropic.types.Message]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Analyse inv-0042 now"}]
        replies: list[anthropic.types.Message] = []
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as client:
            for result in [*results, None]:
                reply = await client.messages.create(model="claude-sonnet-5", max_tokens=200,
                                                     messages=messages)  # type: ignore[arg-type]
                replies.append(reply)
                if result is None or reply.stop_reason != "tool_use":
                    break
                use = next(b for b in reply.content if b.type == "tool_use")
                messages += [{"role": "assistant", "content": [b.model_dump() for b in reply.content]},
                             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                           "content": [{"type": "text", "text": result}]}]}]
        return replies

    return asyncio.run(go())


def last_text(replies: list[anthropic.types.Message]) -> str:
    return next(b.text for b in replies[-1].content if b.type == "text")


def test_the_reply_quotes_what_the_tool_returned(standin: Standin) -> None:
    server = standin(READER)
    replies = converse(server, ["# Errors\n- `002-tool` tool `crm.lookup`: ReadTimeout after 10s\n"])
    assert last_text(replies) == "inv-0042: crm.lookup failed with ReadTimeout after 10s"
    other = converse(server, ["- `005-tool` tool `kb.search`: 404 article retired"])
    assert last_text(other) == "inv-0042: kb.search failed with 404 article retired"


def test_a_case_can_call_another_tool_and_read_every_result(standin: Standin) -> None:
    server = standin(READER)
    replies = converse(server, ["no errors in this trace", "invoice total 1200 EUR"])
    assert [r.stop_reason for r in replies] == ["tool_use", "tool_use", "end_turn"]
    assert last_text(replies) == "inv-0042: a clean trace, and the answer says 1200"
    assert last_text(converse(server, ["something else"])) == "inv-0042: nothing I recognise"


def test_no_matching_case_is_a_400_naming_the_turn(standin: Standin) -> None:
    server = standin("""
        version: 1
        default:
          turns:
            - tool_use: {name: read, input: {path: a}}
            - on_result: [{if: "needle", text: found}]
    """)
    with pytest.raises(anthropic.BadRequestError) as info:
        converse(server, ["haystack only"])
    assert "turn 2: no on_result case matches the tool result (starts 'haystack only')" in str(info.value)


@pytest.mark.parametrize(("turn", "message"), [
    ("{text: a, on_result: [{text: b}]}", "should not be valid under"),
    ("{on_result: []}", "should be non-empty"),
    ("{on_result: [{if: x}]}", "is not valid under any of the given schemas"),
    ("{on_result: [{if: x, text: a, results: some}]}", "is not one of"),
])
def test_bad_cases_are_rejected(turn: str, message: str) -> None:
    with pytest.raises(FatalError) as info:
        parse_script(f"version: 1\ndefault:\n  turns:\n    - {turn}\n", "s.yaml")
    assert message in info.value.message


def test_a_bad_case_regex_is_reported_at_its_line(run_cli: Callable[..., Any], tmp_path: Any) -> None:
    path = tmp_path / "bad.script.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        default:
          turns:
            - on_result:
                - if: {regex: "(?P<x>unclosed"}
                  text: a
    """))
    result = run_cli("standin", "check", "--script", path)
    assert result.code == 3
    assert "bad regex for turns[0].on_result[0].if" in result.err and f"{path}:5:" in result.err
