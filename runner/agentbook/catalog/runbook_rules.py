"""The strict rules for a runbook: the JSON Schema of its front-matter, then cross-checks a schema
cannot express (skills exist, placeholders are declared inputs, tools are known, steps and gates are
there, the branch template makes a valid git ref)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from agentbook.catalog.findings import Finding
from agentbook.catalog.frontmatter import FrontMatter, type_name
from agentbook.catalog.runbook import Runbook
from agentbook.errors import FatalError
from agentbook.shipped import load_schema
from agentbook.tools import tool_names

_PLACEHOLDER = re.compile(r"\{(inputs|ticket)\.([^{}\s]*)\}")
_TICKET_FIELDS = frozenset({"id", "title", "body", "runbook", "labels", "number"})
_REF_BAD = re.compile(r"(\.\.|@\{|//|[\x00-\x20\x7f~^:?*\[\\])")


@lru_cache(maxsize=2)
def _validator(require: bool = True) -> jsonschema.Draft202012Validator:
    schema = load_schema("runbook")
    if not require:  # the runner names a runbook after its file when `name` is missing
        schema = {k: v for k, v in schema.items() if k != "required"}
    return jsonschema.Draft202012Validator(inline_refs(schema, schema.get("$defs", {})))


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local `{"$ref": "#/$defs/x"}` with the definition itself: same meaning, and it saves
    jsonschema a reference lookup per value (half the validation time on a typical runbook)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [inline_refs(v, defs) for v in node]
    return node


def check_runbook(fm: FrontMatter, runbook: Runbook, known_skills: Iterable[str]) -> list[Finding]:
    out = schema_findings(fm)
    out += requires_findings(fm)
    out += _name_matches_file(fm, runbook.path)
    out += _skills_exist(fm, set(known_skills))
    out += _tools_known(fm)
    out += _placeholders(fm)
    out += _branch_ref(fm)
    out += _steps_and_gates(fm, runbook)
    out += _gates_the_agent_can_run(fm, runbook)
    return out


def schema_findings(fm: FrontMatter, *, require: bool = True) -> list[Finding]:
    """The front-matter against `schemas/runbook.schema.json`, one finding per violation;
    `require=False` checks the keys that are there without asking for the required ones."""
    out = []
    for err in sorted(_validator(require).iter_errors(fm.data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        out.append(_explain(fm, err, path))
    return out


def requires_findings(fm: FrontMatter) -> list[Finding]:
    """`requires:` (a version specifier) against the running agentbook: a runbook written for a newer
    agentbook is an error at its `requires:` line, before anything it needs is missing."""
    spec = fm.data.get("requires")
    if not isinstance(spec, str):
        return []  # absent, or the schema already reports the wrong type
    from agentbook.version import UPGRADE_HINT, requires_problem

    try:
        problem = requires_problem(spec)
    except FatalError as err:
        return [fm.finding("requires-invalid", err.message, err.hint or "", at=("requires",))]
    if problem is None:
        return []
    return [fm.finding("requires-version", f"this runbook {problem}", UPGRADE_HINT, at=("requires",))]


def _explain(fm: FrontMatter, err: jsonschema.ValidationError, path: tuple[Any, ...]) -> Finding:
    """Turn a schema error into a sentence about the key, at the key's or value's position."""
    where = ".".join(map(str, path)) or "front-matter"
    kind = err.validator
    if kind == "required":
        missing = str(err.message).split("'")[1]
        return fm.finding("schema", f"missing required key '{missing}' in {where}", f"add '{missing}:'", at=path)
    if kind == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        key_path = (*path, extra[0]) if extra else path
        allowed = ", ".join(err.schema.get("properties", {}))
        return fm.finding("schema", f"unknown key '{extra[0] if extra else '?'}' in {where}",
                          f"allowed: {allowed}", at=key_path, key=True)
    if kind == "type":
        expected = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        raw = fm.raw_value(*path)
        hint = f'quote it: "{raw}"' if expected == "string" and raw else f"write {where} as {_article(expected)}"
        return fm.finding("schema", f"'{where}' must be {_article(expected)}, got {type_name(err.instance)}",
                          hint, at=path)
    if kind in ("exclusiveMinimum", "minimum") or (kind == "oneOf" and path and path[-1] == "timeout"):
        return fm.finding("limit-positive", f"'{where}' must be positive, got {err.instance!r}",
                          "use a number above 0 (durations: 90s, 45m, 2h)", at=path)
    if kind == "pattern" and path == ("name",):
        return fm.finding("schema", f"name '{err.instance}' must be lowercase a-z, 0-9 and single hyphens",
                          "e.g. name: fix-prompt", at=path)
    if kind == "enum":
        choices = ", ".join(map(str, err.validator_value))
        return fm.finding("schema", f"'{where}' must be one of {choices}; got {err.instance!r}",
                          "pick one of the listed values", at=path)
    return fm.finding("schema", f"'{where}': {err.message}", "see schemas/runbook.schema.json", at=path)


def _article(kind: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "an integer"}.get(kind, f"a {kind}")


def _name_matches_file(fm: FrontMatter, path: Path) -> list[Finding]:
    name = fm.data.get("name")
    if isinstance(name, str) and name and name != path.stem:
        return [fm.finding("name-file", f"name '{name}' differs from the file name '{path.name}'",
                           f"rename the file to {name}.md or set 'name: {path.stem}'", at=("name",))]
    return []


def _string_items(fm: FrontMatter, key: str) -> list[tuple[int, str]]:
    value = fm.data.get(key)
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def _skills_exist(fm: FrontMatter, known: set[str]) -> list[Finding]:
    hint = f"known skills: {', '.join(sorted(known)[:15])}" if known else "there are no skills in skills/"
    return [fm.finding("skill-unknown", f"skill '{name}' does not exist", hint, at=("skills", i))
            for i, name in _string_items(fm, "skills") if name not in known]


def _tools_known(fm: FrontMatter) -> list[Finding]:
    known = tool_names()
    return [fm.finding("tool-unknown", f"unknown tool '{name}'", f"known tools: {', '.join(sorted(known))}",
                       at=("tools", i)) for i, name in _string_items(fm, "tools") if name not in known]


def _placeholders(fm: FrontMatter) -> list[Finding]:
    """Every {inputs.x} in the front-matter or body must be a declared input."""
    inputs = fm.data.get("inputs")
    declared = set(inputs) if isinstance(inputs, dict) else set()
    out: list[Finding] = []
    chunks = ((fm.yaml_text, fm.yaml_line), (fm.body, fm.body_line))
    for text, first_line in chunks:
        for lineno, line in enumerate(text.split("\n"), start=first_line):
            for m in _PLACEHOLDER.finditer(line):
                kind, field = m.groups()
                if kind == "inputs" and field not in declared:
                    hint = (f"declare it under 'inputs:' (declared: {', '.join(sorted(declared))})" if declared
                            else f"declare it: inputs: {{{field}: {{type: string, required: true}}}}")
                    out.append(Finding(fm.path, lineno, m.start() + 1, "input-undeclared",
                                       f"placeholder '{m.group(0)}' is not a declared input", hint))
                elif kind == "ticket" and field not in _TICKET_FIELDS:
                    out.append(Finding(fm.path, lineno, m.start() + 1, "ticket-field",
                                       f"placeholder '{m.group(0)}' is not a ticket field",
                                       f"ticket fields: {', '.join(sorted(_TICKET_FIELDS))}"))
    return out


def _branch_ref(fm: FrontMatter) -> list[Finding]:
    branch = fm.data.get("branch")
    if not isinstance(branch, str) or not branch:
        return []
    sample = _PLACEHOLDER.sub("x", branch)
    problem = ref_problem(sample)
    if problem is None:
        return []
    return [fm.finding("branch-ref", f"branch template '{branch}' is not a valid git ref: {problem}",
                       "use letters, digits, '-', '_', '.', '/' and placeholders, e.g. agentbook/{ticket.id}",
                       at=("branch",))]


def ref_problem(ref: str) -> str | None:
    """Why `ref` breaks git's ref-name rules (git check-ref-format), or None."""
    bad = _REF_BAD.search(ref)
    if bad:
        shown = bad.group(0) if bad.group(0).strip() else "a space or control character"
        return f"contains {shown!r}" if bad.group(0).strip() else f"contains {shown}"
    if ref.startswith(("/", "-")) or ref.endswith(("/", ".", ".lock")):
        return "starts or ends with a character git does not allow"
    if any(part.startswith(".") or part.endswith(".lock") for part in ref.split("/")):
        return "a component starts with '.' or ends with '.lock'"
    if "{" in ref or "}" in ref:
        return "has an unknown placeholder"
    return None


