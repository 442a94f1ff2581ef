"""Assertions, promptfoo's names and meanings: deterministic checks, `not-` forms, `llm-rubric` and
`similar` (embeddings, with agentbook's local sentence encoders: `backtest.embeddings.text_vectors`).

An `llm-rubric` verdict must parse as JSON with a boolean `pass`; anything else is an error of the
grader (never a pass), so a judge that rambles cannot make a suite green.

A suite's patterns (`regex`, a schema's `pattern`, `patternProperties` and `additionalProperties`) are
data anyone who can write to the repository wrote. Python's `re` cannot be stopped once it backtracks (`(a|aa)+$` against 40
characters runs for hours) and holds the GIL meanwhile, so one such pattern froze the runner: every
session on its loop, their clocks and `--timeout` included. They are matched with `regex` (the same
syntax), which gives up at a deadline; a pattern that runs over it is an error of the assertion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import referencing.exceptions
import regex

from agentbook.errors import FatalError
from agentbook.evals.jsassert import JS_KINDS, JsRunner, JsUnavailable
from agentbook.evals.jsassert import judge as judge_js

Judge = Callable[[str, str, Any], Awaitable[str]]  # (rubric, output, provider) -> raw judge text


@dataclass
class AssertResult:
    type: str
    passed: bool
    reason: str
    error: bool = False  # the assertion could not be evaluated (bad config, unparsable verdict)
    score: float = 0.0
    weight: float = 1.0
    prompt: str = ""  # the prompt whose answer it graded (a suite may run each case on several)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "pass": self.passed, "error": self.error, "score": self.score,
                "reason": self.reason, **({"prompt": self.prompt} if self.prompt else {})}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _equals(out: str, value: Any) -> tuple[bool, str]:
    if isinstance(value, (dict, list)):
        try:
            return json.loads(out) == value, "output JSON equals the expected value"
        except ValueError:
            return False, "output is not JSON"
    return out == _text(value), f"output equals {_text(value)!r}"


def _contains(out: str, value: Any) -> tuple[bool, str]:
    return _text(value) in out, f"output contains {_text(value)!r}"


def _icontains(out: str, value: Any) -> tuple[bool, str]:
    return _text(value).lower() in out.lower(), f"output contains {_text(value)!r} (any case)"


def _any_all(check: Callable[[str, Any], tuple[bool, str]], want_all: bool) -> Callable[[str, Any],
                                                                                       tuple[bool, str]]:
    def run(out: str, value: Any) -> tuple[bool, str]:
        items = value if isinstance(value, list) else [s.strip() for s in str(value).split(",")]
        hits = [check(out, v)[0] for v in items]
        ok = all(hits) if want_all else any(hits)
        return ok, f"output contains {'all' if want_all else 'any'} of {items!r}"
    return run


PATTERN_SECONDS = 2.0  # far more than any sane pattern needs on a model's answer


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches somewhere in `text`; ValueError if it is no pattern or runs too long."""
    try:
        return regex.search(pattern, text, timeout=PATTERN_SECONDS) is not None
    except regex.error as err:
        raise ValueError(f"/{pattern}/ is not a regular expression: {err}") from None
    except TimeoutError:
        raise ValueError(f"/{pattern}/ ran over {PATTERN_SECONDS:g} s on the output "
                         "(a pattern that backtracks without end, such as (a|aa)+$)") from None


def _regex(out: str, value: Any) -> tuple[bool, str]:
    return search(_text(value), out), f"output matches /{_text(value)}/"


def _starts_with(out: str, value: Any) -> tuple[bool, str]:
    return out.startswith(_text(value)), f"output starts with {_text(value)!r}"


def _schema_ok(doc: Any, schema: Any) -> str | None:
    if schema in (None, ""):
        return None
    if isinstance(schema, str):
        schema = json.loads(schema)
    schema = _own_dialect(schema)
    _SchemaValidator.check_schema(schema, format_checker=None)  # misshapen: SchemaError, not a crash below
    try:
        errors = list(_SchemaValidator(schema).iter_errors(doc))
    except referencing.exceptions.Unresolvable as err:
        raise ValueError(f"the schema's $ref leads nowhere ({str(err)[:200]})") from None
    except RecursionError:
        raise ValueError("the schema's $ref leads back to itself without end") from None
    return errors[0].message if errors else None


