"""What `backtest run` reads: the run spec (a YAML file in the system's repo) and its recorded inputs.

The spec names the system's command, the inputs and how answers are graded:

    command: [python, -m, assistant, investigate]   # argv (or one string, split like a shell would)
    inputs: incidents.jsonl                          # relative to this file
    repo: ..                                         # where the command runs (default: this file's folder)
    assert:                                          # eval assertions every answer must pass
      - {type: icontains, value: "{{ expected.component }}"}
    grader: scripted:grader.script.yaml              # the model for llm-rubric assertions (optional)
    model: scripted:../evals/sut.script.yaml         # passed to the command as AGENTBOOK_MODEL (optional)
    timeout: 2m                                      # per investigation
    limits: {memory: 2G}                             # the sandbox's limits (agentbook run's names)

Each line of the inputs file is one recorded investigation: `id`, `account`, `input` (anything JSON:
what the system is given), `truth` (the postmortem's text, never shown to the system), and optionally
`expected` (a map the assertions can use), `assert` (assertions for this line only) and `metadata`.
Everything is checked up front, with `file:line` locations, before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook import yamlsafe
from agentbook.backtest.jsonlines import LineProblems, json_lines
from agentbook.backtest.manifest import SAFE_NAME
from agentbook.duration import parse_duration
from agentbook.errors import FatalError
from agentbook.evals.graders import SUPPORTED
from agentbook.models.spec import WRITTEN_SPEC_HINT, written_spec_problem
from agentbook.session.limits import Limits

SPEC_KEYS = ("command", "inputs", "repo", "assert", "grader", "model", "timeout", "limits", "name")
DEFAULT_TIMEOUT = 300.0


@dataclass
class RunSpec:
    path: Path
    command: list[str]
    inputs: Path
    repo: Path
    asserts: list[dict[str, Any]]
    grader: str | None = None
    model: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    limits: Limits = field(default_factory=Limits)
    name: str = "system"

    def key(self) -> str:
        """What makes two runs of one input the same run: the command, grading and settings."""
        stable = {"command": self.command, "asserts": self.asserts, "grader": self.grader, "model": self.model,
                  "timeout": self.timeout, "limits": self.limits.to_json()}
        return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Incident:
    id: str
    account: str
    input: Any
    truth: str
    expected: dict[str, Any] = field(default_factory=dict)
    asserts: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    raw: str = ""

    def key(self) -> str:
        return hashlib.sha256(self.raw.encode()).hexdigest()[:16]

    def variables(self) -> dict[str, Any]:
        """What assertion values may name: `{{ truth }}`, `{{ expected.component }}`, `{{ input... }}`."""
        return {"id": self.id, "account": self.account, "input": self.input, "truth": self.truth,
                "expected": self.expected, "metadata": self.metadata}


def _line_of(text: str, key: str) -> int:
    found = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def load_spec(path: Path | str) -> RunSpec:
    """Read and check a run spec; every problem is a FatalError at its file:line."""
    path = Path(path)
    if not path.is_file():
        raise FatalError(f"run spec not found: {path}", hint="pass the YAML file that names the command and inputs")
    top = _holder(path)
    if not _within(path.resolve(), top):
        raise FatalError(f"run spec {path} leads outside its repository ({top}) to {path.resolve()}",
                         hint="a run spec is a file of the system's repository, not a link out of it")
    text = yamlsafe.read_bytes(path, what="run spec", limit=1 << 20).decode("utf-8", errors="replace")
    data = yamlsafe.load(text, str(path), what="run spec")
    if not isinstance(data, dict):
        raise FatalError("a run spec is a YAML mapping (command:, inputs:, assert:)", location=f"{path}:1")

    def bad(key: str, message: str, hint: str | None = None) -> FatalError:
        return FatalError(f"{key}: {message}", location=f"{path}:{_line_of(text, key)}", hint=hint)

    unknown = [k for k in data if k not in SPEC_KEYS]
    if unknown:
        raise bad(str(unknown[0]), "unknown key", hint=f"keys: {', '.join(SPEC_KEYS)}")
    command = _command(data.get("command"), bad)
    base = path.resolve().parent
    inputs_raw = data.get("inputs")
    if not isinstance(inputs_raw, str) or not inputs_raw:
        raise bad("inputs", "must name the JSONL file of recorded inputs", hint="inputs: incidents.jsonl")
    inputs = (base / inputs_raw).resolve()
    if not inputs.is_file():
        raise bad("inputs", f"file not found: {inputs}")
    repo_raw = data.get("repo", ".")
    repo = (base / str(repo_raw)).resolve()
    if not isinstance(repo_raw, str) or not repo.is_dir():
        raise bad("repo", f"not a folder: {repo}")
    for key, place in (("inputs", inputs), ("repo", repo)):  # repo is shown to the jailed command
        if not _within(place, top):
            raise bad(key, f"{place} is outside the repository that holds the spec ({top})",
                      hint="a run spec names its own repository's files: the spec may be anyone's to write")
    asserts = _asserts(data.get("assert", []), lambda m: bad("assert", m))
    for key in ("grader", "model", "name"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise bad(key, "must be a string")
    for key in ("grader", "model"):  # the spec may be anyone's (close-loop reads it from the fix branch)
        why = written_spec_problem(data[key]) if data.get(key) else None
        if why is not None:
            raise bad(key, why, hint=WRITTEN_SPEC_HINT)
    timeout = DEFAULT_TIMEOUT
    if data.get("timeout") is not None:
        try:
            timeout = parse_duration(data["timeout"], where="timeout")
        except FatalError as err:
            raise bad("timeout", err.message) from None
    try:
        limits = Limits().updated(data.get("limits") or {}, "limits")
    except FatalError as err:
        raise bad("limits", err.message, hint=err.hint) from None
    return RunSpec(path=path.resolve(), command=command, inputs=inputs, repo=repo, asserts=asserts,
                   grader=data.get("grader"), model=data.get("model"), timeout=timeout, limits=limits,
                   name=data.get("name") or repo.name)


def _holder(path: Path) -> Path:
    """The repository a spec belongs to, resolved: its nearest folder holding `.git` (a checkout or a
    worktree), else its own folder. Found from the path as given, so a link out of it is not followed."""
    folder = path.absolute().parent
    for place in (folder, *folder.parents):
        if (place / ".git").exists():
            return place.resolve()
    return folder.resolve()


def _within(path: Path, top: Path) -> bool:
    return path == top or top in path.parents


def _command(value: Any, bad: Any) -> list[str]:
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as err:
            raise bad("command", f"cannot split it like a shell: {err}") from None
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        argv = [str(v) for v in value]
    else:
        argv = []
    if not argv:
        raise bad("command", "must be the argv of one investigation (a list, or a string split like a shell)",
                  hint="command: [python, -m, mysystem, investigate]")
    return argv


def _asserts(value: Any, bad: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise bad("a list of assertions, each a mapping with `type` (the eval suite syntax)")
    for a in value:
        kind = str(a.get("type", ""))
        if kind not in SUPPORTED:
            raise bad(f"assertion type {kind!r} is not supported (supported: {', '.join(SUPPORTED)})")
    return [dict(a) for a in value]


def read_inputs(path: Path, spec_asserts: list[dict[str, Any]]) -> list[Incident]:
    """Parse and check the inputs file; one FatalError lists the first problems with their lines."""
    text = yamlsafe.read_bytes(path, what="inputs file", limit=1 << 30).decode("utf-8", errors="replace")
    out: list[Incident] = []
    problems = LineProblems()
    seen: dict[str, int] = {}
    for lineno, raw, obj in json_lines(text, problems):
        found = _incident_problems(obj, spec_asserts)
        if not found and obj["id"] in seen:
            found = [f"duplicate id {obj['id']!r} (first on line {seen[obj['id']]})"]
        problems.add(lineno, found)
        if found:
            continue
        seen[obj["id"]] = lineno
        out.append(Incident(id=obj["id"], account=obj["account"], input=obj["input"], truth=obj["truth"],
                            expected=obj.get("expected") or {}, asserts=list(obj.get("assert") or []),
                            metadata=obj.get("metadata") or {}, line=lineno, raw=raw))
    problems.raise_any(path, hint="fix the inputs; nothing ran")
    if not out:
        raise FatalError(f"inputs file has no investigations: {path}", location=f"{path}:1")
    return out


def _incident_problems(obj: Any, spec_asserts: list[dict[str, Any]]) -> list[str]:
    if not isinstance(obj, dict):
        return ["each line must be a JSON object"]
    problems = []
    for key in ("id", "account"):
        value = obj.get(key)
        if not isinstance(value, str) or not SAFE_NAME.match(value):
            problems.append(f"'{key}' must be a string matching {SAFE_NAME.pattern} (it names a folder)")
    if "input" not in obj:
        problems.append("'input' is missing (what the system is given)")
    if not isinstance(obj.get("truth"), str):
        problems.append("'truth' must be a string (the postmortem's answer)")
    for key in ("expected", "metadata"):
        if not isinstance(obj.get(key, {}), dict):
            problems.append(f"'{key}' must be an object")
    own = obj.get("assert", [])
    if not isinstance(own, list) or not all(isinstance(a, dict) and a.get("type") in SUPPORTED for a in own):
        problems.append(f"'assert' must be a list of assertions with a supported type ({', '.join(SUPPORTED[:4])}...)")
    elif not own and not spec_asserts:
        problems.append("nothing to grade against: give the spec an `assert:` list or this line an 'assert'")
    return problems
