"""Eval baselines: the numbers a prompt change is held to.

A runbook's first step records how the suite does on the unchanged prompt (`agentbook baseline
save`); a later gate runs the suite again and compares (`agentbook baseline check`): no case that
passed may stop passing, the pass rate may not drop, no case of the baseline may have been edited
(each case's content is hashed), and for a consolidation the prompt's token count must drop. The baseline is a file beside the suite's other eval state (`.agentbook/`, never
committed), so it lives in the run's worktree and dies with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentbook.errors import FatalError
from agentbook.fsutil import atomic_write_json

if TYPE_CHECKING:
    from agentbook.evals.store import Suite


@dataclass
class Snapshot:
    """One run of a suite reduced to what a comparison needs."""

    suite: str
    run_id: str
    model: str
    verdicts: dict[str, str]  # case id -> pass | fail | error
    prompt: str | None = None
    prompt_tokens: int | None = None
    case_hashes: dict[str, str] = field(default_factory=dict)  # case id -> hash of its content
    answers: dict[str, str] = field(default_factory=dict)  # case id -> start of its answer, when not a pass
    reasons: dict[str, str] = field(default_factory=dict)  # case id -> why it did not pass
    grader: str | None = None  # the --grader it was saved with (None: the suite's, else the model)
    prompts: int | None = None  # without --prompt: how many prompts the suite lists (prompt_tokens counts them all)
    config_hashes: dict[str, str] = field(default_factory=dict)  # suite key but prompts/tests -> hash of its value

    @property
    def errored(self) -> list[str]:
        return [i for i, v in self.verdicts.items() if v == "error"]

    @property
    def passed(self) -> int:
        return sum(v == "pass" for v in self.verdicts.values())

    @property
    def total(self) -> int:
        return len(self.verdicts)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed, "total": self.total, "pass_rate": round(self.pass_rate, 4)}


@dataclass
class Comparison:
    before: Snapshot
    after: Snapshot
    regressions: list[dict[str, str]] = field(default_factory=list)  # {id, before, after, reason, answer}
    new_cases: list[dict[str, str]] = field(default_factory=list)  # {id, verdict}
    changed_cases: list[str] = field(default_factory=list)  # ids whose content differs from the baseline
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, "before": self.before.to_json(),
                "after": self.after.to_json(), "regressions": self.regressions, "new_cases": self.new_cases,
                "changed_cases": self.changed_cases}


def prompt_tokens(path: Path) -> int:
    """The prompt file's size in tokens as agentbook's stand-in counts them (about 4 bytes a token):
    not a real tokenizer, but deterministic, offline and monotonic in the text, which is what a
    "did it get shorter" check needs."""
    from agentbook.standin.tokens import count_text

    try:
        return count_text(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise FatalError(f"cannot read prompt: {err.strerror}", location=str(path)) from None


def suite_prompt_tokens(suite: Suite) -> tuple[int, int]:
    """The tokens of every prompt the suite lists, written in it or in files it names, and how many: what
    a consolidation of prompts written in the suite (`prompts:` strings, two near-duplicates made one)
    shrinks, where `--prompt FILE` measures one file."""
    from agentbook.evals.render import load_prompts
    from agentbook.standin.tokens import count_text

    prompts = load_prompts(suite.config(), suite.base_dir, suite.root)
    return sum(count_text(p.text if p.chat is None else json.dumps(p.chat)) for p in prompts), len(prompts)


def take(suite_path: Path, model: str | None, prompt: Path | None = None, grader: str | None = None) -> Snapshot:
    """Run the whole suite now (the cases' own repeat policies apply) and reduce it to a snapshot;
    `grader` grades llm-rubric checks as eval run's --grader does."""
    from agentbook.evals.runner import RunOptions, run_suite
    from agentbook.evals.store import open_suite

    suite = open_suite(suite_path)
    # before the run: a wrong path must not cost one. The suite as its own --prompt (its prompts are written in
    # it) is measured by the prompts it writes, not by its cases as well.
    if prompt is not None and not _is_suite(prompt, suite.path):
        tokens, count = prompt_tokens(prompt), None
    else:
        tokens, count = suite_prompt_tokens(suite)
    report = run_suite(suite, RunOptions(model=model, grader=grader))
    failing = [c for c in report["cases"] if c["verdict"] != "pass"]
    return Snapshot(suite=str(suite_path), run_id=report["run_id"], model=str(report["model"]),
                    verdicts={c["id"]: c["verdict"] for c in report["cases"]},
                    answers={c["id"]: c["answer"]["text"] for c in failing if c.get("answer")},
                    reasons={c["id"]: _reason(c) for c in failing},
                    prompt=str(prompt) if prompt else None,
                    prompt_tokens=tokens, grader=grader, prompts=count,
                    case_hashes={c["id"]: case_hash(suite.get_case(c["id"])) for c in report["cases"]},
                    config_hashes=config_hashes(suite, prompts=prompt is not None and not _is_suite(prompt, suite.path)))


def _is_suite(prompt: Path, suite: Path) -> bool:
    return prompt.resolve() == suite.resolve()


def config_hashes(suite: Suite, *, prompts: bool) -> dict[str, str]:
    """What the suite says besides its cases (defaultTest, as read from its file too, providers, ...),
    hashed per key: a prompt change must leave the checks it is held to as they were, and a suite whose
    prompts are written in it is not protected from the agent that edits them. `prompts` too when a
    prompt file is measured: else the suite could run another file than the one that got shorter."""
    skipped = ("tests",) if prompts else ("prompts", "tests")
    config = {k: v for k, v in suite.config().items() if k not in skipped}
    if "defaultTest" in config:
        config["defaultTest"] = suite.default_test()
    return {str(k): case_hash(v) for k, v in config.items()}


def _reason(case: dict[str, Any]) -> str:
    attempt = next((a for a in case["attempts"] if a["error"] or not a["pass"]), None)
    return str(attempt["reason"])[:300] if attempt else ""


def check_savable(snapshot: Snapshot, suite_path: Path, model: str | None) -> None:
    """A baseline of cases that could not run would let every later error pass as "no regression".
    `model` is the --model given (None: the suite's own, the likely culprit, so the hint asks for one)."""
    errored = snapshot.errored
    if errored:
        first = snapshot.reasons.get(errored[0], "")
        rerun = f"agentbook eval run {suite_path} --case {errored[0]} --model {model or 'SPEC'}" + \
            (f" --grader {snapshot.grader}" if snapshot.grader else "")
        raise FatalError(f"not saved: {len(errored)} of {snapshot.total} case(s) could not run "
                         f"({', '.join(errored[:5])}); first: {first}",
                         hint=f"fix the model spec or the cases ({rerun} shows why), then save again")


def check_model(before: Snapshot, model: str, *, other_model: bool) -> None:
    """The baseline was recorded with one model; results of another say nothing about the prompt."""
    if model != before.model and not other_model:
        raise FatalError(f"the baseline was recorded with {before.model}, this check runs {model}",
                         hint=f"check with --model {before.model}, or pass --other-model to compare anyway")


def check_grader(before: Snapshot, grader: str | None, *, other_model: bool) -> str | None:
    """The grader the check runs: the one given, else the baseline's; llm-rubric verdicts of another
    grader say nothing about the prompt either."""
    if grader is not None and before.grader is not None and grader != before.grader and not other_model:
        raise FatalError(f"the baseline was graded by {before.grader}, this check grades with {grader}",
                         hint=f"check with --grader {before.grader} (or leave --grader out), or pass --other-model "
                              "to compare anyway")
    return grader or before.grader


def check_prompt(before: Snapshot, prompt: Path | None) -> None:
    """Token counts of two files say nothing about a change: the check measures the baseline's prompt."""
    if prompt is not None and before.prompt is None and before.prompts is not None \
            and not _is_suite(prompt, Path(before.suite)):  # the suite as --prompt measures what no --prompt did
        raise FatalError(f"the baseline measured the suite's {before.prompts} prompt(s), this check would measure "
                         f"{prompt}", hint="check without --prompt, or save a new baseline with --prompt")
    if prompt is not None and before.prompt is not None and Path(before.prompt).resolve() != prompt.resolve():
        raise FatalError(f"the baseline measured the prompt {before.prompt}, this check would measure {prompt}",
                         hint=f"check with --prompt {before.prompt} (or leave --prompt out), or save a new "
                              "baseline for the other prompt")


def case_hash(case: Any) -> str:
    """A case's content, whatever its layout or formatting: a prompt change must not touch it."""
    canonical = json.dumps(case, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def baseline_path(suite_path: Path) -> Path:
    from agentbook.evals.state import state_dir
    from agentbook.evals.store import open_suite

    suite = open_suite(suite_path).path
    return state_dir(suite) / "baselines" / f"{suite.name}.json"  # one per suite file in the folder


def save(snapshot: Snapshot, suite_path: Path) -> Path:
    path = baseline_path(suite_path)
    atomic_write_json(path, snapshot.to_json())
    return path


def load(suite_path: Path, model: str | None = None, prompt: Path | None = None) -> Snapshot:
    """The recorded baseline; `model` and `prompt` (the check's) go into the hint that saves a missing one,
    so the command it names runs the same model as the check."""
    path = baseline_path(suite_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        save = f"agentbook baseline save {suite_path}" + (f" --model {model}" if model else "") + \
            (f" --prompt {prompt}" if prompt else "")
        raise FatalError(f"no baseline recorded for {suite_path}",
                         hint=f"record one on the unchanged prompt first: {save}") from None
    except (OSError, ValueError) as err:
        raise FatalError(f"cannot read the baseline: {err}", location=str(path)) from None
    known = set(Snapshot.__dataclass_fields__)
    return Snapshot(**{k: v for k, v in data.items() if k in known})


def compare(before: Snapshot, after: Snapshot, *, require_shorter: bool = False) -> Comparison:
    """Regressions are cases that passed before and do not now; edited cases are problems too (a
    prompt change is held to the cases, never the other way round); new cases are listed, not judged."""
    result = Comparison(before, after)
    for case_id, was in before.verdicts.items():
        now = after.verdicts.get(case_id, "missing")
        if was == "pass" and now != "pass":
            result.regressions.append({"id": case_id, "before": was, "after": now,
                                       "reason": after.reasons.get(case_id, ""),
                                       "answer": after.answers.get(case_id, "")})
    result.new_cases = [{"id": i, "verdict": v} for i, v in after.verdicts.items() if i not in before.verdicts]
    if result.regressions:
        ids = _ids([r["id"] for r in result.regressions])
        result.problems.append(f"{len(result.regressions)} case(s) passed in the baseline and do not now: {ids}")
    errored = after.errored
    if errored:  # an error is never a pass, nor "no regression", whatever the baseline said
        result.problems.append(f"{len(errored)} case(s) could not run: {_ids(errored)}")
    if after.pass_rate < before.pass_rate:
        result.problems.append(f"pass rate dropped: {before.pass_rate:.0%} -> {after.pass_rate:.0%}")
    result.changed_cases = [i for i, h in before.case_hashes.items()
                            if i in after.case_hashes and after.case_hashes[i] != h]
    if result.changed_cases:
        ids = ", ".join(result.changed_cases[:10])
        result.problems.append(f"{len(result.changed_cases)} case(s) changed since the baseline: {ids} "
                               "(hold the prompt to the cases; do not edit them to pass)")
    if before.config_hashes:  # a baseline saved before they were recorded has none
        changed = sorted(k for k in {*before.config_hashes, *after.config_hashes}
                         if before.config_hashes.get(k) != after.config_hashes.get(k))
        if "prompts" in changed:
            changed.remove("prompts")
            result.problems.append(f"the suite's prompts: list changed since the baseline, which measured the prompt "
                                   f"{before.prompt}: change that file, not which prompts the suite runs")
        if changed:
            result.problems.append(f"the suite's {', '.join(changed)} changed since the baseline (only its prompts "
                                   "may change: hold the prompt to the suite's checks, do not edit them)")
    if require_shorter:
        if before.prompt_tokens is None or after.prompt_tokens is None:
            result.problems.append("no prompt token count to compare: save the baseline again (without --prompt "
                                   "it measures the suite's prompts; with --prompt FILE, that file)")
        elif after.prompt_tokens >= before.prompt_tokens:
            result.problems.append(f"the prompt is not shorter: {before.prompt_tokens} -> {after.prompt_tokens} tokens")
    return result


def _ids(ids: list[str], shown: int = 10) -> str:
    """The first ids, and how many more (the JSON result lists every one)."""
    text = ", ".join(ids[:shown])
    return text + (f" and {len(ids) - shown} more" if len(ids) > shown else "")
