"""`eval capture`: one LLM call from a trace becomes a new case of a suite.

The call is read from an exported span folder (`span.yaml`, `messages/NNN-role.md`) or from an OTLP
file by span id. Its prompt variables are recovered by matching the rendered user message against the
suite's own prompt template (`{{var}}` placeholders become capture groups); when the template does not
match, the whole message becomes `vars.input`. Values over the sidecar limit go to
`sidecars/<id>.<var>.txt` next to the suite, referenced as `file://`. Trace content is data: it is
stored, never interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.evals.cases import EditResult, write_bytes
from agentbook.evals.render import chat_template, load_prompts
from agentbook.evals.store import Suite

_HEADER = re.compile(r"\A# message \d+ · (\w+) · (input|output)\n\n?")
_TRUNCATED = re.compile(r"\[truncated: \d+ bytes, rest in ([^\]]+)\]\s*\Z")
_PLACEHOLDER = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")


@dataclass
class CapturedCall:
    inputs: list[tuple[str, str]]  # (role, text), system included
    output: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def user_text(self) -> str:
        users = [text for role, text in self.inputs if role == "user"]
        if not users:
            raise FatalError("the span has no user message to turn into a case")
        return users[-1]


def from_span_folder(folder: Path) -> CapturedCall:
    span_file = folder / "span.yaml"
    if not span_file.is_file():
        raise FatalError(f"{folder} is not an exported span folder (no span.yaml)",
                         hint="pass a folder like trace/001-agent-x/003-llm-chat-y from `agentbook trace export`")
    span = yamlsafe.load(yamlsafe.read_bytes(span_file), str(span_file)) or {}
    if not isinstance(span, dict):
        raise FatalError("span.yaml must be a mapping", location=str(span_file))
    if span.get("kind") != "llm":
        raise FatalError(f"span {span.get('name', folder.name)!r} is of kind {span.get('kind')}; only llm spans become cases",
                         location=str(span_file), hint=_llm_span_hint(folder))
    inputs: list[tuple[str, str]] = []
    outputs: list[str] = []
    for path in sorted((folder / "messages").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        m = _HEADER.match(text)
        role, side = (m.group(1), m.group(2)) if m else (path.stem.split("-", 1)[-1], "input")
        body = _untruncate(text[m.end():] if m else text, folder)
        (inputs.append((role, body)) if side == "input" else outputs.append(body))
    meta = {"trace_id": span.get("trace_id", ""), "span_id": span.get("id", ""), "span": span.get("name", ""),
            "model": span.get("model", "")}
    return CapturedCall(inputs, "\n".join(outputs).strip(), meta)


def _llm_span_hint(folder: Path) -> str | None:
    """Where the llm spans are: under this span, or nowhere in its export (an Inspect sample scored without
    its model events, as kevinschaul/llm-evals' logs are, has only its agent span: dogfood found no way on)."""
    under = min((p for p in folder.glob("**/*-llm-*") if (p / "span.yaml").is_file()), default=None)
    if under is not None:
        return f"capture an llm span under it, such as {under}"
    root = next((p for p in folder.parents if (p / "index.tsv").is_file()), None)
    if root is None:
        return None
    with (root / "index.tsv").open(encoding="utf-8", errors="replace") as fh:
        if any(line.split("\t")[1:2] == ["llm"] for line in fh):
            return f"pick an llm span from {root / 'index.tsv'} (kind llm)"
    return ("this trace recorded no model call (no llm span in its export): write the case from the span's "
            "input.md and output.md into a file and `agentbook eval add SUITE --file FILE`")


def _untruncate(body: str, folder: Path) -> str:
    m = _TRUNCATED.search(body)
    if m is None:
        return body.rstrip("\n")
    rest = (folder / m.group(1).strip()).resolve()
    if not rest.is_relative_to(folder.resolve().parent.parent) or not rest.is_file():
        return body[:m.start()].rstrip("\n")
    return body[:m.start()] + rest.read_text(encoding="utf-8").rstrip("\n")


def from_otlp(path: Path, span_id: str) -> CapturedCall:
    from agentbook.traces import read_trace

    for trace in read_trace(path):
        for span in _walk(trace):
            if span.span_id == span_id:
                inputs = [(m.role, m.content) for m in span.input_messages]
                output = "\n".join(m.content for m in span.output_messages) or span.output_text
                meta = {"trace_id": span.trace_id, "span_id": span.span_id, "span": span.name,
                        "model": span.model}
                return CapturedCall(inputs, output, meta)
    raise FatalError(f"no span {span_id!r} in {path}", hint="see the ids with `agentbook trace export`")


def _walk(trace: Any) -> list[Any]:
    return list(trace.spans)


def extract_vars(template: str, text: str) -> dict[str, str] | None:
    """The values of `{{var}}` placeholders that render `template` into `text`, or None.

    Traces often record the message without the template's preamble or closing instructions, so
    after an exact match fails, the text before the first placeholder is matched by its last paragraph
    only and the text after the last one is optional.
    """
    literals: list[str] = []
    names: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        literals.append(template[pos:m.start()])
        names.append(m.group(1))
        pos = m.end()
    literals.append(template[pos:])
    if not names:
        return None
    exact = _pattern(literals, names, re.escape(literals[0]), re.escape(literals[-1]))
    found = _fullmatch(exact, text)
    if found is None:
        preamble = literals[0].rstrip()
        if not preamble:  # nothing before the first placeholder to anchor a loose match: any text would do
            return None
        # the last paragraph before the placeholder (and the blank line after it) anchors the match; an
        # empty anchor, when the placeholder follows a blank line, matched any message at all
        head = preamble.split("\n\n")[-1] + literals[0][len(preamble):]
        tail = literals[-1].strip("\n").split("\n\n")[0]
        loose = _pattern(literals, names, r"[\s\S]*?" + re.escape(head),
                         f"(?:\\s*{re.escape(tail)}[\\s\\S]*)?" if tail else r"\s*")
        found = _fullmatch(loose, text)
    return {k: v for k, v in found.groupdict().items()} if found else None


MATCH_SECONDS = 2.0


def _fullmatch(pattern: str, text: str) -> regex.Match[str] | None:
    """`pattern` over the whole `text`, or None, also when it runs past MATCH_SECONDS: each placeholder is a
    lazy `.*?`, so a prompt with several side by side (the suite's, anyone's to write) backtracks through
    every split of a message it does not fit (the trace's, anyone's too), and Python's `re` could not be
    stopped: five took minutes on 300 characters. Not matched, the message is captured whole (`vars.input`)."""
    try:
        return regex.fullmatch(pattern, text, regex.DOTALL, timeout=MATCH_SECONDS)
    except TimeoutError:
        return None


def _pattern(literals: list[str], names: list[str], head: str, tail: str) -> str:
    out = head
    seen: list[str] = []
    for i, name in enumerate(names):
        out += f"(?P={name})" if name in seen else f"(?P<{name}>.*?)"
        seen.append(name)
        out += tail if i == len(names) - 1 else re.escape(literals[i + 1])
    return out


@dataclass
class CaptureReport:
    result: EditResult
    matched_template: bool  # the suite's prompt template gave the variables
    sizes: dict[str, int]
    sidecars: dict[str, str]
    template_vars: list[str] = field(default_factory=list)  # the variables the suite's prompt reads

    def to_json(self) -> dict[str, Any]:
        return {**self.result.to_json(), "matched_template": self.matched_template, "var_sizes": self.sizes,
                "sidecars": self.sidecars, "template_vars": self.template_vars}


def capture_case(suite: Suite, call: CapturedCall, *, case_id: str | None = None,
                 sidecar_over: int = 2000) -> CaptureReport:
    prompts = load_prompts(suite.config(), suite.base_dir, suite.root)
    chat = chat_template(prompts[0]) if prompts else None  # a `.txt` holding `- role:` lines is a chat too
    template = prompts[0].text if prompts and chat is None else None
    if chat is not None:
        template = next((str(m.get("content", "")) for m in chat if m.get("role") == "user"), None)
    found = extract_vars(template, call.user_text) if template else None
    variables: dict[str, str] = found if found is not None else {"input": call.user_text}
    cid = case_id or f"capture-{call.meta.get('span_id') or 'span'}"
    sidecars: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, value in variables.items():
        if len(value.encode("utf-8")) > sidecar_over:
            rel = f"sidecars/{cid}.{name}.txt"
            target = suite.base_dir / rel
            if target.exists():
                raise FatalError(f"{target} already exists", hint="pick another --id")
            write_bytes(target, value.encode("utf-8"))
            sidecars[name] = rel
            values[name] = f"file://{rel}"
        else:
            values[name] = value
    case = {"id": cid, "description": f"captured from span {call.meta.get('span', '')!s}".strip(),
            "vars": values, "assert": [],
            "metadata": {"source": "trace", **{k: v for k, v in call.meta.items() if v}}}
    result = suite.add_case(case)
    names = list(dict.fromkeys(_PLACEHOLDER.findall(template or "")))
    return CaptureReport(result, found is not None, {k: len(v.encode("utf-8")) for k, v in variables.items()},
                         sidecars, names)
