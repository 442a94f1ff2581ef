"""Scripted-model files (`*.script.yaml`): load, validate, pick the session and turn for a request.

Turn selection is stateless: the session is chosen by matching the request (first user message,
system prompt, model) and the turn index is the number of assistant messages already in it, so a
retried or resumed request gets the same answer. Regex named groups become `{name}` placeholders in
the scripted replies, so one script can serve many different conversations. The one deliberate
exception: a turn with `variants:` answers the Nth attempt of the same request with a chosen variant
(`pick: cycle` or seeded `pick: random`), so a flaky model can be scripted deterministically.

A turn with `on_result:` reacts to what its tools returned: it answers with the first case whose
`if:` condition holds for the last tool result (or, with `results: all`, every tool result so far),
and that case's regex named groups fill its placeholders too. That is still stateless (the tool
results are in the request), and it lets a scripted analyst report what it read in a file.

A turn with `when:` answers by what the request says: the first case whose `if:` conditions all hold
for the named parts of the request (`system`, `first_user`, `last_user`, `result`, `results`)
answers. A scripted production model so depends on the prompt it is sent: add the instruction a
prompt was missing and the answer changes, as a real model's would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex
import yaml

from agentbook import confine, yamlsafe
from agentbook.errors import FatalError, invalid_yaml
from agentbook.evals.index import Loader as CoreLoader
from agentbook.fsutil import atomic_write_bytes
from agentbook.shipped import load_schema, schema_path

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONTENT_KEYS = ("text", "thinking", "tool_use", "blocks")  # a chosen variant or case replaces these
# What one request's patterns may take together. A script can be a repository's file (a `scripted:` spec in
# a suite, a ticket, a runbook), matched in the runner's own process against text the agent chose: Python's
# `re` cannot be stopped and holds the GIL, so `(a|aa)+$` froze the runner and every session's clock.
MATCH_SECONDS = 2.0


class _FastLoader(CoreLoader):
    """libyaml with the scalars ruamel's round-trip reader resolves (YAML 1.2 core, plus timestamps),
    so a script reads the same through either."""


for _first, _resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        if _tag == "tag:yaml.org,2002:timestamp":
            _FastLoader.add_implicit_resolver(_tag, _regexp, [_first])


def script_schema() -> dict[str, Any]:
    return load_schema("script")


@dataclass(frozen=True)
class Condition:
    contains: str | None = None
    pattern: str | None = None  # the regex as written: two conditions are equal when these are
    regex: regex.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def test(self, text: str, deadline: float) -> dict[str, str] | None:
        """The named groups captured (empty when none) if `text` satisfies the condition, else None;
        PatternTimeout when the request's patterns run past `deadline` (a `time.monotonic()`)."""
        if self.contains is not None and self.contains not in text:
            return None
        if self.regex is None:
            return {}
        try:
            found = self.regex.search(text, timeout=max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise PatternTimeout(f"the script's pattern /{self.regex.pattern[:80]}/ ran past {MATCH_SECONDS:g} s "
                                 "on this request (one that backtracks without end, such as (a|aa)+$)") from None
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}


@dataclass(frozen=True)
class Fault:
    kind: str  # status | midstream_error | stall | drop
    status: int = 529
    error_type: str | None = None
    message: str | None = None
    retry_after: float | None = None
    should_retry: bool | None = None
    after_events: int = 2
    seconds: float = 3600.0
    ping_every: float | None = None
    attempts: int | None = None
    probability: float | None = None
    seed: int = 0


@dataclass
class Session:
    name: str
    turns: list[dict[str, Any]]
    match: dict[str, Condition] = field(default_factory=dict)
    latency_ms: float | None = None
    faults: list[Fault] | None = None
    after_last: str = "error"
    vars: dict[str, str] = field(default_factory=dict)
    cases: dict[int, list[ResultCase]] = field(default_factory=dict)  # turn index -> its on_result cases
    when: dict[int, list[PromptCase]] = field(default_factory=dict)  # turn index -> its when cases


@dataclass(frozen=True)
class ResultCase:
    """One `on_result:` entry: a condition on tool results (none: always holds) and the reply it gives."""

    spec: dict[str, Any]
    condition: Condition | None = None
    results: str = "last"  # last: the tool results of the latest user message; all: every one so far


