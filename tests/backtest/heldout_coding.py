"""A held-out backtest generator: patchbot, a coding agent that fixes failing CI jobs.

Written for checking `backtest cluster` on a backtest it was never tuned on: another system (a
coding agent, not a support or incident assistant), other vocabulary (pip, pytest, hunks, sandboxes),
other cause shapes and another noise rate than examples/support-agent. Clustering code must never
be tuned on it; it only reports how well cohorts hold here.

Of the failures (120 runs over 5 repositories by default):

  dependency-conflict   ~30%  pip cannot resolve the pinned versions (error worded four ways)
  wrong-test-target     ~15%  the agent runs a test file other than the failing one (no error text)
  offline-sandbox       ~12%  one repository only: the sandbox has no network, downloads fail
  hunk-rejected          ~8%  the patch does not apply (hunk offsets)
  (none)                ~35%  failures that share nothing

Analyses are written directly, in two kinds: `quoting` (what a file-reading analyst reports: the
run's own error text, ids and versions) and `templated` (three framings around a few phrasings per
cause, nothing from the run). `planted.jsonl` holds each run's cause.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

REPOS = ["ledgerly", "mapkit", "quillpad", "tidewater", "orbitdb"]
OFFLINE_REPO = "tidewater"
SHARES = {"dependency-conflict": 0.30, "wrong-test-target": 0.15, "offline-sandbox": 0.12, "hunk-rejected": 0.08}
FAILURE_RATE = 0.5
NOISE_SHARE = 0.35

DEP_ERRORS = [
    "ERROR: Cannot install {pkg}=={v1} and {other}=={v2} because these package versions have conflicting dependencies.",
    "ResolutionImpossible: {pkg}>={v1} requires {other}<{v2}, but {other}=={v2} is pinned",
    "pip's dependency resolver could not find a version of {pkg} that satisfies {other}=={v2}",
    "poetry: SolverProblemError: because {pkg} ({v1}) depends on {other} (<{v2}), version solving failed",
]
OFFLINE_ERRORS = [
    "Failed to establish a new connection: [Errno -3] Temporary failure in name resolution (pypi.org)",
    "curl: (6) Could not resolve host: github.com",
    "npm ERR! network request to https://registry.npmjs.org/{pkg} failed, reason: getaddrinfo EAI_AGAIN",
]
HUNK_ERRORS = [
    "error: patch failed: {file}:{line}\nerror: {file}: patch does not apply",
    "Hunk #{n} FAILED at {line} (different line endings or offset).",
]
WRONG_TEST_NOTES = [
    "The agent ran tests/test_{mod}.py, but CI failed in tests/integration/test_{mod}_api.py.",
    "Ran the unit suite only; the failing job is the integration suite.",
    "Verified the fix with a test that was already passing; the red test was never run.",
]
NOISE = [
    "The agent renamed a public function and broke two downstream imports.",
    "Commit message does not follow the repository's conventional-commit rule.",
    "The fix disabled the flaky assertion instead of fixing the race.",
    "Edited the generated file instead of its template.",
    "Left a debug print in the patched module.",
    "The PR touches 41 files for a one-line fix (formatter ran on the whole tree).",
    "Changed the lockfile without a reason given.",
    "Answered in the PR description that the bug was fixed upstream; it was not.",
    "Used a Python 3.12 only syntax in a 3.9 project.",
    "Deleted a migration file that is already applied in production.",
    "Timezone math is off by one hour around DST in the new helper.",
    "The agent stopped after 30 steps without opening a PR.",
    "Introduced a circular import between models and services.",
    "Hard-coded a path from the agent's sandbox into the config.",
    "Marked the test xfail and called the job fixed.",
    "Wrote the fix in the vendored copy, not in the package.",
    "Changed the public API's default page size from 50 to 10.",
    "Bumped the major version of a library the task did not mention.",
    "The new regex rejects valid email addresses with a plus sign.",
    "Patch is correct but the agent pushed to the wrong branch.",
    "Committed a .env file with placeholder secrets.",
    "SQL query in the fix is vulnerable to injection.",
    "The agent misread the stack trace and patched the caller.",
    "Reformatted YAML and lost an anchor used by two jobs.",
    "Added a sleep(5) to make the test pass.",
    "Fix compiles, but the agent skipped the type checker step that CI runs.",
    "Removed the retry decorator that the flaky network call needed.",
    "Log level changed from INFO to DEBUG in production settings.",
    "The agent opened three duplicate PRs for one issue.",
    "The patch swaps two arguments in a call with the same types.",
]
TEMPLATES: dict[str, list[tuple[str, str, str, str]]] = {  # (finding, stage, suspected file, change)
    "dependency-conflict": [
        ("Dependency resolution failed: two pinned packages need incompatible versions.", "tool-execution",
         "requirements.txt", "Relax the pin so both packages resolve."),
        ("The environment could not be built because of conflicting version constraints.", "infrastructure",
         "requirements.txt", "Regenerate the lock with a resolver that sees both constraints."),
        ("pip refused to install; the version pins contradict each other.", "tool-execution",
         "agent/env_setup.py", "Let the agent run the resolver with --upgrade-strategy eager."),
    ],
    "wrong-test-target": [
        ("The agent validated its change against the wrong test file.", "planning", "agent/test_picker.py",
         "Pick the test from the CI job's failing test id."),
        ("The failing integration test was never executed by the agent.", "reasoning", "agent/test_picker.py",
         "Run the job's own test command before declaring success."),
    ],
    "offline-sandbox": [
        ("Network access is blocked in this repository's sandbox, so downloads failed.", "infrastructure",
         "sandbox/profiles.yaml", "Allow the package index host in this repository's sandbox profile."),
        ("The sandbox could not reach the package registry (no DNS).", "tool-execution",
         "sandbox/profiles.yaml", "Give the sandbox a registry mirror."),
    ],
    "hunk-rejected": [
        ("The generated patch did not apply: hunk context does not match the file.", "tool-execution",
         "agent/patcher.py", "Re-read the file before producing the diff."),
        ("Patch application failed at a hunk because line offsets were stale.", "answer", "agent/patcher.py",
         "Apply edits by search/replace instead of line-numbered hunks."),
    ],
}
FRAMES = [
    lambda s: s,
    lambda s: f"Summary of investigation: {s} Recommendation: see proposed change.",
    lambda s: f"After reviewing the transcript, I believe {s[0].lower()}{s[1:]}",
]
NOISE_CHANGES = ["Add a review checklist item for this.", "Add a regression eval for this task.",
                 "Tighten the system prompt."]


def _plan(rng: random.Random, count: int) -> list[tuple[str, str | None, int | None]]:
    repos = [REPOS[i % len(REPOS)] for i in range(count)]
    rng.shuffle(repos)
    failures = round(count * FAILURE_RATE)
    per = {c: max(1, round(failures * s)) for c, s in SHARES.items()}
    n_noise = min(len(NOISE), round(failures * NOISE_SHARE))
    slots: list[tuple[str, str | None, int | None]] = [(r, None, None) for r in repos]
    order = list(range(count))
    rng.shuffle(order)
    offline = [i for i in order if repos[i] == OFFLINE_REPO][:per["offline-sandbox"]]
    for i in offline:
        slots[i] = (repos[i], "offline-sandbox", None)
    free = [i for i in order if i not in set(offline)]
    for cause in ("dependency-conflict", "wrong-test-target", "hunk-rejected"):
        for _ in range(per[cause]):
            i = free.pop()
            slots[i] = (repos[i], cause, None)
    for k in rng.sample(range(len(NOISE)), n_noise):
        i = free.pop()
        slots[i] = (repos[i], None, k)
    return slots


def _error(rng: random.Random, cause: str | None) -> str:
    pkg, other = rng.choice([("pandas", "numpy"), ("django", "asgiref"), ("boto3", "botocore"), ("torch", "typing-extensions")])
    fill = {"pkg": pkg, "other": other, "v1": f"{rng.randint(1, 4)}.{rng.randint(0, 20)}",
            "v2": f"{rng.randint(1, 4)}.{rng.randint(0, 20)}", "file": rng.choice(["src/app.py", "lib/core.py"]),
            "line": rng.randint(10, 400), "n": rng.randint(1, 6), "mod": rng.choice(["orders", "auth", "sync"])}
    pool = {"dependency-conflict": DEP_ERRORS, "offline-sandbox": OFFLINE_ERRORS, "hunk-rejected": HUNK_ERRORS,
            "wrong-test-target": WRONG_TEST_NOTES}.get(cause or "")
    return rng.choice(pool).format(**fill) if pool else ""


def _trace(rng: random.Random, n: int, repo: str, error: str, tool: str) -> dict[str, Any]:
    def attr(k: str, v: str) -> dict[str, Any]:
        return {"key": k, "value": {"stringValue": v}}
    trace_id = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    start = 1_770_000_000_000_000_000 + n * 10**12
    root = {"traceId": trace_id, "spanId": f"{n:016x}", "name": "fix_ci_job", "kind": 1,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 9 * 10**9),
            "attributes": [attr("gen_ai.operation.name", "invoke_agent"), attr("repo", repo)], "status": {"code": 1}}
    span = {"traceId": trace_id, "spanId": f"{n + 1:016x}", "parentSpanId": root["spanId"], "name": tool, "kind": 1,
            "startTimeUnixNano": str(start + 10**9), "endTimeUnixNano": str(start + 2 * 10**9),
            "attributes": [attr("gen_ai.operation.name", "execute_tool"), attr("gen_ai.tool.name", tool)],
            "status": {"code": 2, "message": error} if error else {"code": 1}}
    return {"resourceSpans": [{"resource": {"attributes": [attr("service.name", "patchbot")]},
                               "scopeSpans": [{"scope": {"name": "patchbot"}, "spans": [root, span]}]}]}


def _quoting(cause: str | None, noise: int | None, error: str, tool: str) -> dict[str, Any]:
    """A file-reading analyst: quotes the run's own error or reviewer note."""
    if cause is None:
        text = NOISE[noise or 0]
        return {"failure_mode": f"Reviewer: {text}", "error_signature": None, "stage": "answer",
                "suspected": [{"kind": "component", "path": "agent/loop.py", "line": None, "why": "agent behaviour"}],
                "proposed_change": f"Add an eval case: {text}", "summary": text}
    first = error.splitlines()[0]
    stage = {"wrong-test-target": "planning", "hunk-rejected": "tool-execution"}.get(cause, "tool-execution")
    path = {"dependency-conflict": "agent/env_setup.py", "offline-sandbox": "sandbox/profiles.yaml",
            "hunk-rejected": "agent/patcher.py", "wrong-test-target": "agent/test_picker.py"}[cause]
    signature = None if cause == "wrong-test-target" else first
    return {"failure_mode": f"The {tool} step failed: {first}", "error_signature": signature, "stage": stage,
            "suspected": [{"kind": "component", "path": path, "line": None, "why": f"runs {tool}"}],
            "proposed_change": f"Handle this in {path}: {first}", "summary": f"{tool}: {first}"}


