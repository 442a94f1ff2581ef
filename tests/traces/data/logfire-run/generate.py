"""Chat Completions calls through the OpenAI SDK against a canned server on loopback (a tool call, the
answer after the tool result, a request the server refuses with 429), traced by INSTRUMENTATION
(`openllmetry`: opentelemetry-instrumentation-openai; `logfire`: logfire.instrument_openai), the
spans encoded as OTLP/JSON by the OpenTelemetry exporter's encoder. Usage: python generate.py
openllmetry|logfire OUT_FILE"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from openai import OpenAI, RateLimitError
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

CALL = {"id": "call_loki_01", "type": "function",
        "function": {"name": "loki_query", "arguments": json.dumps({"query": '{app="checkout"} |= "timeout"'})}}
REPLIES: list[dict[str, Any] | None] = [
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "assistant", "content": "Checkout times out acquiring a database connection since deploy 4821."},
    None,  # 429
]
TOOLS = [{"type": "function", "function": {"name": "loki_query", "description": "Run a LogQL query.",
          "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]


class Handler(BaseHTTPRequestHandler):
    served = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        message = REPLIES[Handler.served]
        Handler.served += 1
        n = Handler.served
        if message is None:
            status, reply = 429, {"error": {"message": "Rate limit reached for gpt-4.1 on tokens per min (TPM)",
                                            "type": "tokens", "code": "rate_limit_exceeded"}}
        else:
            status, reply = 200, {
                "id": f"chatcmpl-{n:03d}", "object": "chat.completion", "created": 1764694340 + n,
                "model": "gpt-4.1-2025-04-14", "system_fingerprint": "fp_f99638a8d7",
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                "usage": {"prompt_tokens": 120 + 40 * n, "completion_tokens": 18 + n, "total_tokens": 138 + 41 * n}}
        body = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def traced(kind: str) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    if kind == "logfire":
        import logfire
        logfire.configure(send_to_logfire=False, console=False, service_name="incident-bot",
                          additional_span_processors=[SimpleSpanProcessor(exporter)])
        logfire.instrument_openai()
        return exporter
    from opentelemetry import trace
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument()
    return exporter


def run() -> None:
    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = OpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="unused", max_retries=0)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are the incident assistant. Use the tools; answer with the root cause."},
        {"role": "user", "content": "Why is checkout latency above its SLO since the deploy?"}]
    first = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": "call_loki_01",
                  "content": "14:05 checkout timeout acquiring connection (pool 5/5)"}]
    client.chat.completions.create(model="gpt-4.1", messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    try:
        client.chat.completions.create(model="gpt-4.1", messages=messages[:2])  # type: ignore[arg-type]
    except RateLimitError:
        pass


exporter = traced(sys.argv[1])
run()
spans = MessageToDict(encode_spans(exporter.get_finished_spans()))
Path(sys.argv[2]).write_text(json.dumps(spans, indent=2) + "\n")
