"""Attack kit for the keyless relay: the real `anthropic` SDK, as the jailed agent, against the real
relay, whose upstream (the model's servers) is the stand-in on loopback.

Imported by `test_sandbox_relay*.py` (pytest runs in importlib mode, so they add this folder to sys.path).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anthropic

from agentbook.models.relay import Relay, RelayLimits
from agentbook.redaction import Redactor
from agentbook.session.transcript import Transcript
from agentbook.standin import StandinServer

Attack = Callable[[anthropic.AsyncAnthropic], Awaitable[Any]]


def through_relay(tmp_path: Path, upstream: StandinServer, attack: Attack, *, model: str = "m",
                  limits: RelayLimits | None = None) -> tuple[Relay, Any, list[dict[str, Any]]]:
    """Run `attack(client)`, the client pointed at a relay for `model` on `upstream` (no retries: each
    request is the attacker's own); (the relay, the attack's result, the transcript's events)."""
    async def go() -> tuple[Relay, Any]:
        transcript = Transcript(tmp_path / "transcript.jsonl", "run-1", Redactor([]))
        relay = Relay(f"compat:{upstream.base_url}#{model}", limits=limits, transcript=transcript)
        await relay.start()
        client = anthropic.AsyncAnthropic(base_url=relay.base_url, api_key=relay.token, max_retries=0)
        try:
            return relay, await attack(client)
        finally:
            await client.close()
            await relay.stop()
            transcript.close()

    relay, result = asyncio.run(go())
    path = tmp_path / "transcript.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return relay, result, events


async def send(client: anthropic.AsyncAnthropic, **request: Any) -> Any:
    """One Messages request: the reply, or the API's error as a value (what the relay answered)."""
    try:
        return await client.messages.create(**request)
    except anthropic.APIStatusError as err:
        return err


def one_request(**request: Any) -> Attack:
    """The attack of sending `request` once (model "m" and 64 max_tokens unless it says otherwise)."""
    return lambda client: send(client, **{"model": "m", "max_tokens": 64, **request})