@dataclass(frozen=True)
class PromptCase:
    """One `when:` entry: conditions on parts of the request (all must hold; none: always) and its reply."""

    spec: dict[str, Any]
    conditions: dict[str, Condition] = field(default_factory=dict)

    def test(self, texts: dict[str, str], deadline: float) -> dict[str, str] | None:
        captures: dict[str, str] = {}
        for part, cond in self.conditions.items():
            got = cond.test(texts[part], deadline)
            if got is None:
                return None
            captures.update(got)
        return captures


@dataclass(frozen=True)
class ServerOptions:
    auth: tuple[str, ...] = ("x-api-key", "bearer")
    api_keys: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    cache_min_tokens: int = 0
    batch_seconds: float = 1.0
    chunk_chars: int = 24
    json_chunks: int = 3


@dataclass
class Turn:
    """One resolved answer: content blocks (placeholders filled), its faults and latency."""

    session: str
    index: int
    blocks: list[dict[str, Any]]
    stop_reason: str
    latency_ms: float
    faults: list[Fault]
    captures: dict[str, str]
    variant: int | None = None  # 0-based index of the chosen `variants:` entry, None without variants
    usage: dict[str, int | str] | None = None  # the script's own usage figures (`usage:`), else counted


class ScriptExhausted(Exception):
    """The request asks for a turn past the end of its session (and after_last is `error`), or an
    `on_result:` turn has no case for what the tools returned."""


class PatternTimeout(ScriptExhausted):
    """The script's patterns ran past MATCH_SECONDS on one request: answered like a request the script
    cannot answer (an HTTP 400), never waited for."""


@dataclass
class Script:
    path: str
    model: str
    sessions: list[Session]
    default: Session | None
    options: ServerOptions
    latency_ms: float = 0.0
    faults: list[Fault] = field(default_factory=list)

    def select(self, request: dict[str, Any], attempt: int = 1) -> Turn:
        """The turn that answers `request`, the `attempt`-th time (1-based) this exact request is seen;
        the attempt only matters to a turn with `variants:`. Raises ScriptExhausted past the end,
        LookupError if no session matches."""
        first_user, system = first_user_text(request), system_text(request)
        model = str(request.get("model", ""))
        deadline = time.monotonic() + MATCH_SECONDS
        for session in self.sessions:
            captures = _match(session, deadline, first_user=first_user, system=system, model=model)
            if captures is not None:
                return self._turn(session, request, captures, attempt, deadline)
        if self.default is not None:
            return self._turn(self.default, request, {}, attempt, deadline)
        raise LookupError(f"no session in {self.path} matches this request "
                          f"(first user message starts {first_user[:80]!r})")

    def _turn(self, session: Session, request: dict[str, Any], captures: dict[str, str],
              attempt: int, deadline: float) -> Turn:
        index = sum(1 for m in request.get("messages", []) if m.get("role") == "assistant")
        spec_index = index
        if index >= len(session.turns):
            if session.after_last != "repeat_last":
                raise ScriptExhausted(f"script {Path(self.path).name}: session {session.name!r} has "
                                      f"{len(session.turns)} turns; this request asks for turn {index + 1}")
            spec_index = len(session.turns) - 1
        spec = session.turns[spec_index]
        variant = None
        if spec.get("variants"):
            variant = pick_variant(spec, request_key(request), attempt, f"{session.name}:{index}")
            spec = {**{k: v for k, v in spec.items() if k not in _CONTENT_KEYS}, **spec["variants"][variant]}
        if spec_index in session.cases:
            spec, captures = self._case(session, spec_index, spec, request, captures, deadline)
        elif spec_index in session.when:
            spec, captures = self._when(session, spec_index, spec, request, captures, deadline)
        values = {**session.vars, **captures, "turn": str(index + 1), "session": session.name}
        blocks = [_fill(b, values) for b in turn_blocks(spec)]
        for n, block in enumerate(blocks):
            if block["type"] == "tool_use" and not block.get("id"):
                block["id"] = f"toolu_{session.name}_{index + 1:03d}_{n}"
        stop = spec.get("stop_reason") or ("tool_use" if any(b["type"] == "tool_use" for b in blocks)
                                           else "end_turn")
        latency = spec.get("latency_ms", session.latency_ms if session.latency_ms is not None
                           else self.latency_ms)
        if "fault" in spec:
            faults = _faults(spec["fault"])
        else:
            faults = session.faults if session.faults is not None else self.faults
        return Turn(session.name, index, blocks, stop, float(latency), faults, captures, variant, spec.get("usage"))


    def _case(self, session: Session, index: int, spec: dict[str, Any], request: dict[str, Any],
              captures: dict[str, str], deadline: float) -> tuple[dict[str, Any], dict[str, str]]:
        """The turn's spec with the first matching `on_result:` case's reply, and the captures with its groups."""
        texts = {"last": tool_results_text(request, last_only=True), "all": tool_results_text(request)}
        for case in session.cases[index]:
            got = case.condition.test(texts[case.results], deadline) if case.condition else {}
            if got is not None:
                rest = {k: v for k, v in spec.items() if k not in (*_CONTENT_KEYS, "on_result")}
                return {**rest, **case.spec}, {**captures, **got}
        raise ScriptExhausted(f"script {Path(self.path).name}: session {session.name!r} turn {index + 1}: no "
                              f"on_result case matches the tool result (starts {texts['last'][:80]!r})")


    def _when(self, session: Session, index: int, spec: dict[str, Any], request: dict[str, Any],
              captures: dict[str, str], deadline: float) -> tuple[dict[str, Any], dict[str, str]]:
        """The turn's spec with the first `when:` case whose conditions hold, and its regex groups."""
        texts = {"system": system_text(request), "first_user": first_user_text(request),
                 "last_user": last_user_text(request), "result": tool_results_text(request, last_only=True),
                 "results": tool_results_text(request)}
        for case in session.when[index]:
            got = case.test(texts, deadline)
            if got is not None:
                rest = {k: v for k, v in spec.items() if k not in (*_CONTENT_KEYS, "when")}
                return {**rest, **case.spec}, {**captures, **got}
        raise ScriptExhausted(f"script {Path(self.path).name}: session {session.name!r} turn {index + 1}: no "
                              f"when case matches the request (system prompt starts {texts['system'][:60]!r}, "
                              f"last user message starts {texts['last_user'][:60]!r})")


