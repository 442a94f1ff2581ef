"""`when:`: a scripted reply chosen by what the request says (its system prompt, its user messages), so a
scripted production model answers differently when its prompt changes; over HTTP (the real SDK) and
in-process (`scripted:`), which must agree."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path

import anthropic
import pytest

from agentbook.errors import FatalError
from agentbook.models import ModelRequest, load_model
from agentbook.standin import StandinServer, parse_script

Standin = Callable[[str], StandinServer]

PRODUCTION = """
    version: 1
    sessions:
      - name: root-cause
        match: {first_user: {regex: "service=(?P<svc>[a-z-]+)"}}
        turns:
          - when:
              - if: {system: "Prefer the earliest error", first_user: {regex: "first error: (?P<first>[^\\\\n]+)"}}
                text: "{svc}: the cause is {first}"
              - if: {last_user: {regex: "last error: (?P<last>[^\\\\n]+)"}}
                text: "{svc}: the cause is {last}"
              - text: "{svc}: no idea"
"""
ASK = "service=payments\nfirst error: TLS certificate expired\nlast error: connection reset by peer"


def ask_http(server: StandinServer, system: str | None, user: str) -> str:
    async def go() -> str:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as client:
            extra = {"system": system} if system else {}
            reply = await client.messages.create(model="m", max_tokens=200,
                                                 messages=[{"role": "user", "content": user}], **extra)  # type: ignore[arg-type]
        return next(b.text for b in reply.content if b.type == "text")

    return asyncio.run(go())


def ask_inprocess(script: Path, system: str | None, user: str) -> str:
    async def go() -> str:
        model = load_model(f"scripted:{script}")
        try:
            reply = await model.complete(ModelRequest(messages=[{"role": "user", "content": user}], system=system))
        finally:
            await model.aclose()
        return reply.text()

    return asyncio.run(go())


@pytest.mark.parametrize("transport", ["http", "in-process"])
def test_the_system_prompt_chooses_the_reply(standin: Standin, tmp_path: Path, transport: str) -> None:
    if transport == "http":
        server = standin(PRODUCTION)

        def ask(system: str | None, user: str) -> str:
            return ask_http(server, system, user)
    else:
        script = tmp_path / "production.script.yaml"
        script.write_text(textwrap.dedent(PRODUCTION))

        def ask(system: str | None, user: str) -> str:
            return ask_inprocess(script, system, user)

    assert ask("You investigate incidents.", ASK) == "payments: the cause is connection reset by peer"
    fixed = "You investigate incidents. Prefer the earliest error: later ones are symptoms."
    assert ask(fixed, ASK) == "payments: the cause is TLS certificate expired"
    assert ask(fixed, "service=search\nnothing useful") == "search: no idea"


def test_last_user_is_the_latest_message(standin: Standin) -> None:
    server = standin("""
        version: 1
        default:
          after_last: repeat_last
          turns:
            - when:
                - if: {last_user: "again"}
                  text: "second ask"
                - if: {first_user: "hello"}
                  text: "first ask"
    """)

    async def go() -> list[str]:
        async with anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k") as client:
            one = await client.messages.create(model="m", max_tokens=50,
                                               messages=[{"role": "user", "content": "hello"}])
            two = await client.messages.create(model="m", max_tokens=50, messages=[
                {"role": "user", "content": "hello"}, {"role": "assistant", "content": "first ask"},
                {"role": "user", "content": "again please"}])
        return [b.text for r in (one, two) for b in r.content if b.type == "text"]

    assert asyncio.run(go()) == ["first ask", "second ask"]


def test_no_case_matching_is_a_400_naming_the_turn(standin: Standin) -> None:
    server = standin("""
        version: 1
        default:
          turns:
            - when:
                - {if: {system: "never"}, text: "x"}
    """)
    with pytest.raises(anthropic.BadRequestError) as err:
        ask_http(server, "You are helpful.", "hi")
    assert "no when case matches the request" in str(err.value) and "You are helpful." in str(err.value)


def test_bad_when_scripts_are_refused_at_their_line() -> None:
    with pytest.raises(FatalError) as err:
        parse_script(textwrap.dedent("""
            version: 1
            default:
              turns:
                - when:
                    - if: {system: {regex: "(unclosed"}}
                      text: "x"
        """), "p.script.yaml")
    assert "bad regex for turns[0].when[0].if.system" in err.value.message
    assert err.value.location == "p.script.yaml:6:25"  # the regex key
    with pytest.raises(FatalError) as err:
        parse_script("version: 1\ndefault:\n  turns:\n    - when: [{if: {tools: x}, text: y}]\n", "q.script.yaml")
    assert "q.script.yaml:4" in str(err.value.location)
    with pytest.raises(FatalError):  # when replaces the turn's own reply: not both
        parse_script("version: 1\ndefault:\n  turns:\n    - {text: a, when: [{text: b}]}\n", "r.script.yaml")
