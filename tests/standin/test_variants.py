"""`variants:`: one turn answering repeated identical requests differently, deterministically."""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest

from agentbook.errors import FatalError
from agentbook.standin import StandinServer, parse_script, running
from agentbook.standin.script import request_key

Standin = Callable[[str], StandinServer]

CYCLE = """
    version: 1
    sessions:
      - name: verdict
        match: {first_user: "Is the deploy safe?"}
        turns:
          - pick: cycle
            variants:
              - text: "yes"
              - text: "no"
              - {text: "maybe", stop_reason: stop_sequence}
          - variants: [{text: "second turn A"}, {text: "second turn B"}]
    default:
      turns: [{text: "plain"}]
"""

RANDOM = """
    version: 1
    default:
      turns:
        - pick: random
          seed: 11
          variants: [{text: r0}, {text: r1}, {text: r2}, {text: r3}]
"""


def ask(server: StandinServer, times: int, *, first: str = "Is the deploy safe?", stream: bool = False,
        history: list[dict[str, Any]] | None = None, **client_kw: Any) -> list[anthropic.types.Message]:
    messages = [{"role": "user", "content": first}, *(history or [])]

    async def go() -> list[anthropic.types.Message]:
        out: list[anthropic.types.Message] = []
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", **client_kw) as c:
            for _ in range(times):
                if stream:
                    async with c.messages.stream(model="claude-sonnet-5", max_tokens=100,
                                                 messages=messages) as s:  # type: ignore[arg-type]
                        out.append(await s.get_final_message())
                else:
                    out.append(await c.messages.create(model="claude-sonnet-5", max_tokens=100,
                                                       messages=messages))  # type: ignore[arg-type]
        return out

    return asyncio.run(go())


def texts(messages: list[anthropic.types.Message]) -> list[str]:
    return [m.content[0].text if m.content[0].type == "text" else "" for m in messages]


def test_the_sdk_sees_the_variants_in_cycle(standin: Standin) -> None:
    server = standin(CYCLE)
    replies = ask(server, 7)
    assert texts(replies) == ["yes", "no", "maybe", "yes", "no", "maybe", "yes"]
    assert [m.stop_reason for m in replies[:3]] == ["end_turn", "end_turn", "stop_sequence"]
    recorded = server.requests()
    assert [r["attempt"] for r in recorded] == [1, 2, 3, 4, 5, 6, 7]
    assert [r["variant"] for r in recorded] == [1, 2, 3, 1, 2, 3, 1]
    assert len({r["body"]["messages"][0]["content"] for r in recorded}) == 1  # the very same request


def test_streaming_sees_the_same_cycle_and_each_request_keeps_its_own_count(standin: Standin) -> None:
    server = standin(CYCLE)
    assert texts(ask(server, 2, stream=True)) == ["yes", "no"]
    # the next turn of the same session is another request, counted from its first attempt
    history = [{"role": "assistant", "content": "yes"}, {"role": "user", "content": "and now?"}]
    assert texts(ask(server, 3, stream=True, history=history)) == ["second turn A", "second turn B",
                                                                   "second turn A"]
    assert texts(ask(server, 1, stream=True)) == ["maybe"]  # the first request carries on where it was
    assert texts(ask(server, 2, first="something else")) == ["plain", "plain"]  # no variants: no change
    assert "variant" not in server.requests()[-1]


def test_random_pick_repeats_its_sequence_on_a_fresh_server() -> None:
    sequences = []
    for _ in range(2):
        with running(parse_script(textwrap.dedent(RANDOM), "random.script.yaml")) as server:
            sequences.append(texts(ask(server, 12)))
    assert sequences[0] == sequences[1]
    assert len(set(sequences[0])) > 1  # it does vary from attempt to attempt
    script = parse_script(textwrap.dedent(RANDOM), "random.script.yaml")
    # the draw depends only on the request (its hash) and the attempt: no server needed to predict it
    body = {"model": "claude-sonnet-5", "max_tokens": 1,
            "messages": [{"role": "user", "content": "Is the deploy safe?"}]}
    assert [script.select(body, n).blocks[0]["text"] for n in range(1, 13)] == sequences[0]
    other = {**body, "messages": [{"role": "user", "content": "another question"}]}
    assert request_key(other) != request_key(body)
    assert [script.select(other, n).blocks[0]["text"] for n in range(1, 13)] != sequences[0]


def test_a_retried_fault_counts_as_an_attempt_like_the_faults_window(standin: Standin) -> None:
    server = standin("""
        version: 1
        default:
          turns:
            - fault: {kind: status, status: 529, retry_after: 0, attempts: 1}
              variants: [{text: first}, {text: second}]
    """)
    assert texts(ask(server, 2)) == ["second", "first"]  # attempt 1 was the 529 the SDK retried
    assert [(r["status"], r["attempt"], r["fault"]) for r in server.requests()] == \
        [(529, 1, "status"), (200, 2, None), (200, 3, None)]


@pytest.mark.parametrize(("turn", "message"), [
    ("{text: a, variants: [{text: b}]}", "should not be valid under"),
    ("{text: a, pick: cycle}", "'variants' is a dependency of 'pick'"),
    ("{variants: []}", "should be non-empty"),
    ("{variants: [{fault: {kind: drop}}]}", "'fault' was unexpected"),
    ("{variants: [{text: a}], pick: sometimes}", "is not one of"),
])
def test_bad_variants_are_rejected(turn: str, message: str) -> None:
    with pytest.raises(FatalError) as info:
        parse_script(f"version: 1\ndefault:\n  turns:\n    - {turn}\n", "s.yaml")
    assert message in info.value.message


def test_readme_flaky_example_is_right_three_times_in_five() -> None:
    readme = Path(__file__).resolve().parents[2] / "runner" / "agentbook" / "standin" / "README.md"
    (example,) = re.findall(r"```yaml\n(.*?)```", readme.read_text(), re.DOTALL)
    script = parse_script(example, str(readme))
    body = {"model": "claude", "messages": [{"role": "user", "content": "Is the deploy safe?"}]}
    answers = [script.select(body, n).blocks[0]["text"] for n in range(1, 6)]
    assert [a.startswith("Yes") for a in answers] == [True, False, True, False, True]
    assert script.select(body, 6).blocks[0]["text"] == answers[0]
