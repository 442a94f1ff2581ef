"""One investigation of `backtest run`: the system's command, jailed, on one recorded input; then graded.

The contract the command meets (see `backtest run --help` and docs/BACKTEST-RUN.md):

- it runs in the system's repo (read-only) as the spec's `command`, with the input as JSON on stdin
  and in the file `$AGENTBOOK_INPUT`;
- its answer is what it writes to `$AGENTBOOK_ANSWER`, else its stdout;
- it leaves an OTLP/JSON trace at `$AGENTBOOK_TRACE_FILE` (agentbook's model layer writes that by
  itself when the program calls models through `agentbook.models.load_model`);
- `$AGENTBOOK_WORK` is its writable scratch folder; `$AGENTBOOK_MODEL` the model spec, when the spec or
  `--model` gives one; no API key or token of the runner reaches it, and the truth never does.

The command is the system's code and may be hostile: it runs in the gates' jail (no network, no
capabilities, the spec's limits) unless the run names the risk, and what it leaves (answer, trace)
is taken only as regular files it wrote itself, size-capped, never through a symlink.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.backtest.runspec import Incident, RunSpec
from agentbook.errors import FatalError
from agentbook.fsutil import atomic_write_text

UNCONFINED = "none-i-accept-the-risk"
TRACE_FILE = "trace.otlp.json"
ANSWER_MAX = 256 * 1024  # bytes of an answer kept; the rest is cut with a note
TAIL_CHARS = 2000  # of stderr, kept for a failure's message
SAFE_ENV = ("LANG", "LC_ALL", "TZ")


@dataclass
class Job:
    """Everything a worker (a thread, or a Ray task on another machine) needs for one investigation."""

    incident: Incident
    spec: RunSpec
    run_dir: str
    key: str
    sandbox: str = "auto"
    model: str | None = None
    grader: str | None = None
    pass_env: dict[str, str] = field(default_factory=dict)  # named by the user (--pass-env): never stored
    relay: Relayed | None = None  # a real model, reached from inside the jail through the keyless relay
    cache_home: str | None = None  # the command's XDG_CACHE_HOME, prepared by the run, read-only in the jail


@dataclass(frozen=True)
class Relayed:
    """Where the jailed command reaches the run's model: the relay's unix socket and its token (good for
    this run's relay only), and the model name it asks for."""

    socket: str
    token: str
    model: str


def investigate(job: Job) -> dict[str, Any]:
    """Run and grade one investigation: `{"result": {...}}`, or `{"failed": {"reason", "message"}}`."""
    started = time.monotonic()
    try:
        return _investigate(job, started)
    except FatalError as err:
        return {"failed": {"reason": "error", "message": err.render()}}


def _investigate(job: Job, started: float) -> dict[str, Any]:
    run_dir = Path(job.run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)  # a killed attempt's leftovers
    work = run_dir / "work"
    work.mkdir(parents=True)
    input_file = work / "input.json"
    atomic_write_text(input_file, json.dumps(job.incident.input, ensure_ascii=False))
    code, stopped = _run(job, run_dir, work, input_file)
    seconds = round(time.monotonic() - started, 3)
    stderr = _tail(run_dir / "stderr.txt")
    if stopped is not None:
        return _failed(stopped, f"the command was stopped ({stopped} after {seconds:.0f}s); stderr: {stderr}")
    if code == 125:
        return _failed("sandbox", f"the sandbox could not set the limits or start the command: {stderr}")
    trace = _take_trace(work, run_dir)
    if trace is None:
        why = f"it exited {code}" if code else "it exited 0"
        return _failed("no_trace" if code == 0 else "crashed",
                       f"the command left no trace at $AGENTBOOK_TRACE_FILE ({why}); stderr: {stderr}")
    answer = _answer(work, run_dir)
    graded = asyncio.run(grade_answer(job, answer))
    if "failed" in graded:
        return graded
    result = {"id": job.incident.id, "account": job.incident.account, "key": job.key, "answer": answer,
              "truth": job.incident.truth, **graded, "exit_code": code, "seconds": seconds,
              "trace": TRACE_FILE}
    if code:
        result["stderr"] = stderr
    shutil.rmtree(work, ignore_errors=True)
    return {"result": result}


def _failed(reason: str, message: str) -> dict[str, Any]:
    return {"failed": {"reason": reason, "message": message[:4000]}}


def command_env(job: Job, work: Path) -> dict[str, str]:
    """The command's whole environment: the contract's variables and nothing of the runner's secrets."""
    from agentbook.runbooks.gates import tool_path

    env = {k: os.environ[k] for k in SAFE_ENV if k in os.environ}
    env.update({"PATH": tool_path(), "HOME": str(work), "PYTHONDONTWRITEBYTECODE": "1",
                "AGENTBOOK_INPUT": str(work / "input.json"), "AGENTBOOK_ANSWER": str(work / "answer.txt"),
                "AGENTBOOK_TRACE_FILE": str(work / TRACE_FILE), "AGENTBOOK_TRACE_NAME": job.spec.name,
                "AGENTBOOK_WORK": str(work), "AGENTBOOK_INVESTIGATION": job.incident.id,
                "AGENTBOOK_ACCOUNT": job.incident.account, "AGENTBOOK_REPO": str(job.spec.repo)})
    if job.model:
        env["AGENTBOOK_MODEL"] = job.model
    if job.cache_home:
        env["XDG_CACHE_HOME"] = job.cache_home
    if job.relay is not None:  # relay_forward sets ANTHROPIC_BASE_URL to its loopback end of the relay
        env.update({"AGENTBOOK_MODEL": f"anthropic:{job.relay.model}", "ANTHROPIC_API_KEY": job.relay.token})
    env.update(job.pass_env)
    return env


def _run(job: Job, run_dir: Path, work: Path, input_file: Path) -> tuple[int, str | None]:
    """(exit code, why it was stopped or None). Jailed: the repo read-only, `work` writable, no network."""
    from agentbook.session import jail
    from agentbook.session.watchdog import DiskMeter, Watchdog, tree_bytes

    spec = job.spec
    call = None
    argv, cwd = list(spec.command), spec.repo
    if job.sandbox != UNCONFINED:
        # the jail's root is the scratch folder; the command starts in the repo, bound read-only
        inner = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', str(spec.repo), *spec.command]
        readable = [str(spec.repo), *([job.cache_home] if job.cache_home else [])]
        if job.relay is not None:
            from agentbook.models import relay_forward

            if not Path(job.relay.socket).exists():  # a Ray worker on another machine than the driver
                raise FatalError(f"the model relay's socket {job.relay.socket} is not on this machine "
                                 f"({socket.gethostname()}): the relay runs beside `backtest run` and a real "
                                 "model is reached only from its machine",
                                 hint="run on one machine (the local executor, or Ray on this machine only), "
                                      "or with a scripted: model")

            inner = [sys.executable, "-I", relay_forward.__file__, job.relay.socket, "--", *inner]
            readable.append(str(Path(job.relay.socket).parent))
        try:
            call = jail.prepare(work, spec.limits, argv=inner, host_ro=readable, ro_at=_no_git_data(spec.repo, run_dir))
        except jail.JailUnavailable as err:
            raise FatalError(f"the sandbox cannot run here: {err}") from None
        argv, cwd = call.argv, work
    try:
        with open(input_file, "rb") as stdin, open(run_dir / "stdout.txt", "wb") as out, \
                open(run_dir / "stderr.txt", "wb") as errors:
            try:
                proc = subprocess.Popen(argv, cwd=cwd, env=command_env(job, work), stdin=stdin, stdout=out,
                                        stderr=errors, start_new_session=True,
                                        pass_fds=call.pass_fds if call else ())
            except OSError as error:
                raise FatalError(f"cannot run {argv[0]}: {error.strerror}",
                                 location=str(spec.path), hint="check `command:` in the run spec") from None
            # the disk limit meters what the command adds to the whole run folder: its stdout and stderr
            # files lie beside `work`, and unmetered each grew to the 1G file_size, 25 investigations at once;
            # the folder's size before it starts (the input, which may be large) is not the command's
            meter = DiskMeter(run_dir, spec.limits.disk + tree_bytes(run_dir)) if call else None
            dog = Watchdog(spec.timeout, meter, lambda _reason: _kill(proc))
            dog.start()
            try:
                proc.wait()
            finally:
                dog.stop()
                _kill(proc)  # whatever it left running
            if dog.reason is None and meter is not None and meter.over(rewalk_after=0) is not None:
                dog.reason = "disk"  # past the limit and gone between two looks: one exact walk decides
    finally:
        if call is not None:
            call.close()
        with contextlib.suppress(OSError):
            (run_dir / "no-git").rmdir()  # not part of the run folder: it only stood in for .git
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return code, dog.reason


def _no_git_data(repo: Path, run_dir: Path) -> list[tuple[str, str]]:
    """What covers the repo's own `.git` in the jail: its config may hold the checkout's credentials
    (actions/checkout keeps the token there by default) and the system's code has no use for it."""
    git = repo / ".git"
    if git.is_symlink() or not git.exists():
        return []
    if git.is_dir():
        empty = run_dir / "no-git"
        empty.mkdir(exist_ok=True)
        return [(str(empty), str(git))]
    return [(os.devnull, str(git))]


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _own_file(path: Path) -> bool:
    """A regular file with one link: what the command wrote itself, not a link to something else."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


def _take_trace(work: Path, run_dir: Path) -> Path | None:
    source = work / TRACE_FILE
    if not _own_file(source) or source.stat().st_size == 0:
        return None
    target = run_dir / TRACE_FILE
    os.rename(source, target)  # the command is gone (its whole pid namespace): nothing swaps it now
    return target


def _read_capped(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(ANSWER_MAX + 1)
    text = data[:ANSWER_MAX].decode("utf-8", errors="replace")
    return text + ("\n[answer cut at 256 KiB]" if len(data) > ANSWER_MAX else "")


def _answer(work: Path, run_dir: Path) -> str:
    file = work / "answer.txt"
    source = file if _own_file(file) else run_dir / "stdout.txt"
    text = _read_capped(source).strip()
    atomic_write_text(run_dir / "answer.txt", text + "\n")
    return text


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - TAIL_CHARS))
            text = fh.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    return text or "(empty)"


async def grade_answer(job: Job, answer: str) -> dict[str, Any]:
    """The eval graders over the answer: all pass -> correct; `score` is their weighted mean."""
    from agentbook.evals.graders import grade
    from agentbook.evals.render import render_value

    incident = job.incident
    variables = incident.variables()
    judge, close = _judge(job.grader)
    results = []
    try:
        for assertion in [*job.spec.asserts, *incident.asserts]:
            if "value" in assertion:
                assertion = {**assertion, "value": render_value(assertion["value"], variables)}
            results.append(await grade(assertion, answer, judge))
    except FatalError as err:
        return _failed("grading", err.render())
    finally:
        await close()
    errors = [r for r in results if r.error]
    if errors:
        return _failed("grading", f"{errors[0].type}: {errors[0].reason}")
    total = sum(r.weight for r in results) or 1.0
    score = round(sum(r.score * r.weight for r in results) / total, 4)
    passed = all(r.passed for r in results)
    return {"verdict": "correct" if passed else "wrong", "score": score,
            "asserts": [r.to_json() for r in results]}


def _judge(spec: str | None) -> tuple[Any, Any]:
    """The llm-rubric judge on the grader model (loaded on first use), and how to close it."""
    from agentbook.evals.graders import JUDGE_PROMPT
    from agentbook.models import ModelRequest, load_model

    models: list[Any] = []

    async def judge(rubric: str, output: str, provider: Any) -> str:
        if not models:
            models.append(load_model(str(spec)))
        prompt = JUDGE_PROMPT.format(rubric=rubric, output=output)
        response = await models[0].complete(ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                         max_tokens=1024))
        return str(response.text())

    async def close() -> None:
        for model in models:
            await model.aclose()

    return (judge if spec else None), close