def request_key(request: dict[str, Any]) -> str:
    """A hash of what makes two requests the same one (model, system, messages, tools): retries of a
    request share it, so the server counts attempts per key (faults' `attempts:`, turns' `variants:`)."""
    stable = {k: request.get(k) for k in ("model", "system", "messages", "tools")}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:20]


def pick_variant(spec: dict[str, Any], key: str, attempt: int, where: str = "") -> int:
    """Which of a turn's `variants:` answers the `attempt`-th (1-based) sight of the request `key`:
    `pick: cycle` (default) takes them in order round and round; `pick: random` draws one from a
    generator seeded by `seed`, the turn (`where`), the request and the attempt, so a rerun repeats it."""
    count = len(spec["variants"])
    if spec.get("pick", "cycle") == "random":
        return random.Random(f"{spec.get('seed', 0)}:{where}:{key}:{attempt}").randrange(count)
    return (max(attempt, 1) - 1) % count


def _match(session: Session, deadline: float, *, first_user: str, system: str, model: str) -> dict[str, str] | None:
    texts = {"first_user": first_user, "system": system, "model": model}
    captures: dict[str, str] = {}
    for key, cond in session.match.items():
        got = cond.test(texts[key], deadline)
        if got is None:
            return None
        captures.update(got)
    return captures


