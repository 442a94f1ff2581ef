"""Eval baselines: the numbers a prompt change is held to.

A runbook's first step records how the suite does on the unchanged prompt (`agentbook baseline
save`); a later gate runs the suite again and compares (`agentbook baseline check`): no case that
passed may stop passing, the pass rate may not drop, no case of the baseline may have been edited
(each case's content is hashed), and for a consolidation the prompt's token count must drop.

Where the baseline is kept depends on who runs the command:

- a runbook's gate (`AGENTBOOK_GATE_STATE` set by the runner, for gates only): in that folder, the run's
  own and outside the worktree, bound into the gates' jail alone; `check` reads it from there only and
  fails when it is missing (the worktree's copy is the agent's to rewrite: a baseline where every case
  failed let any regression through). `save` also leaves a copy in the worktree for the agent to read;
- anyone else (a user by hand, the agent's own bash): beside the suite's other eval state
  (`.agentbook/baselines/`, never committed), which no gate reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentbook import confine
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
    # it) is measured by the prompts it writes, not by its cases as well; SUITE:LINE by the one written there.
    inline = _written_in(prompt, suite)
    if inline is not None:
        tokens, count = inline, None
    elif prompt is not None and not _is_suite(prompt, suite.path):
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
                    config_hashes=config_hashes(suite, prompts=prompt is not None and inline is None
                                                and not _is_suite(prompt, suite.path)))


def _is_suite(prompt: Path, suite: Path) -> bool:
    return prompt.resolve() == suite.resolve()


def _written_in(prompt: Path | None, suite: Suite) -> int | None:
    """The tokens of the prompt `SUITE:LINE` names (one of several written in the suite), else None."""
    from agentbook.evals.render import load_prompts, prompt_at_line
    from agentbook.standin.tokens import count_text

    at = prompt_at_line(str(prompt), suite.path) if prompt is not None else None
    if at is None:
        return None
    prompts = [p for p in load_prompts(suite.config(), suite.base_dir, suite.root) if p.item == at]
    return sum(count_text(p.text if p.chat is None else json.dumps(p.chat)) for p in prompts)


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


GATE_STATE_ENV = "AGENTBOOK_GATE_STATE"  # the run's gate-state folder, set by the runner for gates only
GATE_SEALED_ENV = "AGENTBOOK_GATE_SEALED"  # {path in it: sha256} of what earlier steps' gates saved there


def baseline_path(suite_path: Path) -> Path:
    """The worktree's copy, beside the suite: the one a user's (and the agent's) commands use."""
    from agentbook.evals.state import inside
    from agentbook.evals.store import open_suite

    suite = open_suite(suite_path).path
    return inside(suite, "baselines", f"{suite.name}.json")  # one per suite file in the folder


def gate_state() -> Path | None:
    """The run's gate-state folder when a runbook's gate runs this command, else None. A gate told of one
    that is not there fails: it never falls back to what the agent could write."""
    raw = os.environ.get(GATE_STATE_ENV)
    if raw is None:
        return None
    folder = Path(raw)
    if not raw or not folder.is_dir() or folder.is_symlink():
        raise FatalError(f"the run's gate-state folder {raw!r} ({GATE_STATE_ENV}) is not a folder",
                         hint="gates keep their baselines there; the runner makes it for each run")
    return folder


def gate_baseline_path(folder: Path, suite_path: Path) -> Path:
    """The gates' own copy: named by the suite's place in the worktree, so two `suite.yaml` in two
    folders keep two baselines, and a resumed run (the same worktree) finds its own."""
    from agentbook.evals.store import open_suite

    suite = open_suite(suite_path).path.resolve()
    confined = confine.from_env()
    place = str(suite.relative_to(confined.root)) if confined and suite.is_relative_to(confined.root) else str(suite)
    digest = hashlib.sha256(place.encode()).hexdigest()[:16]
    return folder / "baselines" / f"{suite.name}.{digest}.json"


def save(snapshot: Snapshot, suite_path: Path) -> Path:
    """Where it was saved: in a gate, the gate-state folder (and a copy in the worktree for the agent)."""
    folder = gate_state()
    if folder is None:
        path = baseline_path(suite_path)
        atomic_write_json(path, snapshot.to_json())
        return path
    trusted = gate_baseline_path(folder, suite_path)
    if _sealed_digest(folder, trusted) is not None:
        raise FatalError(f"a gate of an earlier step of this run saved the baseline of {suite_path}: a later "
                         "step does not replace it", hint="save the baseline in one step, before the change")
    atomic_write_json(trusted, snapshot.to_json())
    with contextlib.suppress(OSError, FatalError):  # the agent's copy: a worktree it broke costs it that alone
        atomic_write_json(baseline_path(suite_path), snapshot.to_json())
    return trusted


def _sealed_digest(folder: Path, path: Path) -> str | None:
    """The digest the runner recorded for `path` when an earlier step's gates passed, or None."""
    try:
        sealed = json.loads(os.environ.get(GATE_SEALED_ENV) or "{}")
    except ValueError:
        raise FatalError(f"{GATE_SEALED_ENV} is not JSON") from None
    digest = sealed.get(path.relative_to(folder).as_posix()) if isinstance(sealed, dict) else None
    return str(digest) if digest is not None else None


def unread_by_gates() -> bool:
    """True for the agent's own commands in a run: what they save no gate reads."""
    return confine.from_env() is not None and os.environ.get(GATE_STATE_ENV) is None


def load(suite_path: Path, model: str | None = None, prompt: Path | None = None) -> Snapshot:
    """The recorded baseline; `model` and `prompt` (the check's) go into the hint that saves a missing one,
    so the command it names runs the same model as the check."""
    save = f"agentbook baseline save {suite_path}" + (f" --model {model}" if model else "") + \
        (f" --prompt {prompt}" if prompt else "")
    folder = gate_state()
    path = baseline_path(suite_path) if folder is None else gate_baseline_path(folder, suite_path)
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except FileNotFoundError:
        if folder is not None:
            raise FatalError(f"no baseline recorded by this run's gates for {suite_path}",
                             hint=f"an earlier step needs the gate `{save}` (on the unchanged prompt); a "
                                  "gate never reads the worktree's .agentbook/baselines/, which the agent "
                                  "can write") from None
        raise FatalError(f"no baseline recorded for {suite_path}",
                         hint=f"record one on the unchanged prompt first: {save}") from None
    except (OSError, ValueError) as err:
        raise FatalError(f"cannot read the baseline: {err}", location=str(path)) from None
    if not isinstance(data, dict):
        raise FatalError("cannot read the baseline: not a JSON object", location=str(path))
    sealed = _sealed_digest(folder, path) if folder is not None else None
    if sealed is not None and hashlib.sha256(raw).hexdigest() != sealed:
        raise FatalError(f"the baseline of {suite_path} changed after the step that saved it",
                         hint="code a gate ran after that step rewrote it: the check cannot trust it",
                         location=str(path))
    known = set(Snapshot.__dataclass_fields__)
    return Snapshot(**{k: v for k, v in data.items() if k in known})


def _percent(rate: float, other: float) -> str:
    """`rate` as a percentage with the decimals that tell it from `other` (85.0% and 84.6%, not 85% and 85%)."""
    for digits in range(4):
        if round(rate * 100, digits) != round(other * 100, digits):
            return f"{rate * 100:.{digits}f}%"
    return f"{rate * 100:.3f}%"


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
    # on the baseline's cases: a new case is listed, not judged (on a suite running two prompt versions, the
    # case fix-prompt added for one of them fails on the other, and 17/200 -> 17/201 read "dropped: 8% -> 8%")
    kept = [after.verdicts.get(case_id) == "pass" for case_id in before.verdicts]
    rate = sum(kept) / len(kept) if kept else after.pass_rate
    if rate < before.pass_rate:
        result.problems.append(f"pass rate dropped on the baseline's {len(kept)} cases: "
                               f"{_percent(before.pass_rate, rate)} -> {_percent(rate, before.pass_rate)}")
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
