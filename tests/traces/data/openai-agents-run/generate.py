"""How export.json was made (not run by the tests; needs openai-agents): an OpenAI Agents SDK agent run
offline against a canned Chat Completions server on loopback (a tool call, a tool that raises, an
answer). The file is what the SDK's tracing exports, `item.export()` of every trace and span, in the
`{"data": [...]}` body its backend exporter posts. Usage: python generate.py OUT_DIR"""

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from agents import Agent, OpenAIChatCompletionsModel, RunConfig, Runner, function_tool, set_trace_processors
from agents.tracing.processor_interface import TracingProcessor
from openai import AsyncOpenAI


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}


REPLIES = [
    _call("call_deploy_01", "deploy_log", {"service": "checkout", "hours": 6}),
    _call("call_loki_02", "loki_query", {"query": '{app="checkout"} |= "timeout"'}),
    {"role": "assistant",
     "content": "Checkout latency rose after deploy 4821: the new connection pool (size 5) times out under load."},
]


class Handler(BaseHTTPRequestHandler):
    served = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        message = REPLIES[Handler.served]
        Handler.served += 1
        n = Handler.served
        body = json.dumps({
            "id": f"chatcmpl-{n:03d}", "object": "chat.completion", "created": 1764694340 + n,
            "model": "gpt-4.1-2025-04-14",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": 120 + 40 * n, "completion_tokens": 18 + n, "total_tokens": 138 + 41 * n},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Keep(TracingProcessor):
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def on_trace_start(self, trace: Any) -> None:
        pass

    def on_trace_end(self, trace: Any) -> None:
        self.items.append(trace.export())

    def on_span_start(self, span: Any) -> None:
        pass

    def on_span_end(self, span: Any) -> None:
        self.items.append(span.export())

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


@function_tool
def deploy_log(service: str, hours: int) -> str:
    """Deploys of a service in the last hours."""
    return f"{service}: deploy 4821 at 14:02 UTC (pool size 20 -> 5)"


@function_tool
def loki_query(query: str) -> str:
    """Run a LogQL query."""
    raise TimeoutError("Loki did not answer within 30s")


server = HTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
keep = Keep()
set_trace_processors([keep])
client = AsyncOpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="unused")
agent = Agent(name="incident_agent", tools=[deploy_log, loki_query],
              instructions="You are the incident assistant. Use the tools; answer with the root cause.",
              model=OpenAIChatCompletionsModel("gpt-4.1", client))
config = RunConfig(workflow_name="incident triage", trace_include_sensitive_data=True)
asyncio.run(Runner.run(agent, "Why is checkout latency above its SLO since the deploy?", run_config=config))
items = [item for item in keep.items if item]
(Path(sys.argv[1]) / "export.json").write_text(json.dumps({"data": items}, indent=2))