_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _own_dialect(schema: Any) -> Any:
    """`schema` for `_SchemaValidator`, or ValueError where jsonschema would match with `re`.

    A `$schema` anywhere makes jsonschema validate that part (or, through `$ref: "#"`, all) with its
    stock validator for that draft, whose patterns run on `re`; only the top-level one naming this
    draft is harmless, and is dropped. `unevaluatedProperties` finds the names `patternProperties`
    matched with `re` wherever they sit (in an `allOf`, behind a `$ref`), so the two are not taken
    together."""
    if isinstance(schema, dict) and str(schema.get("$schema", _DIALECT)).rstrip("#") == _DIALECT:
        schema = {k: v for k, v in schema.items() if k != "$schema"}
    keys = _keys_within(schema)
    if "$schema" in keys:
        raise ValueError(f"a schema's $schema may only name {_DIALECT}, at its top: another draft's "
                         "validator would match the schema's patterns without a deadline")
    if {"unevaluatedProperties", "patternProperties"} <= keys:
        raise ValueError("unevaluatedProperties and patternProperties in one schema are not supported: "
                         "property names would be matched without a deadline")
    return schema


def _keys_within(value: Any) -> set[str]:
    """Every mapping key anywhere in `value` (no recursion, so a deep schema cannot overflow it)."""
    keys: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys.update(k for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return keys


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    named, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = [key for key in instance if key not in named and not any(search(p, key) for p in patterns)]
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False and extras:
        yield jsonschema.ValidationError(f"additional properties are not allowed ({', '.join(map(repr, extras))} "
                                         f"{'was' if len(extras) == 1 else 'were'} unexpected)")


# Draft 2020-12 with every keyword that matches a pattern doing so under the deadline
_SchemaValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties,
                                      "additionalProperties": _additional_properties})


def _is_json(out: str, value: Any) -> tuple[bool, str]:
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as err:
        return False, f"output is not JSON ({err.msg} at {err.pos})"
    problem = _schema_ok(doc, value)
    return problem is None, problem or "output is JSON" + (" matching the schema" if value else "")


def _contains_json(out: str, value: Any) -> tuple[bool, str]:
    decoder = json.JSONDecoder()
    last_problem = "no JSON object or array in the output"
    for m in re.finditer(r"[\[{]", out):
        try:
            doc, _end = decoder.raw_decode(out, m.start())
        except ValueError:
            continue
        problem = _schema_ok(doc, value)
        if problem is None:
            return True, "output contains JSON" + (" matching the schema" if value else "")
        last_problem = f"JSON in the output does not match the schema: {problem}"
    return False, last_problem


CHECKS: dict[str, Callable[[str, Any], tuple[bool, str]]] = {
    "equals": _equals, "contains": _contains, "icontains": _icontains, "regex": _regex,
    "starts-with": _starts_with, "is-json": _is_json, "contains-json": _contains_json,
    "contains-any": _any_all(_contains, False), "contains-all": _any_all(_contains, True),
    "icontains-any": _any_all(_icontains, False), "icontains-all": _any_all(_icontains, True),
}
SIMILAR = ("similar", "similar:cosine", "similar:dot", "similar:euclidean")
SIMILAR_THRESHOLD = 0.75  # promptfoo's default
SUPPORTED = sorted([*CHECKS, *(f"not-{k}" for k in CHECKS), "llm-rubric", *SIMILAR, *(f"not-{k}" for k in SIMILAR)])
# needs a provider agentbook does not have: refused with why (not "unknown type")
NEEDS_PROVIDER = {"moderation": "a moderation API (OpenAI's, or Llama Guard through Replicate): agentbook calls no "
                                "moderation service; grade it with llm-rubric naming the categories, or a javascript check"}
# graded on the model call rather than its text (`grade_call`): its time and its price
CALL_CHECKS = ("latency", "cost")
# what `eval run` grades: SUPPORTED and, with node and a working jail, `javascript` (agentbook.evals.jsassert)
RUN_SUPPORTED = sorted([*SUPPORTED, *CALL_CHECKS, "javascript", "not-javascript"])


@dataclass
class CallFacts:
    """What `latency` and `cost` read of the call that gave the output (None: not known)."""
    ms: float | None
    usd: float | None
    cached: bool