def _steps_and_gates(fm: FrontMatter, runbook: Runbook) -> list[Finding]:
    if not runbook.steps:
        return [Finding(fm.path, fm.body_line, 1, "no-steps", "runbook has no steps",
                        "add at least one '## Step title' heading")]
    return [Finding(fm.path, gate.line, 1, "gate-empty", f"gate in step {step.index} ('{step.title}') is empty",
                    "put the shell command to run inside the ```check block, or remove it")
            for step in runbook.steps for gate in step.gates if not gate.command.strip()]


def _gates_the_agent_can_run(fm: FrontMatter, runbook: Runbook) -> list[Finding]:
    """An `agentbook` command a gate runs must be one the agent's bash may run too: otherwise the agent
    cannot check its step before the gate does, and learns what the gate wanted only from its failure."""
    from agentbook.session import allowlist  # the session's own matcher, so the two never disagree

    bash = fm.data.get("bash")
    allow = bash.get("allow") if isinstance(bash, dict) else None
    if "bash" not in (fm.data.get("tools") or []) or not isinstance(allow, list):
        return []
    patterns = [str(p) for p in allow]
    out = []
    for step in runbook.steps:
        for gate in step.gates:
            try:
                commands = allowlist.parse(_PLACEHOLDER.sub("x", gate.command)).commands
            except allowlist.Refused:
                continue
            for command in commands:
                if command.words[:1] == ["agentbook"] and not any(allowlist.matches(command.words, p)
                                                                  for p in patterns):
                    group = " ".join(command.words[:2])
                    out.append(Finding(fm.path, gate.line + 1, 1, "gate-not-allowed",
                                       f"the gate of step {step.index} runs `{group} ...`, which the agent's bash "
                                       "may not run, so it cannot check its work the way the gate will",
                                       f"add '{group} *' to bash.allow", "warning"))
    return out
