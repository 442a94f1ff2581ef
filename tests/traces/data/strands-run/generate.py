"""How this folder's files were made (not run by the tests; needs strands-agents, opentelemetry-sdk,
opentelemetry-exporter-otlp-proto-common): a Strands agent run offline with a scripted model (a tool
call, a tool that raises, the call again, the answer), its native OpenTelemetry spans encoded as
OTLP/JSON, one export per line.
- `latest`: with `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental` (the newer GenAI conventions:
  content on `gen_ai.client.inference.operation.details` events, `gen_ai.input.messages` /
  `gen_ai.output.messages` with typed parts) -> `agent_latest_semconv.jsonl`
- `legacy`: without it (per-message events `gen_ai.user.message`, `gen_ai.choice`, ...) -> `agent.jsonl`
Usage: OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental python generate.py latest OUT_DIR;
python generate.py legacy OUT_DIR"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from strands import Agent, tool
from strands.models.model import Model
from strands.telemetry import StrandsTelemetry

SYSTEM = "You are the on-call assistant for the checkout service. Use the tools; cite deploy numbers."
QUESTION = "Why did checkout p99 latency jump after 14:00 UTC today?"


def _call(call_id: str, name: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"contentBlockStart": {"start": {"toolUse": {"toolUseId": call_id, "name": name}}}},
            {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(args)}}}},
            {"contentBlockStop": {}}]


def _text(text: str) -> list[dict[str, Any]]:
    return [{"contentBlockDelta": {"delta": {"text": text}}}, {"contentBlockStop": {}}]


TURNS = [
    (_text("Checking the deploys first.") + _call("tooluse_deploy_01", "deploy_log", {"service": "checkout", "hours": 6}),
     "tool_use"),
    (_call("tooluse_loki_02", "loki_query", {"query": '{app="checkout"} |= "timeout"', "limit": 500}), "tool_use"),
    (_call("tooluse_loki_03", "loki_query", {"query": '{app="checkout"} |= "timeout"', "limit": 50}), "tool_use"),
    (_text("Checkout latency rose after deploy 4821 (14:02 UTC): the db pool went from 20 to 5 and requests "
           "wait for a connection (37 timeouts in the logs)."), "end_turn"),
]


class ScriptedModel(Model):
    """Answers from TURNS, in order, as a provider's stream of Bedrock-shaped events."""

    def __init__(self) -> None:
        self.served = 0
        self.config: dict[str, Any] = {"model_id": "scripted-claude-sonnet-4-5"}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> Any:
        return self.config

    def structured_output(self, output_model: Any, prompt: Any, system_prompt: Any = None, **kwargs: Any) -> Any:
        raise NotImplementedError

    async def stream(self, messages: Any, tool_specs: Any = None, system_prompt: Any = None,
                     **kwargs: Any) -> AsyncIterator[Any]:
        blocks, stop = TURNS[self.served]
        self.served += 1
        yield {"messageStart": {"role": "assistant"}}
        for block in blocks:
            yield block
        yield {"messageStop": {"stopReason": stop}}
        yield {"metadata": {"usage": {"inputTokens": 300 + 120 * self.served, "outputTokens": 30 + self.served,
                                      "totalTokens": 330 + 121 * self.served}, "metrics": {"latencyMs": 400}}}


@tool
def deploy_log(service: str, hours: int) -> str:
    """Deploys of a service in the last hours."""
    return f"{service}: deploy 4821 at 14:02 UTC by ci-bot (db pool size 20 -> 5)"


@tool
def loki_query(query: str, limit: int = 100) -> str:
    """Run a LogQL query against Loki."""
    if limit > 100:
        raise ValueError("limit must be at most 100")
    return "37 lines: 'timeout acquiring connection from pool checkout-db (waited 2.5s)'"


def main(out: Path) -> None:
    lines: list[str] = []

    class JsonLines(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            lines.append(json.dumps(MessageToDict(encode_spans(spans))) + "\n")
            return SpanExportResult.SUCCESS

    telemetry = StrandsTelemetry()
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLines()))
    agent = Agent(model=ScriptedModel(), tools=[deploy_log, loki_query], system_prompt=SYSTEM, name="incident_agent",
                  callback_handler=None)
    asyncio.run(agent.invoke_async(QUESTION))
    telemetry.tracer_provider.force_flush()
    out.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    what, folder = sys.argv[1], Path(sys.argv[2])
    main(folder / ("agent_latest_semconv.jsonl" if what == "latest" else "agent.jsonl"))