def turn_blocks(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A turn's content blocks in wire shape: `blocks:` in order, or shorthand thinking, text, tool_use."""
    items = spec.get("blocks") or [{k: spec[k]} for k in ("thinking", "text", "tool_use") if k in spec]
    out: list[dict[str, Any]] = []
    for item in items:
        ((kind, value),) = item.items()
        if kind == "tool_use":
            out.append({"type": "tool_use", "id": value.get("id", ""), "name": value["name"],
                        "input": dict(value.get("input") or {})})
        else:
            out.append({"type": kind, kind: value})
    return out


def _fill(value: Any, values: dict[str, str]) -> Any:
    """Replace `{name}` placeholders whose name is known; other braces (JSON, code) stay as written."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def first_user_text(request: dict[str, Any]) -> str:
    for message in request.get("messages", []):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def last_user_text(request: dict[str, Any]) -> str:
    """The text blocks of the latest user message (its tool results are `result`, not this)."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return content_text(users[-1].get("content")) if users else ""


def tool_results_text(request: dict[str, Any], *, last_only: bool = False) -> str:
    """The text of the tool_result blocks in user messages (only the latest user message with
    `last_only`), one result per line block, in order."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    out: list[str] = []
    for message in users[-1:] if last_only else users:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                out.append(content_text(block.get("content")))
    return "\n".join(out)


def system_text(request: dict[str, Any]) -> str:
    return content_text(request.get("system") or "")


# ---- loading ------------------------------------------------------------------------------------

def load_script(path: str | Path) -> Script:
    """Read, parse and validate a `*.script.yaml`; a bad file raises FatalError with file:line:col."""
    p = Path(path)
    if not p.is_file():
        raise FatalError(f"script file not found: {p}", hint="pass a path to a *.script.yaml file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise FatalError(f"cannot read script: {err}", location=str(p)) from None
    return parse_script(text, str(p))


def parse_script(text: str, origin: str = "<script>") -> Script:
    """Parse and validate script text; `origin` names it in error locations.

    A valid script is read with libyaml (YAML 1.2 core scalars, as ruamel reads them): ~20x faster
    than ruamel's round-trip parser, which every gate's `eval run` used to pay. Anything that fails
    is read again the slow way, which knows each node's line and column for the error."""
    try:
        data = _plain(yamlsafe.load(text, origin, loader=_FastLoader))
        if isinstance(data, dict) and _valid(data, text):
            return _build(origin, data, None)
    except FatalError:
        pass  # reported below, at its file:line:col
    return _parse_located(text, origin)


def _valid(data: dict[str, Any], text: str) -> bool:
    """Whether `data` (read from `text`) meets the script schema. A text that met it once is marked in
    the user's cache, so the next process skips importing jsonschema (a sixth of a scripted session's
    start); inside a session or gate (a confined process, HOME in its root) nothing is cached."""
    schema = script_schema()
    marker = _valid_marker(text, schema)
    if marker is not None and marker.exists():
        return True
    import jsonschema  # imported only when a script must be checked

    valid = bool(jsonschema.Draft202012Validator(schema).is_valid(data))
    if valid and marker is not None:
        with contextlib.suppress(OSError):  # only a cache
            atomic_write_bytes(marker, b"")
    return valid


def _valid_marker(text: str, schema: dict[str, Any]) -> Path | None:
    if confine.from_env() is not None:
        return None
    return _marker_in(Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")), text, schema)


def _marker_in(cache_home: Path, text: str, schema: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode() + b"\0" + text.encode()).hexdigest()
    return cache_home / "agentbook" / "valid-scripts" / digest[:40]


def mark_valid(path: str | Path, cache_home: Path) -> bool:
    """Check the script at `path` here and, when it is valid, leave the marker that a process with
    `XDG_CACHE_HOME=cache_home` finds, so it skips the check (and importing jsonschema). For a runner
    that starts many short processes with a fresh HOME each (a backtest's investigations) and shows
    them `cache_home` read-only: they cannot forge a marker. False, and no marker, otherwise."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = _plain(yamlsafe.load(text, str(p), loader=_FastLoader))
    except (OSError, UnicodeDecodeError, FatalError):
        return False
    import jsonschema

    schema = script_schema()
    if not (isinstance(data, dict) and jsonschema.Draft202012Validator(schema).is_valid(data)):
        return False
    atomic_write_bytes(_marker_in(cache_home, text, schema), b"")
    return True


def _parse_located(text: str, origin: str = "<script>") -> Script:
    """Read with ruamel, which keeps every node's line and column, and check against the schema: the
    path for a script with an error, which it reports at its file:line:col."""
    import jsonschema
    from jsonschema.exceptions import best_match
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yamlsafe.check_text(text, origin)
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except YAMLError as err:
        raise invalid_yaml(err, origin) from None
    first = best_match(jsonschema.Draft202012Validator(script_schema()).iter_errors(_plain(data)))
    if first is not None:
        where = "/".join(str(x) for x in first.absolute_path) or "(top level)"
        message = first.message
        if first.validator == "anyOf" and not first.absolute_path:
            message = "a script needs `sessions:`, `default:` or both"
        if first.validator == "additionalProperties" and list(first.absolute_path)[-1:] == ["match"]:
            # `match: {regex: ...}` reads naturally and is wrong: the pattern belongs to a field
            message += "; match: takes first_user:, system:, model:, each a text or {contains: ...} or {regex: ...}"
        raise FatalError(f"{where}: {message}",
                         location=_location(origin, data, list(first.absolute_path)),
                         hint=f"`agentbook standin --help` has the format; the schema: {schema_path('script')}")
    return _build(origin, _plain(data), data)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _location(path: str, data: Any, keys: list[Any]) -> str:
    """file:line:col of the deepest node on `keys` that ruamel kept a position for."""
    line, col, node = 0, 0, data
    for key in keys:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                if isinstance(node, dict):
                    line, col = lc.key(key)
                else:
                    line, col = lc.item(key)
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return f"{path}:{line + 1}:{col + 1}"


def _build(path: str, data: dict[str, Any], raw: Any) -> Script:
    defaults = data.get("defaults") or {}
    sessions = []
    for i, s in enumerate(data.get("sessions") or []):
        sessions.append(_session(s, path, raw["sessions"][i] if raw is not None else None))
    default = _session({"name": "default", **data["default"]}, path,
                       raw["default"] if raw is not None else None) if "default" in data else None
    server = data.get("server") or {}
    options = ServerOptions(
        auth=tuple(server.get("auth", ("x-api-key", "bearer"))),
        api_keys=tuple(server.get("api_keys", ())),
        versions=tuple(server.get("versions", ())),
        cache_min_tokens=int(server.get("cache_min_tokens", 0)),
        batch_seconds=float(server.get("batch_seconds", 1.0)),
        chunk_chars=int(server.get("chunk_chars", 24)),
        json_chunks=int(server.get("json_chunks", 3)),
    )
    return Script(path=path, model=str(data.get("model", "scripted")), sessions=sessions, default=default,
                  options=options, latency_ms=float(defaults.get("latency_ms", 0)),
                  faults=_faults(defaults.get("fault")))


def _session(s: dict[str, Any], path: str, raw: Any) -> Session:
    match = {key: _condition(cond, path, raw, ["match", key], f"match.{key}")
             for key, cond in (s.get("match") or {}).items()}
    cases: dict[int, list[ResultCase]] = {}
    for t, turn in enumerate(s["turns"]):
        for c, case in enumerate(turn.get("on_result") or []):
            where = ["turns", t, "on_result", c, "if"]
            cond = _condition(case["if"], path, raw, where, f"turns[{t}].on_result[{c}].if") if "if" in case else None
            spec = {k: v for k, v in case.items() if k not in ("if", "results")}
            cases.setdefault(t, []).append(ResultCase(spec, cond, case.get("results", "last")))
    when: dict[int, list[PromptCase]] = {}
    for t, turn in enumerate(s["turns"]):
        for c, case in enumerate(turn.get("when") or []):
            conditions = {part: _condition(cond, path, raw, ["turns", t, "when", c, "if", part],
                                           f"turns[{t}].when[{c}].if.{part}")
                          for part, cond in (case.get("if") or {}).items()}
            when.setdefault(t, []).append(PromptCase({k: v for k, v in case.items() if k != "if"}, conditions))
    defaults = s.get("defaults") or {}
    return Session(name=s.get("name", "default"), turns=list(s["turns"]), match=match,
                   latency_ms=defaults.get("latency_ms"),
                   faults=_faults(defaults["fault"]) if "fault" in defaults else None,
                   after_last=s.get("after_last", "error"), vars=dict(s.get("vars") or {}), cases=cases,
                   when=when)


def _condition(cond: str | dict[str, str], path: str, raw: Any, keys: list[Any], name: str) -> Condition:
    """A `contains`/`regex` condition; a regex that does not compile is reported at its file:line:col."""
    if isinstance(cond, str):
        cond = {"contains": cond}
    pattern = None
    if "regex" in cond:
        try:
            re.compile(cond["regex"], re.DOTALL)  # the syntax (and messages) of `re`, which the format names
            pattern = regex.compile(cond["regex"], regex.DOTALL)
        except (re.error, regex.error) as err:
            raise FatalError(f"bad regex for {name}: {err}", location=_location(path, raw, [*keys, "regex"])) from None
    return Condition(contains=cond.get("contains"), pattern=cond.get("regex"), regex=pattern)


def _faults(value: Any) -> list[Fault]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [Fault(**item) for item in items]
