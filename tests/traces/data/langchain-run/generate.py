"""How this folder's files were made (not run by the tests; needs langchain-core, langsmith,
openinference-instrumentation-langchain, opentelemetry-sdk, opentelemetry-exporter-otlp-proto-common).

One scripted LangChain session, run offline three times: an agent, a tool loop in a `chain` (two tool-calling turns, one
with two calls at once, then the answer), a streamed chat call, a completion model's call, and a
batch of two chat prompts (one with a `ChatMessage` of a custom role).
- `langsmith`: LangChain's tracer sends the runs to a loopback stand-in of the LangSmith API (`/info`
  says to use `/runs/batch`); `langsmith_batch.json` is every batch body it received, merged into one
  (`{"post": [...], "patch": [...]}`), `langsmith_runs.jsonl` the runs as the API stores them (each
  post with its patches applied), one per line.
- `openinference`: openinference-instrumentation-langchain's spans, each export call one OTLP/JSON line
  (`openinference_agent.jsonl`); `hidden`: the same with `TraceConfig(hide_input_messages=True,
  hide_output_messages=True)` (`openinference_agent_hidden-messages.jsonl`).
Usage: python generate.py langsmith|openinference|hidden OUT_DIR"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import chain
from langchain_core.tools import tool

SYSTEM = "You are the on-call assistant for the checkout service. Use the tools; cite deploy numbers."
QUESTION = "Why did checkout p99 latency jump after 14:00 UTC today?"


def _reply(n: int, content: str, calls: list[dict[str, Any]]) -> AIMessage:
    return AIMessage(content=content, tool_calls=calls, id=f"run-scripted-{n:03d}",
                     usage_metadata={"input_tokens": 180 + 60 * n, "output_tokens": 21 + n, "total_tokens": 201 + 61 * n},
                     response_metadata={"model_name": "gpt-4.1-2025-04-14",
                                        "finish_reason": "tool_calls" if calls else "stop"})


REPLIES = [
    _reply(1, "", [{"name": "deploy_log", "args": {"service": "checkout", "hours": 6}, "id": "call_deploy_01"}]),
    _reply(2, "Deploy 4821 shrank the pool; checking the logs and the pool metrics.", [
        {"name": "loki_query", "args": {"query": '{app="checkout"} |= "timeout"', "limit": 50}, "id": "call_loki_02"},
        {"name": "pool_metrics", "args": {"service": "checkout"}, "id": "call_pool_03"}]),
    _reply(3, "Checkout latency rose after deploy 4821 (14:02 UTC): the connection pool went from 20 to 5 "
              "and requests wait for a connection (p99 2.8s, 37 timeouts).", []),
]


class ScriptedChat(BaseChatModel):
    """A chat model that answers from a script, in order; `bind_tools` keeps the script."""

    replies: list[AIMessage]
    served: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted-chat"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChat:
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        message = self.replies[self.served % len(self.replies)]
        self.served += 1
        return ChatResult(generations=[ChatGeneration(message=message, generation_info={
            "finish_reason": message.response_metadata.get("finish_reason")})],
            llm_output={"model_name": "gpt-4.1-2025-04-14", "token_usage": message.usage_metadata})

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for word in ["Pool ", "size ", "5 ", "is ", "too ", "small ", "for ", "peak ", "traffic."]:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word, id="run-scripted-stream"))
            if run_manager:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk


@tool
def deploy_log(service: str, hours: int) -> str:
    """Deploys of a service in the last hours."""
    return f"{service}: deploy 4821 at 14:02 UTC by ci-bot (db pool size 20 -> 5)"


@tool
def loki_query(query: str, limit: int = 100) -> str:
    """Run a LogQL query against Loki."""
    return "37 lines: 'timeout acquiring connection from pool checkout-db (waited 2.5s)'"


@tool
def pool_metrics(service: str) -> str:
    """Connection pool metrics of a service."""
    return json.dumps({"service": service, "pool_size": 5, "waiting_p99_ms": 2810, "in_use_max": 5})


TOOLS = {t.name: t for t in (deploy_log, loki_query, pool_metrics)}


@chain
def incident_agent(question: str) -> str:
    """A tool loop: the model's calls run, their ToolMessages go back, until it answers."""
    model = ScriptedChat(replies=REPLIES).bind_tools(list(TOOLS.values()))
    messages: list[BaseMessage] = [SystemMessage(SYSTEM), HumanMessage(question)]
    while True:
        reply = model.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        messages += [TOOLS[call["name"]].invoke(call) for call in reply.tool_calls]


