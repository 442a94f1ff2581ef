"""Benchmark: the streaming secret scan of one big pending file, against reading it and `grep -c`.

One file of mixed text (code-like lines, some base64, some binary) is written, then scanned the way
the runner scans a step's pending files (`gitops.leaks.scan_pending`: four held secrets in every form,
the key shapes, windows of 1 MiB with overlap). Beside it, in the same run and on the same file: the
floor of reading it (`cat FILE > /dev/null`), `grep -c` for one held value (one fixed string, the peer a
shell script would use), and the previous scan (the file read whole, then `SecretScanner.scan`). Prints
MB/s, CPU seconds (this process and its children; on a shared machine wall time measures the
neighbours), the scan's ratio to each, and each scan's peak memory (tracemalloc, Python allocations).

Then the redactor every record and printed line goes through (`agentbook.redaction.Redactor`: every
form, escapes unescaped, key shapes), on text like a transcript's (code, base64, JSON-escaped lines,
URLs with percent-escapes, `printf` formats), as text and as JSON text, and the scan on the same text,
each against the literal-only pass measured in the same run (one regex of the held values as written,
`str.find` of each for the scan).

    .venv/bin/python bench/bench_secret_stream.py            # a 256 MiB file, best of 3
    .venv/bin/python bench/bench_secret_stream.py --quick    # 32 MiB, once
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runner"))

from agentbook.gitops import leaks
from agentbook.gitops.git import Git
from agentbook.redaction import Redactor
from agentbook.secretscan import Secret, SecretScanner

HELD = [Secret("ANTHROPIC_API_KEY", "sk-ant-api03-" + "Q7vLr2mXw9KpT4sJd8HfZ1cN6bYe3gUo5aRiVtWq0xMnPl"),
        Secret("GITHUB_TOKEN", "ghp_R8sT2uV4wX6yZ0aB1cD3eF5gH7iJ9kL1mN3o"),
        Secret("AGENTBOOK_COMPAT_API_KEY", "compat-key-6b1f0e9d8c7a6b5e4d3c2b1a0f9e8d7c"),
        Secret("DEPLOY_PASSPHRASE", "hunter2-but-much-longer-9Fq3Zp")]
MIB = 1 << 20


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def make_file(path: Path, size: int) -> None:
    block = b"".join([
        b"def handler(event, context):\n    return {'status': 200, 'body': event.get('q', '')}\n",
        b"# " + os.urandom(48).hex().encode() + b"\n",
        b"data: " + base64.b64encode(os.urandom(96)) + b"\n",
        bytes(range(256)) + b"\n",
    ])
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            fh.write(block * 256)
            written += len(block) * 256
        fh.write(HELD[2].value.encode() + b"\n")  # one hit at the very end: the whole file is read


def transcript_like(size: int, *, escaped: bool) -> str:
    """Text like a session's records: code, base64, prose, digests; `escaped`: every line but one of five
    with escapes (URLs' %XX, JSON's \\u, \\x, printf formats), else one line in forty."""
    rng = random.Random(5)
    plain = ["def handler(event, context):\\n    return {'status': 200, 'body': event.get('q', '')}",
             "The test failed because the fixture was not reset between runs; see the log below.",
             '{"role": "tool", "content": "ok: 3 passed\\n", "is_error": false}']
    escapes = ["GET /search?q=caf%C3%A9%20cr%C3%A8me&page=2&sort=%2Bdate HTTP/1.1",
               '{"text": "na\\u00efve fa\\u00e7ade \\u2014 done", "path": "C:\\\\x64\\\\bin"}',
               'printf("%02x %5d %s%%\\n", a, b, c);']
    lines: list[str] = []
    total = 0
    while total < size:
        group = ["data: " + base64.b64encode(rng.randbytes(96)).decode(), "sha=" + rng.randbytes(32).hex()]
        group += escapes + plain[:1] if escaped else plain * 12 + [escapes[len(lines) % 3]]
        lines += group
        total += sum(len(line) + 1 for line in group)
    return "\n".join(lines)[:size]


def redaction_rows(size: int, rounds: int) -> None:
    print(f"redaction and scan of {size / MIB:.0f} MiB of transcript-like text, CPU seconds, best of {rounds}:")
    print(f"  {'':38s} {'literal only':>14s} {'every form':>14s}  ratio")
    for kind, escaped in (("ordinary", False), ("escape-heavy", True)):
        for name, base, now in redaction_pairs(transcript_like(size, escaped=escaped), rounds):
            print(f"  {kind + ', ' + name:38s} {size / MIB / max(base, 1e-9):9.0f} MB/s "
                  f"{size / MIB / max(now, 1e-9):9.1f} MB/s {now / max(base, 1e-9):6.1f}x")


def redaction_pairs(text: str, rounds: int) -> list[tuple[str, float, float]]:
    """(what, literal-only CPU seconds, every-form CPU seconds) for the redactor and the scan on `text`."""
    values = [s.value for s in HELD]
    redactor = Redactor(values, from_env=False)
    literal = re.compile("|".join(re.escape(v) for v in values))
    scanner = SecretScanner(HELD)
    as_json = json.dumps(text)
    assert redactor.text(text) == text and not scanner.scan(text, "t")  # no false positive on ordinary data
    pairs = (("redact text", lambda: literal.sub("[REDACTED]", text), lambda: redactor.text(text)),
             ("redact JSON text", lambda: literal.sub("[REDACTED]", as_json), lambda: redactor.json_text(as_json)),
             ("scan (commit, push)", lambda: [text.find(v) for v in values], lambda: scanner.scan(text, "t")))
    return [(name, timed(plain, rounds)[0], timed(full, rounds)[0]) for name, plain, full in pairs]


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(rounds):
        start = cpu()
        result = fn()
        best = min(best, cpu() - start)
    return best, result


def peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mib", type=int, default=None)
    parser.add_argument("--redact-mib", type=int, default=None, help="text for the redactor (default 16, quick 4)")
    args = parser.parse_args()
    redaction_rows((args.redact_mib or (4 if args.quick else 16)) * MIB, 1 if args.quick else 3)
    size = (args.mib or (32 if args.quick else 256)) * MIB
    rounds = 1 if args.quick else 3
    scanner = SecretScanner(HELD)
    with tempfile.TemporaryDirectory(prefix="agentbook-bench-scan-") as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        path = repo / "big.dat"
        make_file(path, size)
        git = Git(repo)
        real = path.stat().st_size

        def stream() -> object:
            return leaks.scan_pending(git, repo, scanner)

        def whole() -> object:
            return scanner.scan(path.read_bytes().decode("latin-1"), "big.dat")

        def read() -> object:
            return subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)

        def grep() -> object:
            return subprocess.run(["grep", "-c", "-F", "-a", HELD[2].value, str(path)], capture_output=True,
                                  check=False)

        rows = []
        for name, fn in (("cat > /dev/null (floor)", read), ("grep -c -F (peer: one string)", grep),
                         ("scan, file read whole (before)", whole), ("scan, streamed (now)", stream)):
            seconds, result = timed(fn, rounds)
            rows.append((name, seconds))
            if fn is stream:
                assert [h.secret for h in result] == ["AGENTBOOK_COMPAT_API_KEY"], result  # type: ignore[attr-defined]
        print(f"one file of {real / MIB:.0f} MiB, {len(HELD)} held secrets in every form + key shapes; "
              f"CPU seconds, best of {rounds}")
        for name, seconds in rows:
            print(f"  {name:34s} {seconds:7.3f} s  {real / MIB / max(seconds, 1e-9):8.0f} MB/s")
        now = dict(rows)["scan, streamed (now)"]
        print(f"  streamed scan / reading the file: {now / max(dict(rows)['cat > /dev/null (floor)'], 1e-9):6.1f}x")
        print(f"  streamed scan / grep -c:          {now / max(dict(rows)['grep -c -F (peer: one string)'], 1e-9):6.1f}x")
        print(f"  streamed scan / whole-file scan:  {now / max(dict(rows)['scan, file read whole (before)'], 1e-9):6.2f}x")
        print(f"  ms per MiB (streamed):            {1000 * now / (real / MIB):6.1f}")
        print(f"  peak memory: streamed {peak(stream) / MIB:.0f} MiB, read whole {peak(whole) / MIB:.0f} MiB "
              f"(window {leaks.WINDOW // MIB} MiB)")


if __name__ == "__main__":
    main()