def _templated(rng: random.Random, cause: str | None, noise: int | None) -> dict[str, Any]:
    frame = rng.choice(FRAMES)
    if cause is None:
        text = NOISE[noise or 0]
        return {"failure_mode": frame(text), "error_signature": None, "stage": rng.choice(["answer", "reasoning"]),
                "suspected": [{"kind": "component", "path": "agent/loop.py", "line": None}],
                "proposed_change": rng.choice(NOISE_CHANGES), "summary": frame(text)}
    finding, stage, path, change = rng.choice(TEMPLATES[cause])
    return {"failure_mode": frame(finding), "error_signature": None, "stage": stage,
            "suspected": [{"kind": "component", "path": path, "line": None}], "proposed_change": change,
            "summary": frame(finding)}


def generate(out: Path, seed: int = 5, count: int = 120) -> None:
    rng = random.Random(seed)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted, quoting, templated = [], [], [], []
    for n, (repo, cause, noise) in enumerate(_plan(rng, count), 1):
        run = f"run-{n:04d}"
        wrong = cause is not None or noise is not None
        error = _error(rng, cause)
        tool = {"dependency-conflict": "pip_install", "offline-sandbox": "fetch_deps", "hunk-rejected": "apply_patch",
                "wrong-test-target": "run_tests"}.get(cause or "", rng.choice(["edit_file", "run_tests", "open_pr"]))
        in_trace = error if cause in ("dependency-conflict", "offline-sandbox", "hunk-rejected") else ""
        (out / "traces" / f"{run}.json").write_text(json.dumps(_trace(rng, n, repo, in_trace, tool)) + "\n")
        note = error if cause == "wrong-test-target" else (NOISE[noise] if noise is not None else "")
        truth = "Expected: CI green with a minimal patch." + (f"\nReviewer note: {note}" if note else "")
        manifest.append({"id": run, "account": repo, "trace": f"traces/{run}.json", "answer": "PR opened.",
                         "truth": truth, "verdict": "wrong" if wrong else "correct", "score": 0.0 if wrong else 1.0})
        planted.append({"id": run, "account": repo, "cause": cause, "noise": noise})
        if wrong:
            base = {"verdict": "wrong", "first_wrong_step": None, "evidence": [{"path": "trace/README.md"}],
                    "confidence": 0.7}
            quoting.append({"id": run, **base, **_quoting(cause, noise, error, tool)})
            templated.append({"id": run, **base, **_templated(rng, cause, noise)})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))
    (out / "quoting.jsonl").write_text("".join(json.dumps(a) + "\n" for a in quoting))
    (out / "templated.jsonl").write_text("".join(json.dumps(a) + "\n" for a in templated))
