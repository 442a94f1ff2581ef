"""How calls.wal.jsonl was made (not run by the tests; needs weave 0.54.0): an incident agent traced by W&B
Weave's `@weave.op`, offline, with a scripted model: an agent op calling a chat op twice (OpenAI chat
shapes in and out, with usage), a tool op that raises (the call ends with an exception), and a runbook
search op. Weave's client is made with its durable write-ahead log on and the WAL sender off
(`WEAVE_ENABLE_WAL`, `WEAVE_DISABLE_WAL_SENDER`), so every call_start / call_end / obj_create request
the SDK would send is written to `~/.weave/wal/<entity>/<project>/<time>_<id>.jsonl` and nothing
reaches a server; HOME is a temp folder. The file is that WAL, unedited. Usage: python generate.py OUT
"""

import glob
import os
import shutil
import sys
import tempfile

home = tempfile.mkdtemp(prefix="weave-home-")
os.environ.update(HOME=home, WEAVE_ENABLE_WAL="true", WEAVE_DISABLE_WAL_SENDER="true", WANDB_API_KEY="x" * 40,
                  WEAVE_PRINT_CALL_LINK="false", WEAVE_TRACE_SERVER_URL="http://127.0.0.1:9")

import weave  # after the environment above: weave reads it on import
from weave.trace import weave_client, weave_init
from weave.trace.context import weave_client_context
from weave.wandb_interface.auth import ApiKeyCredentials

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


@weave.op(name="chat.completions.create")
def chat(messages: list[dict], model: str = "scripted-incident-model", temperature: float = 0.2) -> dict:
    return REPLIES[sum(1 for m in messages if m["role"] == "assistant")]


@weave.op(kind="tool")
def loki_query(query: str) -> str:
    raise TimeoutError(f"loki: query {query!r} timed out after 30s (upstream 504 from querier-2)")


@weave.op
def search_runbooks(query: str) -> list[dict]:
    return [{"page_content": "Deploy 4821 changed the checkout DB pool from 20 to 5 connections.",
             "doc_uri": "runbooks/checkout-pool.md"}]


@weave.op(kind="agent")
def incident_agent(question: str) -> str:
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


def main(out: str) -> None:
    server = weave_init.init_weave_get_server(ApiKeyCredentials("x" * 40), should_batch=False)
    client = weave_client.WeaveClient("oncall", "incident-agent", server, ensure_project_exists=False)
    weave_client_context.set_weave_client_global(client)
    incident_agent(QUESTION)
    client.finish()
    (wal,) = glob.glob(os.path.join(home, ".weave", "wal", "**", "*.jsonl"), recursive=True)
    shutil.copyfile(wal, out)


if __name__ == "__main__":
    main(sys.argv[1])
