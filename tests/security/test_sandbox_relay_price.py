"""Attacks on what the keyless relay pays per token. The relay passed any `anthropic-beta` header and any
body field upstream, and budgeted every request at the model's standard rates: a beta or field can
change the rate (fast mode bills six times it, US-only inference 1.1 times, the 1M-context beta bills
a long request's input twice over and its output 1.5 times) or have the model's servers act for the
agent (web fetch, code execution, files), on the runner's key. Each attack is made by the real SDK
against the real relay; upstream is the stand-in on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from relay_kit import send, through_relay

from agentbook.models.relay import RelayLimits
from agentbook.models.spec import written_spec_problem
from agentbook.standin import StandinServer, parse_script, running

MODEL = "claude-sonnet-4-5"  # $3 in, $15 out per million tokens; past 200K input with the beta, $6 and $22.50
LONG_INPUT = 250_000
CLAUDE_CODE_BETAS = ("claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
                     "thinking-display-updates-2026-08-18,mid-conversation-tool-changes-2026-07-01,"
                     "advanced-tool-use-2025-11-20,thinking-token-count-2026-05-13,effort-2025-11-24")
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def upstream() -> Iterator[StandinServer]:
    script = f"""
        version: 1
        default:
          turns:
            - text: ok
              usage: {{input_tokens: {LONG_INPUT}, output_tokens: 1000}}
    """
    with running(parse_script(script, "upstream.script.yaml")) as server:
        yield server


def _send(tmp_path: Path, upstream: StandinServer, **request: Any) -> tuple[Any, Any, list[dict[str, Any]]]:
    relay, result, events = through_relay(
        tmp_path, upstream, lambda client: send(client, **{"model": MODEL, "max_tokens": 1000, "messages": HELLO,
                                                           **request}),
        model=MODEL, limits=RelayLimits(max_usd=50.0))
    return relay, result, events


@pytest.mark.parametrize("beta", ["fast-mode-2026-02-01", "web-fetch-2025-09-10", "code-execution-2025-08-25",
                                  "files-api-2025-04-14", "compact-2026-01-12", "advisor-tool-2026-03-01",
                                  "made-up-2099-01-01"])
def test_a_beta_the_budget_cannot_count_is_refused(tmp_path: Path, upstream: StandinServer, beta: str) -> None:
    _, refused, events = _send(tmp_path, upstream,
                               extra_headers={"anthropic-beta": f"interleaved-thinking-2025-05-14, {beta}"})
    assert isinstance(refused, anthropic.BadRequestError), refused  # 400: not retried
    assert f"the beta '{beta}' is not relayed" in str(refused) and "Relayed betas: " in str(refused)
    assert upstream.requests(None) == []
    assert [e["reason"] for e in events if e["event"] == "relay_refused"] == ["price"]


@pytest.mark.parametrize("field", [{"speed": "fast"}, {"inference_geo": "us"}])
def test_a_body_field_that_changes_the_price_is_refused(tmp_path: Path, upstream: StandinServer,
                                                         field: dict[str, str]) -> None:
    _, refused, _ = _send(tmp_path, upstream, extra_body=field)
    assert isinstance(refused, anthropic.BadRequestError) and "is not relayed" in str(refused), refused
    assert upstream.requests(None) == []


def test_claude_codes_own_betas_are_relayed(tmp_path: Path, upstream: StandinServer) -> None:
    """What Claude Code 2.1.x sends by itself (seen on the wire) still reaches the model, unchanged."""
    relay, reply, _ = _send(tmp_path, upstream, extra_headers={"anthropic-beta": CLAUDE_CODE_BETAS})
    assert reply.content[0].text == "ok"
    assert upstream.requests()[0]["headers"]["anthropic-beta"] == CLAUDE_CODE_BETAS
    assert relay.stats.cost_usd == pytest.approx((LONG_INPUT * 3 + 1000 * 15) / 1e6)  # no long-context beta


def test_the_long_context_beta_is_budgeted_at_its_rates(tmp_path: Path, upstream: StandinServer) -> None:
    """With the 1M-context beta, 250K tokens of input cost $1.50 and 1,000 of output $0.0225, not $0.75 and
    $0.015: a budget counted at the standard rates let the agent spend twice it."""
    relay, reply, _ = _send(tmp_path, upstream, extra_headers={"anthropic-beta": "context-1m-2025-08-07"})
    assert reply.content[0].text == "ok"
    assert relay.stats.cost_usd == pytest.approx((LONG_INPUT * 6 + 1000 * 22.5) / 1e6)


def test_the_long_context_beta_is_reserved_at_its_rates(tmp_path: Path, upstream: StandinServer) -> None:
    """The worst case held before sending is at the beta's rates too: $0.02 pays for 1,333 output tokens at
    $15 a million but only 888 at $22.50."""
    _, _, events = through_relay(
        tmp_path, upstream, lambda client: send(client, model=MODEL, max_tokens=5000, messages=HELLO,
                                                extra_headers={"anthropic-beta": "context-1m-2025-08-07"}),
        model=MODEL, limits=RelayLimits(max_usd=0.02))
    sent = upstream.requests()[0]["body"]["max_tokens"]
    assert sent * 22.5 / 1e6 <= 0.02, sent
    assert any(e["event"] == "relay_clamped" for e in events)


@pytest.mark.parametrize("option", ["body.speed=%22fast%22", "body.inference_geo=%22us%22",
                                    "body.mcp_servers=%5B%5D", "body.container=%22c%22"])
def test_a_written_spec_may_not_set_a_priced_or_reaching_body_field(option: str) -> None:
    """A suite's providers (or a run spec's model) went straight to the SDK with these extra fields."""
    problem = written_spec_problem(f"anthropic:claude-opus-4-6?{option}")
    assert problem is not None and "a file may set only sampling fields" in problem
    assert written_spec_problem("compat:http://127.0.0.1:11434#llama?body.keep_alive=%225m%22") is None
