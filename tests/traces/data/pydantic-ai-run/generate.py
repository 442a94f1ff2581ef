"""How all_messages.json and otel_spans_otlp.json were made (not run by the tests; needs pydantic-ai-slim,
opentelemetry-sdk and opentelemetry-exporter-otlp-proto-common): a Pydantic AI agent run offline with a
FunctionModel (a tool call, a tool raising ModelRetry, the call again, an answer). The files are what
the libraries write: `all_messages_json()`, and the instrumentation's spans encoded as OTLP/JSON by the
OpenTelemetry exporter's encoder. Usage: python generate.py OUT_DIR"""

import json
import sys
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic_ai import Agent, ModelRetry, RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.instrumented import InstrumentationSettings

QUERY = '{app="checkout"} |= "timeout"'
REPLIES = [
    [TextPart("Checking the deploy log first."),
     ToolCallPart("deploy_log", {"service": "checkout", "hours": 6}, "call_deploy_01")],
    [ToolCallPart("loki_query", {"query": QUERY}, "call_loki_02")],
    [ToolCallPart("loki_query", {"query": QUERY, "limit": 50}, "call_loki_03")],
    [TextPart("Checkout latency rose after deploy 4821: the new connection pool (size 5) times out under load.")],
]


def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=REPLIES[sum(isinstance(m, ModelResponse) for m in messages)])


exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
agent = Agent(FunctionModel(model, model_name="function:incident"), name="incident_agent",
              instructions="You are the incident assistant. Use the tools; answer with the root cause.")
agent.instrument = InstrumentationSettings(tracer_provider=provider, include_content=True)
attempts = [0]


@agent.tool_plain
def deploy_log(service: str, hours: int) -> str:
    """Deploys of a service in the last hours."""
    return f"{service}: deploy 4821 at 14:02 UTC (pool size 20 -> 5)"


@agent.tool
def loki_query(ctx: RunContext[None], query: str, limit: int = 1000) -> list[str]:
    """Run a LogQL query."""
    attempts[0] += 1
    if attempts[0] == 1:
        raise ModelRetry("limit must be at most 100")
    return ["14:05 checkout timeout acquiring connection (pool 5/5)"] * 2


result = agent.run_sync("Why is checkout latency above its SLO since the deploy?")
out = Path(sys.argv[1])
(out / "all_messages.json").write_bytes(result.all_messages_json())
spans = MessageToDict(encode_spans(exporter.get_finished_spans()))
(out / "otel_spans_otlp.json").write_text(json.dumps(spans, indent=2) + "\n")