def grade_call(assertion: dict[str, Any], call: CallFacts | None) -> AssertResult:
    """promptfoo's `latency` (the call took at most `threshold` ms) and `cost` (it cost at most `threshold`
    USD). A cached answer keeps the time and price of the call that made it; a recorded `providerOutput`
    has neither, which is an error, as promptfoo has it for answers it cannot time."""
    kind = str(assertion.get("type"))
    weight = float(assertion.get("weight", 1.0))
    threshold = assertion.get("threshold")
    unit = "ms" if kind == "latency" else "USD"
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        return AssertResult(kind, False, f"{kind} needs a numeric `threshold` ({unit})", error=True, weight=weight)
    value = None if call is None else call.ms if kind == "latency" else call.usd
    if value is None:
        why = "no model call made this output (providerOutput)" if call is None else \
            "this answer was cached before agentbook recorded its call's time: rerun with --no-cache"
        return AssertResult(kind, False, why, error=True, weight=weight)
    ok = value <= threshold
    shown = f"{value:.0f} ms" if kind == "latency" else f"${value:.6f}"
    limit = f"{threshold:g} ms" if kind == "latency" else f"${threshold:g}"
    return AssertResult(kind, ok, f"the call {'took' if kind == 'latency' else 'cost'} {shown} {'<=' if ok else '>'} {limit}"
                        + (" (the call that made this cached answer)" if call is not None and call.cached else ""),
                        score=1.0 if ok else 0.0, weight=weight)

JUDGE_PROMPT = """You are grading the output of an AI system against a rubric.

<rubric>
{rubric}
</rubric>

<output>
{output}
</output>

Reply with only a JSON object: {{"pass": true or false, "score": a number from 0 to 1, "reason": "one sentence"}}"""


async def grade(assertion: dict[str, Any], output: str, judge: Judge | None,
                default_provider: Any = None, js: JsRunner | None = None,
                context: dict[str, Any] | None = None, structured: Any = None) -> AssertResult:
    """One assertion's result. `js` runs `javascript` ones (none: they are an error saying why), with
    `context` as promptfoo's (`vars`, `prompt`, `test`) and `output` the object when the provider gave
    one (`structured`; every other assertion reads its JSON text, `output`)."""
    kind = str(assertion.get("type", ""))
    weight = float(assertion.get("weight", 1.0))
    if "transform" in assertion:
        return AssertResult(kind, False, "`transform` is not supported by agentbook eval run", error=True)
    if kind == "llm-rubric":
        return await _rubric(assertion, output, judge, default_provider, weight)
    if kind in JS_KINDS:
        return await _javascript(assertion, output if structured is None else structured, js, context or {}, weight)
    if kind.removeprefix("not-") in SIMILAR:
        return _similar(assertion, output, weight)
    if kind.removeprefix("not-") in NEEDS_PROVIDER:
        return AssertResult(kind, False, f"{kind} is not supported here: needs {NEEDS_PROVIDER[kind.removeprefix('not-')]}",
                            error=True, weight=weight)
    negate = kind.startswith("not-")
    check = CHECKS.get(kind[4:] if negate else kind)
    if check is None:
        return AssertResult(kind, False, f"assertion type {kind!r} is not supported "
                            f"(supported: {', '.join(SUPPORTED)})", error=True, weight=weight)
    try:
        ok, reason = check(output, assertion.get("value"))
    except (ValueError, jsonschema.SchemaError) as err:
        return AssertResult(kind, False, f"bad assertion value: {err}", error=True, weight=weight)
    except RecursionError:  # JSON nested past Python's stack: the answer is the model's (or a system's) to write
        return AssertResult(kind, False, "the output's JSON is nested too deep to check", error=True, weight=weight)
    if negate:
        ok, reason = not ok, "not: " + reason
    return AssertResult(kind, ok, reason, score=1.0 if ok else 0.0, weight=weight)


async def _rubric(assertion: dict[str, Any], output: str, judge: Judge | None, default_provider: Any,
                  weight: float) -> AssertResult:
    if judge is None:
        return AssertResult("llm-rubric", False, "no grader model (pass --grader SPEC)", error=True)
    raw = await judge(_text(assertion.get("value", "")), output, assertion.get("provider") or default_provider)
    verdict = parse_verdict(raw)
    if verdict is None:
        return AssertResult("llm-rubric", False, f"unparsable grader verdict: {raw[:200]!r}", error=True,
                            weight=weight)
    passed, score, reason = verdict
    threshold = assertion.get("threshold")
    if isinstance(threshold, (int, float)):
        passed = score >= threshold
    return AssertResult("llm-rubric", passed, reason, score=score, weight=weight)