def session() -> None:
    incident_agent.invoke(QUESTION)
    chat = ScriptedChat(replies=[_reply(4, "Roll back deploy 4821 or raise the pool to 20.", [])])
    "".join(str(c.content) for c in chat.stream([SystemMessage(SYSTEM), HumanMessage("One-line summary, please.")]))
    FakeListLLM(responses=["INC-142: checkout latency, cause deploy 4821 (pool 20 -> 5)."]).invoke(
        "Write the incident title for: checkout p99 latency after deploy 4821.")
    chat.batch([[HumanMessage("Who owns checkout-db?")],
                [SystemMessage(SYSTEM), ChatMessage(role="pagerduty", content="INC-142 acknowledged by dana"),
                 HumanMessage("Post the status update.")]])


class LangSmithStandIn(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer({"version": "0.10.0", "batch_ingest_config": {"use_multipart_endpoint": False,
                                                                    "size_limit": 100, "size_limit_bytes": 20971520, "scale_up_qsize_trigger": 1000,
                                                                    "scale_up_nthreads_limit": 16, "scale_down_nempty_trigger": 4}}
                     if self.path.startswith("/info") else {})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/runs/batch"):
            LangSmithStandIn.bodies.append(json.loads(body))
        self._answer({})

    def log_message(self, *args: Any) -> None:
        pass


def langsmith(out: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), LangSmithStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ.update({"LANGSMITH_TRACING": "true", "LANGSMITH_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
                       "LANGSMITH_API_KEY": "lsv2_pt_standin", "LANGSMITH_PROJECT": "incident-agent"})
    from langchain_core.tracers.langchain import wait_for_all_tracers

    session()
    wait_for_all_tracers()
    merged: dict[str, list[Any]] = {"post": [], "patch": []}
    for body in LangSmithStandIn.bodies:
        merged["post"] += body.get("post") or []
        merged["patch"] += body.get("patch") or []
    (out / "langsmith_batch.json").write_text(json.dumps(merged, indent=1) + "\n", encoding="utf-8")
    runs = {r["id"]: dict(r) for r in merged["post"]}
    for patch in merged["patch"]:
        runs[patch["id"]].update(patch)
    (out / "langsmith_runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs.values()), encoding="utf-8")


def openinference(out: Path, hide: bool) -> None:
    from google.protobuf.json_format import MessageToDict
    from openinference.instrumentation import TraceConfig
    from openinference.instrumentation.langchain import LangChainInstrumentor
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    lines: list[str] = []

    class JsonLines(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            lines.append(json.dumps(MessageToDict(encode_spans(spans))) + "\n")
            return SpanExportResult.SUCCESS

    provider = TracerProvider(resource=Resource.create({"service.name": "incident-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLines()))
    config = TraceConfig(hide_input_messages=hide, hide_output_messages=hide)
    LangChainInstrumentor().instrument(tracer_provider=provider, config=config)
    session()
    name = "openinference_agent_hidden-messages.jsonl" if hide else "openinference_agent.jsonl"
    (out / name).write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    what, folder = sys.argv[1], Path(sys.argv[2])
    if what == "langsmith":
        langsmith(folder)
    else:
        openinference(folder, hide=what == "hidden")
