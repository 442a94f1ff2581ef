"""`eval run`: render each case, ask the model (through the cache), grade, repeat, and store the run.

Verdicts per case: `pass` when at least `min_pass` of `repeat` attempts pass, `fail` otherwise, `error`
when any attempt could not be graded (a model error, an unparsable rubric verdict, a bad assertion).
Exit code of the run: 0 all pass, 1 failures, 2 errors.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.confine import Confinement, from_env
from agentbook.errors import FatalError
from agentbook.evals import refs, state
from agentbook.evals import runs as runstore
from agentbook.evals.cache import ResponseCache, cache_key, model_identity
from agentbook.evals.defaults import load_default_test
from agentbook.evals.graders import (
    CALL_CHECKS,
    JUDGE_PROMPT,
    SIMILAR,
    AssertResult,
    CallFacts,
    grade,
    grade_call,
)
from agentbook.evals.jsassert import JsRunner
from agentbook.evals.render import (
    Prompt,
    literal_braces,
    load_prompts,
    only_prompts,
    read_ref,
    render,
    render_value,
    resolve_vars,
)
from agentbook.evals.stats import repeat_stats
from agentbook.evals.store import Suite
from agentbook.models import ModelError, ModelRequest, load_model
from agentbook.models.base import Model
from agentbook.models.pricing import cost_usd
from agentbook.models.spec import WRITTEN_SPEC_HINT, written_spec_problem

MAX_STORED_OUTPUT = 2000
ANSWER_CHARS = 300  # of a failing case's answer, in the report and the CLI line


def provider_spec(provider: Any) -> str:
    """A promptfoo provider id as an agentbook model spec (`anthropic:messages:X` -> `anthropic:X`)."""
    if isinstance(provider, dict):
        provider = provider.get("id", "")
    spec = str(provider or "")
    if spec.startswith("anthropic:messages:"):
        spec = "anthropic:" + spec.removeprefix("anthropic:messages:")
    if spec.split(":", 1)[0] in ("anthropic", "compat", "scripted"):
        why = written_spec_problem(spec)  # a suite is anyone's to write: it never chooses where a key goes
        if why is not None:
            raise FatalError(why, hint=WRITTEN_SPEC_HINT)
        return spec
    raise FatalError(f"provider {spec or '(none)'!r} is not one agentbook can call",
                     hint="pass --model anthropic:<model>, compat:<url>#<model> (a Messages API server) or "
                          "scripted:<file> (a stand-in replaying this model's answers: `agentbook standin --help`)")


@dataclass
class RunOptions:
    case_ids: list[str] = field(default_factory=list)
    repeat: int | None = None
    model: str | None = None
    grader: str | None = None
    use_cache: bool = True
    concurrency: int = 4
    prompt: str | None = None  # run only this prompt (its file or label: `render.only_prompts`)
    confinement: Confinement | None = None  # the eval tool's session: its model or scripts in its root
    # the eval tool's session: what is left of its spend, and where each call's cost goes (its own spend):
    # the model it calls with the runner's key is the session's, and its calls were counted by nothing
    max_usd: float | None = None
    on_spend: Callable[[float], None] | None = None


class _Models:
    """Loaded model backends by spec, shared by every case of the run."""

    def __init__(self, confinement: Confinement | None = None) -> None:
        self.loaded: dict[str, Model] = {}
        self.confinement = confinement

    def get(self, spec: str) -> Model:
        if spec not in self.loaded:
            if self.confinement is not None:
                self.confinement.check_model(spec)
            self.loaded[spec] = load_model(spec)
        return self.loaded[spec]

    async def close(self) -> None:
        for model in self.loaded.values():
            await model.aclose()


def suite_model(suite: Suite) -> str:
    """The model spec a run of `suite` without --model uses: its first `providers:` entry."""
    return provider_spec(_first_provider(suite.config()))


def _first_provider(config: dict[str, Any]) -> Any:
    providers = config.get("providers")
    return providers[0] if isinstance(providers, list) and providers else providers


class _Run:
    def __init__(self, suite: Suite, opts: RunOptions) -> None:
        self.suite = suite
        self.opts = opts
        self.config = suite.config()
        self.base = suite.base_dir
        self.prompts = only_prompts(load_prompts(self.config, self.base, suite.root), opts.prompt, suite.path)
        self.defaults: dict[str, Any] = load_default_test(self.config, self.base, suite.root)
        first = _first_provider(self.config)
        self.model_spec = opts.model or provider_spec(first)
        grader = text_provider((self.defaults.get("options") or {}).get("provider"))
        self.grader_spec = opts.grader or (provider_spec(grader) if grader else self.model_spec)
        self.max_tokens = _max_tokens(first)
        confinement = opts.confinement or from_env()
        if confinement is not None:  # refuse before a case runs, not on its first uncached call
            confinement.check_model(self.model_spec)
        self.models = _Models(confinement)
        # in an agent's jail (its bash, a gate) the cache beside the suite is the agent's to write: rows it
        # forged were a gate's answers (`eval run` in fix-prompt's checks passed on them), so none is read
        self.cache = ResponseCache(state.response_cache_file(suite.path),
                                   enabled=opts.use_cache and from_env() is None)
        self.cache.open()
        self.identities: dict[str, str] = {}  # spec -> what its cached answers are keyed by
        self.gate = asyncio.Semaphore(max(1, opts.concurrency))
        self.spent = 0.0  # USD of this run's model calls (cached answers cost nothing)
        self.js = JsRunner(self.base, suite.root, suite=suite.path)  # node starts on the first javascript assertion

    async def complete(self, spec: str, system: str | None, messages: list[dict[str, Any]],
                       repeat_index: int) -> tuple[str, CallFacts]:
        params = {"max_tokens": self.max_tokens}
        if spec not in self.identities:
            self.identities[spec] = model_identity(spec)
        key = cache_key(self.identities[spec], system, messages, params, repeat_index)
        hit = self.cache.get(key)
        if hit is not None:
            return str(hit["text"]), CallFacts(hit.get("ms"), hit.get("usd"), cached=True)
        async with self.gate:
            if self.opts.max_usd is not None and self.spent >= self.opts.max_usd:
                raise FatalError(f"the session's spend limit is reached (${self.spent:.4f} of this run's "
                                 f"${self.opts.max_usd:.4f}): no more model calls")
            started = time.monotonic()
            response = await self.models.get(spec).complete(
                ModelRequest(messages=messages, system=system, max_tokens=self.max_tokens))
            ms = round((time.monotonic() - started) * 1000, 1)  # `latency` checks it
            usd, _estimated = cost_usd(response.model or spec, response.usage)
            self.spent += usd
            if self.opts.on_spend is not None:
                self.opts.on_spend(usd)
        text = response.text()
        self.cache.put(key, spec, {"text": text, "stop_reason": response.stop_reason,
                                   "usage": response.usage.to_json(), "model": response.model, "ms": ms, "usd": usd})
        return text, CallFacts(ms, usd, cached=False)

    async def judge(self, rubric: str, output: str, provider: Any, repeat_index: int) -> str:
        provider = text_provider(provider)
        spec = self.opts.grader or (provider_spec(provider) if provider else self.grader_spec)
        messages = [{"role": "user", "content": JUDGE_PROMPT.format(rubric=rubric, output=output)}]
        text, _ = await self.complete(spec, None, messages, repeat_index)
        return text

    async def case(self, case_id: str, case: dict[str, Any]) -> dict[str, Any]:
        suite_repeat = (self.config.get("evaluateOptions") or {}).get("repeat")  # promptfoo's suite-wide knob
        n = self.opts.repeat or int(case.get("repeat") or self.defaults.get("repeat") or suite_repeat or 1)
        min_pass = int(case.get("min_pass") or self.defaults.get("min_pass") or n)
        min_pass = min(min_pass, n)
        asserts = [*(self.defaults.get("assert") or []), *(case.get("assert") or [])]
        attempts = await asyncio.gather(*(self.attempt(case_id, case, asserts, i) for i in range(n)))
        outcomes = [a["pass"] for a in attempts if not a["error"]]
        stats = repeat_stats([bool(a["pass"]) for a in attempts], min_pass)
        errored = any(a["error"] for a in attempts)
        verdict = "error" if errored else "pass" if sum(outcomes) >= min_pass else "fail"
        out = {"id": case_id, "description": case.get("description", ""), "verdict": verdict,
               "stats": stats, "attempts": attempts}
        answer = failing_answer(attempts) if verdict != "pass" else None
        if answer is not None:
            out["answer"] = answer
        return out

    async def attempt(self, case_id: str, case: dict[str, Any], asserts: list[Any], i: int) -> dict[str, Any]:
        start = time.monotonic()
        try:
            merged = resolve_vars(self.defaults.get("vars") or {}, case.get("vars") or {}, self.base,
                                  self.suite.root)
            results: list[AssertResult] = []
            outputs = []
            combos = expand_vars(merged, case)
            several = len(combos) * len(self.prompts) > 1  # then each check names the prompt it graded
            for variables, label in combos:
                for prompt in self.prompts:
                    prompt = self.affixed(prompt, case)
                    output, call = await self._generate(prompt, variables, case, i)
                    outputs.append({"prompt": prompt.label + label, "output": output[:MAX_STORED_OUTPUT],
                                    "cached": call is None or call.cached, "truncated": max(0, len(output) - MAX_STORED_OUTPUT)})
                    context = js_context(prompt, variables, with_default_metadata(case, self.defaults))
                    structured = structured_output(case)
                    first = len(results)
                    for a in asserts:
                        assertion = self.resolve_ref(a, case_id)
                        if assertion.get("type") in CALL_CHECKS:  # the call's time or price, not its text
                            results.append(grade_call(assertion, call))
                            continue
                        if "value" in assertion:
                            assertion = {**assertion, "value": render_value(assertion["value"], variables)}
                            assertion = self.expected_files(assertion, case)
                        results.append(await grade(assertion, output, self._judge_for(i), None, self.js, context,
                                                   structured))
                    for result in results[first:] if several else []:
                        result.prompt = prompt.label + label
        except ModelError as err:
            return {"index": i, "pass": False, "error": True, "reason": f"model error: {err.render()}{self._whose()}",
                    "asserts": [], "outputs": [], "seconds": round(time.monotonic() - start, 3)}
        except FatalError as err:
            err = refs.placed(err, self.suite.path)
            return {"index": i, "pass": False, "error": True, "reason": err.render(), "asserts": [],
                    "outputs": [], "seconds": round(time.monotonic() - start, 3)}
        threshold = case.get("threshold")  # promptfoo: the test's, else defaultTest's (`??`)
        passed = _case_passes(results, threshold if threshold is not None else self.defaults.get("threshold"))
        failing = [r for r in results if r.error or not r.passed]
        return {"index": i, "pass": passed, "error": any(r.error for r in results),
                "reason": "; ".join(f"{r.type}: {r.reason}" for r in failing)[:500],
                "asserts": [r.to_json() for r in results], "outputs": outputs,
                "seconds": round(time.monotonic() - start, 3)}

    def affixed(self, prompt: Prompt, case: dict[str, Any]) -> Prompt:
        return affixed(prompt, case, self.defaults)

    def expected_files(self, assertion: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
        """promptfoo reads a `similar` value given as `file://expected.txt` (alone or in the list): its
        text, read inside the repository like every file:// reference. The embedding provider a case's
        or the suite's `options.provider.embedding` names is the assertion's when it names none (so one
        agentbook cannot call is refused, not silently replaced)."""
        if str(assertion.get("type", "")).removeprefix("not-") not in SIMILAR:
            return assertion
        if "provider" not in assertion:
            for options in (case.get("options"), self.defaults.get("options")):
                embedding = as_mapping(as_mapping(options).get("provider")).get("embedding")
                if embedding:
                    assertion = {**assertion, "provider": embedding}
                    break
        value = assertion["value"]
        items = value if isinstance(value, list) else [value]
        read = [read_ref(v, self.base, self.suite.root)[1] if isinstance(v, str) and v.startswith("file://") else v
                for v in items]
        return {**assertion, "value": read if isinstance(value, list) else read[0]}

    def _whose(self) -> str:
        """Where the failing model came from, when the user did not choose it: an agent that ran `eval run
        SUITE` as a skill shows it learns here that the suite named the model and how to pick another."""
        if self.opts.model:
            return ""
        return f"; {self.model_spec} is the suite's `providers:` model: --model SPEC runs another"

    def resolve_ref(self, assertion: Any, case_id: str) -> dict[str, Any]:
        """promptfoo's `$ref: '#/assertionTemplates/name'`: a JSON pointer into the suite."""
        if not isinstance(assertion, dict):
            raise FatalError(f"case {case_id}: an assertion must be a mapping with `type`")
        ref = assertion.get("$ref")
        if ref is None:
            return assertion
        node: Any = self.config
        for part in str(ref).removeprefix("#/").split("/"):
            if not str(ref).startswith("#/") or not isinstance(node, dict) or part not in node:
                raise FatalError(f"case {case_id}: cannot resolve $ref {ref!r}",
                                 hint="point it at a mapping in the suite, e.g. #/assertionTemplates/name")
            node = node[part]
        if not isinstance(node, dict):
            raise FatalError(f"case {case_id}: $ref {ref!r} is not an assertion mapping")
        return node

    def _judge_for(self, i: int) -> Any:
        async def judge(rubric: str, output: str, provider: Any) -> str:
            return await self.judge(rubric, output, provider, i)
        return judge

    async def _generate(self, prompt: Prompt, variables: dict[str, Any], case: dict[str, Any],
                        i: int) -> tuple[str, CallFacts | None]:
        if "providerOutput" in case:  # promptfoo: grade a recorded output without calling a model
            out = case["providerOutput"]
            return (out if isinstance(out, str) else json_text(out)), None
        system, messages = render(prompt, variables)
        spec = provider_spec(case["provider"]) if case.get("provider") and not self.opts.model \
            else self.model_spec
        return await self.complete(spec, system, messages, i)