async def _javascript(assertion: dict[str, Any], output: Any, js: JsRunner | None, context: dict[str, Any],
                      weight: float) -> AssertResult:
    kind = str(assertion.get("type"))
    if js is None:
        return AssertResult(kind, False, f"{kind} is not supported here: needs node and a working sandbox "
                            "(agentbook eval run)", error=True, weight=weight)
    config = assertion.get("config")
    context = {**context, **({"config": config} if isinstance(config, dict) else {})}
    try:
        result = await js.run(assertion.get("value"), output, context)
        passed, score, reason = judge_js(kind, result, assertion.get("threshold"))
    except JsUnavailable as err:
        return AssertResult(kind, False, f"{kind} is not supported here: needs node and a working sandbox ({err})",
                            error=True, weight=weight)
    except FatalError as err:
        return AssertResult(kind, False, err.render()[:500], error=True, weight=weight)
    return AssertResult(kind, passed, reason, score=score, weight=weight)


def _similar(assertion: dict[str, Any], output: str, weight: float) -> AssertResult:
    """promptfoo's `similar[:cosine|dot|euclidean]`: the output's embedding against each value's (a string
    or a list: similar to at least one passes), cosine or dot product at least `threshold` (default 0.75),
    euclidean distance at most it; `not-` passes where none is. The vectors are agentbook's local encoder's
    (`provider` may name one of them), unit length; thresholds tuned for another embedding model may need
    tuning here."""
    from agentbook.backtest import embeddings

    kind = str(assertion.get("type"))
    negate, metric = kind.startswith("not-"), kind.removeprefix("not-").partition(":")[2] or "cosine"
    value = assertion.get("value")
    raw = value if isinstance(value, list) else [value]
    if not raw or not all(isinstance(v, str) and v for v in raw):
        return AssertResult(kind, False, "bad assertion value: similar needs a string or a list of strings",
                            error=True, weight=weight)
    values = [str(v) for v in raw]
    threshold = assertion.get("threshold", SIMILAR_THRESHOLD)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        return AssertResult(kind, False, f"bad threshold {threshold!r}: a number", error=True, weight=weight)
    provider = assertion.get("provider")
    encoder = str((provider.get("id") if isinstance(provider, dict) else provider) or embeddings.AUTO)
    if encoder not in (embeddings.AUTO, *embeddings.ENCODERS):
        return AssertResult(kind, False, f"{kind} is not supported here with provider {encoder!r}: agentbook embeds "
                            f"with its local encoders only ({', '.join(embeddings.ENCODERS)})", error=True, weight=weight)
    try:
        vectors = embeddings.text_vectors([output, *values], encoder)
    except FatalError as err:
        return AssertResult(kind, False, f"{kind} is not supported here: needs the local sentence encoders "
                            f"({embeddings.install_hint()}): {err.message}", error=True, weight=weight)
    scores = [_measure(metric, vectors[0], row) for row in vectors[1:]]
    hits = [s <= threshold if metric == "euclidean" else s >= threshold for s in scores]
    best = min(scores) if metric == "euclidean" else max(scores)
    passed = any(hits) != negate
    name = "distance" if metric == "euclidean" else "similarity"
    reason = (f"{'not: ' if negate else ''}{metric} {name} {best:.3f} "
              f"({'at most' if metric == 'euclidean' else 'at least'} {threshold:g} passes)")
    score = 1.0 / (1.0 + best) if metric == "euclidean" else best
    return AssertResult(kind, passed, reason, score=max(0.0, min(1.0, score)), weight=weight)


def _measure(metric: str, a: Any, b: Any) -> float:
    import numpy as np

    if metric == "euclidean":
        return float(np.linalg.norm(a - b))
    return float(np.dot(a, b))  # unit vectors: the dot product is the cosine


def parse_verdict(raw: str) -> tuple[bool, float, str] | None:
    """`{"pass": bool, "score": n, "reason": s}` anywhere in the judge's reply, or None."""
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", raw):
        try:
            doc, _ = decoder.raw_decode(raw, m.start())
        except (ValueError, RecursionError):  # a reply nested past Python's stack holds no verdict there
            continue
        if isinstance(doc, dict) and isinstance(doc.get("pass"), bool):
            score = doc.get("score", 1.0 if doc["pass"] else 0.0)
            score = float(score) if isinstance(score, (int, float)) else (1.0 if doc["pass"] else 0.0)
            return doc["pass"], score, str(doc.get("reason", ""))
    return None
