"""Helpers the readers share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..model import Message, Span, ToolCall, Trace


def each_object(docs: Iterable[Any], skipped: list[Any]) -> Iterator[dict[str, Any]]:
    """Every object of the documents, a top-level array counting as its items; anything else goes to
    `skipped` (the caller keeps it, so nothing is dropped silently)."""
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            if isinstance(item, dict):
                yield item
            else:
                skipped.append(item)


def keep_skipped(traces: list[Trace], skipped: list[Any]) -> list[Trace]:
    if skipped and traces:
        traces[0].metadata["not_read"] = skipped
        traces[0].problems.append(f"{len(skipped)} item(s) of the file are not objects: kept in trace.json "
                                  "(metadata.not_read), not read as traces")
    return traces


class SessionLog:
    """A session transcript being read record by record: its trace, the root agent span and new children
    under it. The root spans the first to the last record time seen. `pending` is the input gathered
    for the next model turn; `tools` the tool spans by call id, for their results to find."""

    def __init__(self, trace: Trace, root: Span) -> None:
        self.trace, self.root = trace, root
        self.pending: list[Message] = []
        self.tools: dict[str, Span] = {}
        trace.spans.append(root)

    def tool_call(self, parent: Span, reply: Message | None, call: ToolCall, now: int | None) -> Span:
        """A tool call of a model turn: on its reply, and as a tool span under `parent`."""
        if reply is not None:
            reply.tool_calls.append(call)
        tool = self.child(parent, f"tool-{call.id or len(self.trace.spans)}", kind="tool", status="ok",
                          name=f"execute_tool {call.name}", start_ns=now, end_ns=now)
        tool.tool_name, tool.tool_call_id, tool.tool_args = call.name, call.id, call.arguments
        self.tools[call.id] = tool
        return tool

    def tool_result(self, call_id: str, text: str, now: int | None) -> Span | None:
        """A tool's result: input of the next model turn, and the result of its call's tool span (None,
        and a problem noted, when the call is not in the file)."""
        self.pending.append(Message(role="tool", content=text, tool_call_id=call_id, time_ns=now))
        tool = self.tools.get(call_id)
        if tool is None:
            self.trace.problems.append(f"tool result for {call_id or '(no id)'} has no matching tool call: "
                                       "kept as a message of the next model turn")
            return None
        tool.tool_result, tool.end_ns = text, now or tool.end_ns
        return tool

    def child(self, parent: Span, span_id: str, **fields: Any) -> Span:
        span = Span(span_id=span_id, parent_id=parent.span_id, trace_id=self.trace.trace_id, **fields)
        self.trace.spans.append(span)
        return span

    def keep_unanswered(self, name: str = "input after the last model turn") -> Span | None:
        """Input gathered after the last model turn (a tool result, a user message nothing answered): kept
        as a chain span of its own under the root (returned; None when there was none), so no message of
        the file is lost."""
        if not self.pending:
            return None
        tail = self.child(self.root, "unanswered", kind="chain", name=name, status="ok",
                          start_ns=self.root.end_ns, end_ns=self.root.end_ns)
        tail.input_messages = self.pending
        return tail

    def total_tokens(self) -> None:
        """The root's token counts: the sum over the session's model turns (None where none says)."""
        llm = [s for s in self.trace.spans if s.kind == "llm"]
        self.root.input_tokens = sum(s.input_tokens or 0 for s in llm) or None
        self.root.output_tokens = sum(s.output_tokens or 0 for s in llm) or None

    def widen(self, now: int | None) -> None:
        if now is not None:
            self.root.start_ns = self.root.start_ns if self.root.start_ns is not None else now
            # the latest time seen: records read after the session's own (a subagent's) may be earlier
            self.root.end_ns = now if self.root.end_ns is None else max(self.root.end_ns, now)