def text_provider(provider: Any) -> Any:
    """The grading model of promptfoo's `options.provider`: itself, or its `text` where it names a text and
    an embedding provider apart (`{text: ..., embedding: ...}`; `similar` reads the embedding one)."""
    if isinstance(provider, dict) and ("text" in provider or "embedding" in provider) and "id" not in provider:
        return provider.get("text")
    return provider


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def structured_output(case: dict[str, Any]) -> Any:
    """The output as an object when the provider gave one (a `providerOutput` mapping or list), as promptfoo
    hands it to a javascript assertion; None when it is text. Other assertions read its JSON text."""
    out = case.get("providerOutput")
    return out if isinstance(out, (dict, list)) else None


def with_default_metadata(case: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The case with defaultTest's `metadata` under its own, key by key, as promptfoo merges them."""
    default = as_mapping(defaults.get("metadata"))
    if not default:
        return case
    return {**case, "metadata": {**default, **as_mapping(case.get("metadata"))}}


def json_text(value: Any) -> str:
    """A structured output as promptfoo's string assertions see it (JSON.stringify: no spaces)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def js_context(prompt: Prompt, variables: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """promptfoo's `context` of a javascript assertion: the rendered prompt, the vars, the test."""
    try:
        system, messages = render(prompt, variables)
    except FatalError:
        system, messages = None, []
    text = "\n\n".join([*([system] if system else []), *(str(m["content"]) for m in messages)])
    test = {k: case[k] for k in ("description", "vars", "metadata") if k in case}
    return {"prompt": text, "vars": variables, "test": test}


def failing_answer(attempts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What the model answered in the first attempt that did not pass, bounded: a failure that does
    not show the answer reads like a pass. The stored run (`report["stored"]`) keeps every output."""
    for attempt in attempts:
        if attempt["pass"] or not attempt["outputs"]:
            continue
        # the answer of the first prompt a check failed on: a suite running several prompts showed the first
        # prompt's (right) answer under another prompt's failed checks
        failed = {a.get("prompt") for a in attempt["asserts"] if a.get("error") or not a.get("pass")}
        first = next((o for o in attempt["outputs"] if o["prompt"] in failed), attempt["outputs"][0])
        text = str(first["output"])
        return {"attempt": attempt["index"], "prompt": first["prompt"], "text": text[:ANSWER_CHARS],
                "chars": len(text) + int(first.get("truncated") or 0),
                "prompts": len(attempt["outputs"])}
    return None


def affixed(prompt: Prompt, case: dict[str, Any], defaults: dict[str, Any]) -> Prompt:
    """promptfoo's `options.prefix` / `options.suffix` (the case's, else defaultTest's; a CSV's `__prefix`):
    text put before and after the prompt template, rendered with it. A chat prompt gets them around its
    last user message."""
    own, default = as_mapping(case.get("options")), as_mapping(defaults.get("options"))
    prefix = str(own.get("prefix") or default.get("prefix") or "")
    suffix = str(own.get("suffix") or default.get("suffix") or "")
    if not prefix and not suffix:
        return prompt
    if prompt.chat is None:
        return Prompt(prompt.label, None, prefix + prompt.text + suffix)
    chat = [dict(m) for m in prompt.chat]
    last = next((m for m in reversed(chat) if m.get("role") == "user"), None)
    if last is not None:
        last["content"] = prefix + str(last.get("content", "")) + suffix
    return Prompt(prompt.label, chat)


def rendered_requests(suite: Suite, case_id: str) -> list[dict[str, Any]]:
    """What `eval run` sends the model for one case, per prompt (and combination of list vars): the system
    text and the messages, so a stand-in's `match:` can be written against what it will see."""
    config = suite.config()
    defaults = load_default_test(config, suite.base_dir, suite.root)
    case = suite.get_case(case_id)
    merged = resolve_vars(defaults.get("vars") or {}, case.get("vars") or {}, suite.base_dir, suite.root)
    out: list[dict[str, Any]] = []
    for variables, label in expand_vars(merged, case):
        for prompt in load_prompts(config, suite.base_dir, suite.root):
            system, messages = render(affixed(prompt, case, defaults), variables)
            out.append({"prompt": prompt.label + label, "system": system, "messages": messages,
                        # the case's vars the prompt writes `{name}`: sent as text, never the value
                        "literal_braces": [n for n in literal_braces(prompt) if n in variables]})
    return out


def expand_vars(variables: dict[str, Any], case: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """promptfoo runs every combination of list-valued vars (`language: [French, German]`) unless
    `options.disableVarExpansion`; an attempt passes only when every combination passes."""
    lists = {k: v for k, v in variables.items() if isinstance(v, list)}
    if not lists or (case.get("options") or {}).get("disableVarExpansion"):
        return [(variables, "")]
    combos = itertools.product(*lists.values())
    out = []
    for combo in combos:
        chosen = dict(zip(lists, combo))
        out.append(({**variables, **chosen}, " [" + ", ".join(f"{k}={v}" for k, v in chosen.items()) + "]"))
    return out


def _max_tokens(provider: Any) -> int:
    if isinstance(provider, dict):
        config = provider.get("config") or {}
        if isinstance(config.get("max_tokens"), int):
            return int(config["max_tokens"])
    return 1024


def _case_passes(results: list[AssertResult], threshold: Any) -> bool:
    if not results:
        return True
    if isinstance(threshold, (int, float)):
        total = sum(r.weight for r in results) or 1.0
        return sum(r.score * r.weight for r in results) / total >= threshold
    return all(r.passed and not r.error for r in results)


async def run_suite_async(suite: Suite, opts: RunOptions) -> dict[str, Any]:
    run = _Run(suite, opts)
    infos = suite.list_cases()
    wanted = opts.case_ids or [c.id for c in infos]
    known = {c.id for c in infos}
    missing = [c for c in wanted if c not in known]
    if missing:
        raise FatalError(f"unknown case id {missing[0]!r}", location=str(suite.path),
                         hint="list the ids with `agentbook eval list SUITE`")
    cases = [(cid, suite.get_case(cid)) for cid in wanted]  # first: a bad case is the file's error, at its line
    for spec in (opts.model, opts.grader):
        if spec:
            check_spec(spec)
    started = time.time()
    try:
        results = await asyncio.gather(*(run.case(cid, case) for cid, case in cases))
    finally:
        await run.models.close()
        await run.js.close()
        run.cache.close()
    summary = {"cases": len(results), "passed": sum(r["verdict"] == "pass" for r in results),
               "failed": sum(r["verdict"] == "fail" for r in results),
               "errors": sum(r["verdict"] == "error" for r in results),
               "flaky": sum(bool(r["stats"]["flaky"]) for r in results),
               "cache_hits": run.cache.hits, "cache_misses": run.cache.misses}
    # sortable by time to the microsecond (`@2` is the run before last), then a random tail
    run_id = (time.strftime("%Y%m%d-%H%M%S", time.gmtime(started)) + f"{started % 1:.6f}"[1:].replace(".", "")
              + "-" + secrets.token_hex(2))
    report = {"run_id": run_id, "suite": str(suite.path), "model": run.model_spec, "grader": run.grader_spec,
              "started": started, "seconds": round(time.time() - started, 3), "summary": summary,
              "prompts": [p.label for p in run.prompts], "cases": list(results),
              "literal_braces": _literal_braces(run, cases)}
    try:
        report["stored"] = str(runstore.save_run(suite.path, report))
    except OSError as err:
        raise FatalError(f"cannot store the run: {err.strerror or err}",
                         hint="make .agentbook/ beside the suite writable; responses are cached for a re-run"
                         ) from None
    return report


def _literal_braces(run: _Run, cases: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Per prompt the run ran, its case variables it writes `{name}`: sent as text, so no case's value reaches
    the model (`render.literal_braces`); empty for a suite whose prompts read their variables."""
    names = {str(k) for c in [*(case for _, case in cases), run.defaults]
             if isinstance(c.get("vars"), dict) for k in c["vars"]}
    out: dict[str, list[str]] = {}
    for prompt in run.prompts:
        unread = [n for n in literal_braces(prompt) if n in names]
        if unread:
            out[prompt.label] = unread
    return out


def check_spec(spec: str) -> None:
    """A spec given for the whole run that cannot name a model (a typo in the backend or the script's
    path) is bad input before any case runs: else every case errs alike and the run is stored, making
    each case's last verdict `error`. A missing key stays a per-case error (the model is named)."""
    from agentbook.models.spec import parse_spec

    parsed = parse_spec(spec)
    if parsed.kind == "scripted" and parsed.script and not Path(parsed.script).expanduser().is_file():
        raise FatalError(f"script file not found: {parsed.script}",
                         hint="pass a path to a *.script.yaml file after scripted:; "
                              "`agentbook standin --help` shows how to write one")


def run_suite(suite: Suite, opts: RunOptions | None = None) -> dict[str, Any]:
    return asyncio.run(run_suite_async(suite, opts or RunOptions()))


def exit_code(report: dict[str, Any]) -> int:
    summary = report["summary"]
    return 2 if summary["errors"] else 1 if summary["failed"] else 0


def clear_cache(suite_path: Path) -> int:
    cache = ResponseCache(state.response_cache_file(suite_path))
    try:
        return cache.clear()
    finally:
        cache.close()
