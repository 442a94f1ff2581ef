"""How trace.json was made (not run by the tests; needs mlflow-skinny 3.17.2): an incident agent traced by
MLflow's own tracing, offline, with a scripted model: an AGENT span, two CHAT_MODEL calls whose inputs and
outputs are OpenAI chat shapes (a tool call, then the answer), a TOOL span that raises (the span records
the exception event and ERROR status), a RETRIEVER span returning documents, and a feedback assessment
logged on the trace. The traces live in a local file store (`file:` tracking URI in a temp folder); the
file is `mlflow.get_trace(trace_id).to_json(pretty=True)`, as MLflow writes it. Usage: python generate.py OUT
"""

import os
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow.entities import AssessmentSource, SpanType

QUESTION = "Why is checkout latency above its SLO since the deploy?"
SYSTEM = "You are the incident assistant. Use the tools; answer with the root cause and the evidence."
REPLIES = [
    {"id": "chatcmpl-scripted-1", "object": "chat.completion", "model": "scripted-incident-model",
     "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
         "role": "assistant", "content": None, "tool_calls": [{
             "id": "call_loki_01", "type": "function", "function": {
                 "name": "loki_query", "arguments": '{"query": "{app=\\"checkout\\"} |= \\"timeout\\""}'}}]}}],
     "usage": {"prompt_tokens": 212, "completion_tokens": 31, "total_tokens": 243}},
    {"id": "chatcmpl-scripted-2", "object": "chat.completion", "model": "scripted-incident-model",
     "choices": [{"index": 0, "finish_reason": "stop", "message": {
         "role": "assistant",
         "content": "The Loki query timed out; the runbook says deploy 4821 shrank the connection pool to 5."}}],
     "usage": {"prompt_tokens": 301, "completion_tokens": 24, "total_tokens": 325}},
]


@mlflow.trace(span_type=SpanType.CHAT_MODEL, name="chat scripted-incident-model")
def chat(messages: list[dict], model: str = "scripted-incident-model", temperature: float = 0.2) -> dict:
    return REPLIES[sum(1 for m in messages if m["role"] == "assistant")]


@mlflow.trace(span_type=SpanType.TOOL)
def loki_query(query: str) -> str:
    raise TimeoutError(f"loki: query {query!r} timed out after 30s (upstream 504 from querier-2)")


@mlflow.trace(span_type=SpanType.RETRIEVER)
def search_runbooks(query: str) -> list[dict]:
    return [{"page_content": "Deploy 4821 changed the checkout DB pool from 20 to 5 connections.",
             "metadata": {"doc_uri": "runbooks/checkout-pool.md", "chunk_id": "checkout-pool-3"}, "id": "doc-17"}]


@mlflow.trace(span_type=SpanType.AGENT, name="incident_agent")
def agent(question: str) -> str:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    reply = chat(messages)
    call = reply["choices"][0]["message"]["tool_calls"][0]
    messages.append(reply["choices"][0]["message"])
    try:
        result = loki_query('{app="checkout"} |= "timeout"')
    except TimeoutError as err:
        result = f"error: {err}"
    docs = search_runbooks("checkout latency after deploy")
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    messages.append({"role": "user", "content": "Runbook context: " + docs[0]["page_content"]})
    return chat(messages)["choices"][0]["message"]["content"]


def main(out: Path) -> None:
    store = tempfile.mkdtemp(prefix="mlflow-store-")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # the file store is kept, in maintenance mode
    mlflow.set_tracking_uri(Path(store).as_uri())
    mlflow.set_experiment("incident-agent")
    agent(QUESTION)
    mlflow.flush_trace_async_logging()  # traces are written in the background; wait for them
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.log_feedback(trace_id=trace_id, name="groundedness", value="no",
                        rationale="The answer cites a runbook, not a log line: the logs were never read.",
                        source=AssessmentSource(source_type="HUMAN", source_id="oncall-reviewer"))
    trace = mlflow.get_trace(trace_id)
    out.write_text(trace.to_json(pretty=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
