"""promptfoo's `javascript` assertions, run by Node inside the jail, never outside it.

A suite is anyone's to write, and its JavaScript is code: it runs in the same bubblewrap jail as a
session's bash (`agentbook.session.jail`: no network, no capabilities, seccomp, rlimits, a pids and a
memory cgroup as root) with an empty root folder of its own, an environment of PATH and LANG only,
and none of the suite's folder shown (a `file://` script is read by agentbook, confined to the suite's
repository, and handed over as text, with the files it `require`s by a quoted relative path, read the
same way; any other `require` gets node's own modules only). Where node or the
jail is missing the assertion is an error saying so: fail closed, never run unconfined.

`eval run` in a gate or the agent's bash is already in that jail, where no nested one can be made (no
namespaces, no capabilities). There, and only where `jail.inside()` finds the jail's own mark in the
kernel's mount table with its confinement (no capabilities, no_new_privs, seccomp), node runs without a
second jail: the outer one holds it, and the code there could already run anything. The rest is the same
(the vm deadline, kill and restart, the heap cap and rlimits, an environment of PATH, LANG and HOME).

One node process per run answers every assertion (a line of JSON in, a line out): starting bubblewrap
and node costs far more than an assertion (`bench/bench_eval.py --js`). Each assertion has a deadline:
node's vm stops a synchronous loop; when no answer comes at all the process is killed, the assertion
is an error, and the next one starts a new process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import re
import resource
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentbook.errors import FatalError
from agentbook.evals.refs import RefRefused, placed
from agentbook.evals.render import read_ref
from agentbook.session.limits import GIB, MIB, Limits

if TYPE_CHECKING:  # the jail is imported when a run first needs it: most runs have no javascript
    from agentbook.session.jail import Call

EVALUATOR = Path(__file__).resolve().parent.parent / "data" / "jsassert.js"
SECONDS = 10.0  # per assertion; promptfoo has none, a suite's loop must not hold the run forever
LIMITS = Limits(processes=64, memory=2 * GIB, file_size=16 * MIB, cpu=600.0, open_files=256, tmp=64 * MIB)
HEAP_MB = 512  # V8's own ceiling: a runaway allocation ends as an error, not a swap storm
START_SECONDS = 30.0
LINE_LIMIT = 1 << 24
JS_KINDS = ("javascript", "not-javascript")
STATEMENT = re.compile(r"\s*(return|const|let|var|if|for|while|do|throw|try|switch)\b")
REQUIRE = re.compile(r"""\brequire\s*\(\s*(['"`])(\.{1,2}/[^'"`\n]+)\1\s*\)""")
EXTENSIONS = ("", ".js", ".cjs", ".json", "/index.js")  # node's order, as data/jsassert.js tries them
MAX_MODULES = 64  # files one script may pull in this way; more is an error, not a silent cut


class JsUnavailable(Exception):
    """Node or the jail is missing; `str(err)` says which."""


def node_path() -> str | None:
    """node as the jail sees it (it shows /usr and nothing of /root or /home), or None."""
    found = shutil.which("node")
    if found is None:
        return None
    real = os.path.realpath(found)
    return real if real.startswith("/usr/") else None


def problem() -> str | None:
    """Why `javascript` assertions cannot run here, or None."""
    from agentbook.session import jail

    if node_path() is None:
        return "no node under /usr on PATH (install nodejs)"
    return jail.problem()


class JsRunner:
    """One jailed node for a run's `javascript` assertions; `close()` ends it."""

    def __init__(self, base: Path, root: Path | None, seconds: float = SECONDS, suite: Path | None = None) -> None:
        self.base = base
        self.root = root
        self.suite = suite  # where a refused file:// script is reported (the line that names it)
        self.seconds = seconds
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._proc: asyncio.subprocess.Process | None = None
        self._call: Call | None = None
        self._dir: str | None = None
        self.started = 0  # node processes started: 1 for a run without a timeout

    async def run(self, value: Any, output: Any, context: dict[str, Any]) -> Any:
        """What the assertion's code returned (bool, number, or a dict for an object); FatalError when
        it threw, did not compile, or ran over its time; JsUnavailable without node or the jail."""
        try:
            request = self._request(value, output, context)
        except RefRefused as err:
            raise placed(err, self.suite) if self.suite is not None else err from None
        async with self._lock:
            proc = await self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            request["id"] = next(self._ids)
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            try:
                await proc.stdin.drain()
                line = await asyncio.wait_for(proc.stdout.readline(), self.seconds + 5)
            except TimeoutError:
                await self._stop()
                raise FatalError(f"{request['filename']}: ran over {self.seconds:g} s (a loop without end?)") from None
            except (OSError, ValueError):
                line = b""
            if not line:
                said = self._stderr_tail()
                await self._stop()
                raise FatalError(f"{request['filename']}: node ended while running it"
                                 + (f": {said}" if said else " (memory or CPU limit?)"))
        answer = json.loads(line)
        if answer.get("id") != request["id"] or not answer.get("ok"):
            raise FatalError(str(answer.get("error") or "node answered out of turn")[:500])
        return answer.get("result")

    def _request(self, value: Any, output: Any, context: dict[str, Any]) -> dict[str, Any]:
        text = value if isinstance(value, str) else ""
        if not text.strip():
            raise FatalError("a javascript assertion needs `value`: an expression, a function body, "
                             "or file://script.js[:function]")
        ms = max(1, int(self.seconds * 1000))
        common = {"output": output, "context": context, "ms": ms}
        if text.startswith("file://"):
            ref, _, fn = _split_ref(text)
            if ref.endswith((".mjs", ".ts")):
                raise FatalError(f"{ref}: only CommonJS .js files are supported (module.exports = (output, context) => ...)")
            path, code = read_ref(ref, self.base, self.root)
            return {**common, "module": True, "code": code, "fn": fn, "filename": os.path.normpath(path),
                    "modules": self._modules(Path(os.path.normpath(path)), code)}
        # promptfoo: one line is an expression, several lines a function body that returns (a YAML block's
        # trailing newline alone does not make one: `return x` or `const ...; return` on one line are bodies)
        body = "\n" in text.strip() or STATEMENT.match(text) is not None
        code = text if body else f"return {text}"
        return {**common, "module": False, "code": code, "fn": "", "filename": "javascript assertion"}

    def _modules(self, script: Path, code: str) -> dict[str, str]:
        """The files `script` requires by a quoted relative path, and theirs, read as the script was
        (inside the repository: a path out of it, a link out or git's data is an error), keyed by the path
        node resolves (`path.resolve(dir, spec) + extension`). A require no file answers is left for node
        to report when the code runs it."""
        found: dict[str, str] = {}
        todo = [(script.parent, code)]
        while todo:
            folder, text = todo.pop()
            for match in REQUIRE.finditer(text):
                base = os.path.normpath(folder / match.group(2))
                target = next((base + ext for ext in EXTENSIONS if Path(base + ext).is_file()), None)
                if target is None or target in found or target == str(script):
                    continue
                if len(found) == MAX_MODULES:
                    raise FatalError(f"{script}: requires more than {MAX_MODULES} files")
                _path, found[target] = read_ref(target, self.base, self.root)
                todo.append((Path(target).parent, found[target]))
        return found

    async def _ensure(self) -> asyncio.subprocess.Process:
        from agentbook.session import jail

        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        node = node_path()
        if node is None:
            raise JsUnavailable("no node under /usr on PATH (install nodejs)")
        why = jail.problem()
        outside = jail.inside() if why is not None else None
        if why is not None and outside is not None:
            raise JsUnavailable(f"{why}; nor is this already inside agentbook's sandbox ({outside})")
        # its own root, shown read-only too: the host's disk is not the code's to fill (its /tmp is capped)
        self._dir = tempfile.mkdtemp(prefix="agentbook-js-")
        script = Path(self._dir) / "evaluator.js"
        script.write_text(EVALUATOR.read_text(encoding="utf-8"), encoding="utf-8")
        argv = [node, f"--max-old-space-size={HEAP_MB}", str(script)]
        if why is None:
            try:
                self._call = jail.prepare(Path(self._dir), LIMITS, installs=False, read_only=[self._dir], argv=argv)
            except jail.JailUnavailable as err:
                raise JsUnavailable(str(err)) from None
            command, fds = self._call.argv, self._call.pass_fds
        else:  # inside the jail (a gate's or the agent's `eval run`): no nested one can be made, none is needed
            command, fds = ["/bin/bash", "-c", jail.ulimit_line(_within(LIMITS)) + '\nexec "$@"', "agentbook-js", *argv], ()
        err_fd = os.open(Path(self._dir) / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *command, pass_fds=fds, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=err_fd, cwd=self._dir, limit=LINE_LIMIT,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": self._dir})
        finally:
            os.close(err_fd)
        self.started += 1
        assert self._proc.stdout is not None
        try:
            ready = await asyncio.wait_for(self._proc.stdout.readline(), START_SECONDS)
        except TimeoutError:
            ready = b""
        if b'"ready"' not in ready:
            said = self._stderr_tail()
            await self._stop()
            raise JsUnavailable(f"node did not start in the sandbox{': ' + said if said else ''}")
        return self._proc

    def _stderr_tail(self) -> str:
        if self._dir is None:
            return ""
        try:
            data = (Path(self._dir) / "stderr").read_bytes()[-4000:]
        except OSError:
            return ""
        lines = [x for x in data.decode("utf-8", "replace").splitlines() if x.strip()]
        fatal = next((x for x in lines if "FATAL ERROR" in x or "out of memory" in x), None)
        return (fatal or (lines[-1] if lines else ""))[:300]

    async def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
        if self._call is not None:
            self._call.close()
            self._call = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def close(self) -> None:
        await self._stop()


def _within(limits: Limits) -> Limits:
    """`limits`, lowered to the hard limits this process already has: a limit cannot be raised again, and
    the jail this runs in may have set one lower (the shell would refuse the whole line)."""
    def hard(which: int, ours: int) -> int:
        got = resource.getrlimit(which)[1]
        return ours if got == resource.RLIM_INFINITY else min(ours, got)

    return dataclasses.replace(
        limits, processes=hard(resource.RLIMIT_NPROC, limits.processes),
        open_files=hard(resource.RLIMIT_NOFILE, limits.open_files),
        file_size=hard(resource.RLIMIT_FSIZE, limits.file_size), memory=hard(resource.RLIMIT_DATA, limits.memory),
        cpu=float(hard(resource.RLIMIT_CPU, int(limits.cpu))))


def _split_ref(text: str) -> tuple[str, str, str]:
    """`file://a/b.js:fn` -> ("file://a/b.js", ":", "fn"); the function name follows the last `.js:`."""
    head, sep, tail = text.rpartition(":")
    if sep and head.endswith((".js", ".cjs", ".mjs", ".ts")) and tail.isidentifier():
        return head, sep, tail
    return text, "", ""


def judge(kind: str, result: Any, threshold: Any) -> tuple[bool, float, str]:
    """(pass, score, reason) from what the code returned, as promptfoo reads it: a boolean, a number
    (a score that passes at `threshold`, or above 0 without one), or a GradingResult object. `not-`
    inverts the pass."""
    negate = kind.startswith("not-")
    if isinstance(result, bool):
        passed, score, reason = result, 1.0 if result else 0.0, f"returned {str(result).lower()}"
    elif isinstance(result, (int, float)):
        score = float(result)
        passed = score >= threshold if isinstance(threshold, (int, float)) else score > 0
        reason = f"returned {score:g}" + (f" (threshold {threshold:g})" if isinstance(threshold, (int, float)) else "")
    elif isinstance(result, dict) and result.get("__object"):
        if not isinstance(result.get("pass"), bool):
            raise FatalError("the function returned an object without a boolean `pass` "
                             "(return {pass, score, reason})")
        passed = result["pass"]
        raw_score = result.get("score")
        score = float(raw_score) if isinstance(raw_score, (int, float)) else (1.0 if passed else 0.0)
        reason = str(result.get("reason") or f"returned pass: {str(passed).lower()}")
    else:
        got = result.get("__type") if isinstance(result, dict) else type(result).__name__
        raise FatalError(f"the function must return a boolean, a number or {{pass, score, reason}}; it returned {got}")
    if negate:
        passed, reason = not passed, "not: " + reason
        score = 1.0 - score if 0.0 <= score <= 1.0 else score
    return passed, score, reason[:500]
