"""The corroborated view: framing repeated over unrelated failures binds nothing, a cause's words do."""

from __future__ import annotations

from typing import Any

from agentbook.backtest.features import build_features, corroborated, describe_failure

FRAME = "Root cause: {}. Impact: the customer got a wrong or incomplete answer."


def _analysis(mode: str, change: str, path: str = "app/agent.py", stage: str = "answer") -> dict[str, Any]:
    return {"failure_mode": mode, "summary": mode, "proposed_change": change, "stage": stage,
            "suspected": [{"path": path, "line": None}], "error_signature": None, "first_wrong_step": None}


def test_framing_shared_by_unrelated_failures_binds_nothing_but_a_cause_does() -> None:
    unrelated = ["the reply was cut off at the token limit", "the attachment was never opened",
                 "weekend days were counted as business days", "an internal note leaked into the reply",
                 "the agent answered the oldest message of the thread"]
    cause = ["the billing lookup timed out and the invoice total was unknown",  # paraphrases: each word
             "billing API timed out, so the invoice was missing",  # in some of them, not all
             "invoice total missing: billing lookup was too slow"]
    items = [describe_failure(_analysis(FRAME.format(m), "Add an eval case for this ticket.")) for m in unrelated]
    items += [describe_failure(_analysis(m, "Retry the billing lookup once.", "app/billing.py", "tool-execution"))
              for m in cause]
    plain = build_features(items).similarity()
    view = corroborated(build_features(items)).similarity()
    noise, ours = range(5), range(5, 8)
    assert min(plain[i, j] for i in noise for j in noise if i != j) > 0.1  # the framing makes them alike
    assert max(view[i, j] for i in noise for j in noise if i != j) < 0.05  # not once other evidence is asked for
    assert min(view[i, j] for i in ours for j in ours if i != j) > 0.3


def test_failures_described_identically_back_each_other() -> None:
    """A cause every analysis words the same way is the strongest agreement there is, even though all
    its terms always occur together."""
    same = _analysis("The query parser rejected the selector.", "Quote label values in the prompt.", "prompts/q.md")
    items = [describe_failure(same) for _ in range(4)]
    items += [describe_failure(_analysis(f"unrelated problem number {w}", f"fix {w}")) for w in
              ("alpha", "bravo", "charlie", "delta")]
    view = corroborated(build_features(items)).similarity()
    assert min(view[i, j] for i in range(4) for j in range(4)) > 0.99
