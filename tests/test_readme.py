"""README.md's Tour, run the way a newcomer types it.

The Tour's convention (stated at its top): its ```sh blocks are pasted, in order, into one bash shell
that starts in a fresh clone where `make demo` has run; a ```text block right after a ```sh block shows
what that block prints (`...` stands for lines left out). Blocks with a `$ ` prompt (```console) need
what a fresh machine lacks (an API key, Claude Code from npm, a GitHub token) or run until stopped:
they are not part of the sequence and are not run here.

`test_tour_from_a_fresh_clone` does exactly that: `git clone` of this repository's HEAD into tmp_path,
every ```sh block of the `## Tour` section (subsections included, whoever wrote them) concatenated
verbatim into one `bash` script under `set -euo pipefail`, run once in the clone, with no API key and
a HOME of its own. Each block's output must contain its ```text block's lines in order (after volatile
parts such as run ids, commit ids, timings and /tmp paths are normalised), nothing may print a
traceback, and the effects the Tour describes must be real (branches with trailer commits, eval
results, a backtest report).

Not run here: `make test` (it runs this suite) and `make demo` (`test_make_demo_is_agentbook_demo`
checks what it runs; tests/runbooks/test_demo.py runs the demo once and compares it with the README's
block of its output).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT, git

README = REPO_ROOT / "README.md"
TOUR = "## Tour"
TOUR_SECONDS = 900  # a hang guard only: the Tour takes 1-3 minutes on the 2 shared cores, by their load
BLOCK_MARK = "@@readme-block {} $EPOCHREALTIME@@"  # bash's clock, so each block's time shows in the log
END_MARK = "@@readme-end {}@@"
FAIL_MARK = re.compile(r"@@readme-failed exit (\d+) at script line (\d+)@@")
VOLATILE = [
    (re.compile(r"\b\d{8}-\d{6}\d*-[\w-]*[0-9a-f]{4,}\b"), "<RUN>"),  # run ids (runner and eval)
    (re.compile(r"\bs-[0-9a-f]{12}\b"), "<SESSION>"),
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<SHA>"),
    (re.compile(r"\b\d+(\.\d+)?m?s\b"), "<SECONDS>"),
    (re.compile(r"/tmp/[^\s'\"]*"), "<TMP>"),
    (re.compile(re.escape(tempfile.gettempdir()) + r"/[^\s'\"]*"), "<TMP>"),  # where $TMPDIR is not /tmp
    (re.compile(r"\$\d+\.\d+"), "<USD>"),
    # a runbook's rendered prompt size follows the runner's prompt layout, not the README's claims
    (re.compile(r"\b(prompt|budget) \d+ tokens\b|\b\d+ tokens \(budget"), "<PROMPT-TOKENS>"),
]


@dataclass
class Fence:
    lang: str
    line: int  # README line of the opening ```
    body: list[str]


@dataclass
class TourBlock:
    line: int  # README line of the opening ```sh
    body: list[str]
    expected: list[str] | None = None  # the ```text block right after it, if any
    output: str = field(default="", repr=False)
    seconds: float | None = None  # wall time in the tour run

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def fences(text: str) -> tuple[list[Fence], set[int]]:
    """Every fenced block, and the (0-based) line numbers inside fences, fences included."""
    lines, found, inside = text.split("\n"), [], set()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(`{3,})(\S*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        ticks = opening.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == ticks), len(lines))
        found.append(Fence(opening.group(2), i + 1, lines[i + 1:end]))
        inside.update(range(i, end + 1))
        i = end + 1
    return found, inside


def tour_blocks(text: str) -> list[TourBlock]:
    """The ```sh blocks of the `## Tour` section in order, each with the ```text block that follows it."""
    lines = text.split("\n")
    all_fences, inside = fences(text)
    headings = [n for n, line in enumerate(lines) if n not in inside and line.startswith("## ")]
    start = next((n for n in headings if lines[n].strip() == TOUR), None)
    if start is None:
        return []
    end = next((n for n in headings if n > start), len(lines))
    in_tour = [f for f in all_fences if start < f.line - 1 < end]
    blocks: list[TourBlock] = []
    for k, fence in enumerate(in_tour):
        if fence.lang != "sh":
            continue
        block = TourBlock(fence.line, fence.body)
        after = in_tour[k + 1] if k + 1 < len(in_tour) else None
        closing = fence.line + len(fence.body) + 1  # 1-based line of the closing ```
        if after and after.lang == "text" and all(not lines[n].strip() for n in range(closing, after.line - 1)):
            block.expected = after.body
        blocks.append(block)
    return blocks


def tour_convention_problems(text: str) -> list[str]:
    """What breaks the Tour's convention: a shell block the sequence would skip without saying so,
    a `$ ` prompt in a block meant to be pasted, hidden set-up, an unmarked block that is not run."""
    lines = text.split("\n")
    all_fences, inside = fences(text)
    headings = [n for n, line in enumerate(lines) if n not in inside and line.startswith("## ")]
    start = next((n for n in headings if lines[n].strip() == TOUR), None)
    if start is None:
        return [f"README.md has no '{TOUR}' section"]
    end = next((n for n in headings if n > start), len(lines))
    problems = [f"README.md:{n + 1}: an HTML comment in the Tour (set-up must be a visible ```sh block)"
                for n in range(start, end) if n not in inside and "<!--" in lines[n]]
    for fence in (f for f in all_fences if start < f.line - 1 < end):
        where = f"README.md:{fence.line}"
        if fence.lang in ("bash", "shell", "zsh", ""):
            problems.append(f"{where}: ```{fence.lang} block in the Tour: use ```sh (pasted, run by this test) "
                            "or ```console with `$ ` prompts (not part of the sequence)")
        if fence.lang == "sh" and any(line.startswith("$ ") for line in fence.body):
            problems.append(f"{where}: a `$ ` prompt in a ```sh block (it would not paste)")
        if fence.lang == "console":
            before = " ".join(lines[max(start, fence.line - 8):fence.line - 1]).lower()
            if "not part of the sequence" not in before:
                problems.append(f"{where}: a ```console block (not run) without 'Not part of the sequence' "
                                "and the reason in the paragraph before it")
    return problems


def demo_output(text: str) -> list[str]:
    """The README's excerpt of what `make demo` prints (tests/runbooks/test_demo.py compares it)."""
    found, _ = fences(text)
    return next(f.body for f in found if f.lang == "text" and f.body and f.body[0].startswith("agentbook demo:"))


def tour_script(blocks: list[TourBlock]) -> tuple[str, dict[int, int]]:
    """One bash script: the blocks verbatim, a marker line before each; script line -> README line."""
    script = ["set -euo pipefail",
              "trap 'echo \"@@readme-failed exit $? at script line $LINENO@@\"' ERR"]
    where: dict[int, int] = {}
    for k, block in enumerate(blocks):
        # on a line of its own even after output that does not end in a newline
        script.append(f'printf "\\n%s\\n" "{BLOCK_MARK.format(k)}"')
        for n, line in enumerate(block.body):
            script.append(line)
            where[len(script)] = block.line + 1 + n
    script.append(f'printf "\\n%s\\n" "{END_MARK.format("$EPOCHREALTIME")}"')
    return "\n".join(script) + "\n", where


@dataclass
class TourRun:
    code: int
    log: str
    problems: list[str]


def run_tour(blocks: list[TourBlock], cwd: Path, env: dict[str, str], script_path: Path) -> TourRun:
    """Run the blocks in one bash process in `cwd`; problems name the README line that caused them."""
    script, where = tour_script(blocks)
    script_path.write_text(script)
    log_path = script_path.with_suffix(".log")
    proc = subprocess.Popen(["bash", "--noprofile", "--norc", str(script_path)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=TOUR_SECONDS)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the shell and whatever it started
        log, _ = proc.communicate()
        code, log = -1, log + f"\n(the tour was still running after {TOUR_SECONDS}s)"
    log_path.write_text(log)  # the whole transcript, beside the script, for whoever debugs a failure
    _split_outputs(blocks, log)
    problems: list[str] = []
    failed = FAIL_MARK.search(log)
    ended = "@@readme-end " in log
    if code != 0 or not ended:
        line = where.get(int(failed.group(2))) if failed else None
        at = f"README.md:{line}" if line else "the tour"
        ran = next((b for b in reversed(blocks) if b.output), None)
        tail = (ran.output if ran else log)[-3000:]
        problems.insert(0, f"{at}: the shell stopped (exit {failed.group(1) if failed else code}):\n{tail}")
    for block in blocks:
        if "Traceback (most recent call last)" in block.output:
            problems.append(f"{block.where}: a command printed a traceback:\n{block.output[-3000:]}")
        if block.expected is not None and (block.output or ended):
            missing = missing_lines(block.expected, block.output)
            if missing:
                problems.append(f"{block.where}: output lacks {missing[:5]}\n--- real output ---\n"
                                f"{block.output[-4000:]}")
    return TourRun(code, log, problems)


def _split_outputs(blocks: list[TourBlock], log: str) -> None:
    """Each block's output and wall time (bash before 5.0 has no $EPOCHREALTIME: no times then)."""
    parts = re.split(r"\n@@readme-block (\d+) ([\d.,]*)@@\n", log.split("\n@@readme-end ")[0])
    end = re.search(r"@@readme-end ([\d.,]*)@@", log)
    clock = [*parts[2::3], end.group(1) if end else ""]
    for n, (k, out) in enumerate(zip(parts[1::3], parts[3::3], strict=True)):
        blocks[int(k)].output = FAIL_MARK.sub("", out).strip("\n")
        if clock[n] and clock[n + 1]:
            blocks[int(k)].seconds = float(clock[n + 1].replace(",", ".")) - float(clock[n].replace(",", "."))


def normalise(text: str) -> str:
    for pattern, token in VOLATILE:
        text = pattern.sub(token, text)
    return text.rstrip()


def missing_lines(expected: list[str], output: str) -> list[str]:
    """Expected lines not found, in order, in the output (`...` skips any lines)."""
    actual = [normalise(line) for line in output.split("\n")]
    pos, missing = 0, []
    for want in (normalise(line) for line in expected):
        if want == "..." or not want:
            continue
        hit = next((k for k in range(pos, len(actual)) if actual[k] == want), None)
        if hit is None:
            missing.append(want)
        else:
            pos = hit + 1
    return missing


def newcomer_env(home: Path) -> dict[str, str]:
    """A fresh machine's environment: no API keys or tokens, no agentbook settings, no venv on PATH."""
    drop = ("ANTHROPIC_", "GITHUB_TOKEN", "AGENTBOOK_", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME",
            "VIRTUAL_ENV", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["HOME"] = str(home)
    return env


README_TEXT = README.read_text(encoding="utf-8")
BLOCKS = tour_blocks(README_TEXT)


# -- the Tour, from a fresh clone ------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(TOUR_SECONDS + 60)
def test_tour_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "agentbook"
    # HEAD of this checkout, whatever is uncommitted or untracked in it (a worktree clones fine this way):
    # the README, the example and the scripted agents are what a fresh clone has
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(REPO_ROOT), str(clone)], check=True)
    git(clone, "fetch", "-q", str(REPO_ROOT), "HEAD")
    git(clone, "checkout", "-q", "-B", "main", "FETCH_HEAD")
    # `make demo` (the README's first command, before the Tour) builds .venv/ with agentbook installed.
    # Building it again here would mean a pip install from PyPI per run, so the clone gets the venv
    # running this test in its place (agentbook's code is then this checkout's, as installed by make);
    # the Tour's own commands, its `export PATH="$PWD/.venv/bin:$PATH"` included, run exactly as typed,
    # and the venv is not on the PATH they start with.
    venv = Path(sys.prefix)
    assert (venv / "bin" / "agentbook").is_file(), f"run the tests from the project's venv ({venv})"
    (clone / ".venv").symlink_to(venv, target_is_directory=True)
    (tmp_path / "home").mkdir()

    blocks = tour_blocks((clone / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 10 and sum(b.expected is not None for b in blocks) >= 8
    result = run_tour(blocks, clone, newcomer_env(tmp_path / "home"), tmp_path / "tour.sh")
    for block in sorted(blocks, key=lambda b: -(b.seconds or 0))[:5]:  # shown by pytest on a failure
        print(f"{block.where}: {block.seconds or 0:.1f}s")
    assert not result.problems, "\n\n".join(result.problems)
    assert result.code == 0

    # what the Tour says happened, happened: in the example repository it made beside the clone
    example = tmp_path / "incident-assistant"
    assert git(example, "log", "--format=%s", "main") == "incident-assistant: prompts, eval suites, traces\n"
    add_eval = git(example, "log", "--format=%s|%(trailers:key=Agentbook-Run,valueonly,separator=%x2C)",
                   "main..agentbook/add-eval/inc-150").splitlines()
    assert len(add_eval) == 1 and re.fullmatch(r"add-eval: .+\|\d{8}-\d{6}-add-eval-[0-9a-f]+", add_eval[0]), add_eval
    fix = git(example, "log", "--format=%s", "main..agentbook/fix-prompt/inc-142").splitlines()
    assert fix == ["fix-prompt: Change the prompt", "fix-prompt: Add a case that reproduces the behaviour"]
    assert '(?i)' in git(example, "show", "agentbook/fix-prompt/inc-142:prompts/logql.md")
    assert "errors-checkout-case-insensitive" not in git(example, "ls-tree", "-r", "--name-only", "main")
    baseline = json.loads((example / "evals/.agentbook/baselines/root-cause.yaml.json").read_text())
    assert (baseline["passed"], baseline["total"]) == (38, 40)
    assert sorted(k for k, v in baseline["verdicts"].items() if v != "pass") == ["rc-007-disk", "rc-023-disk"]
    assert (example / "bt" / "report.md").is_file()
    loop = json.loads((example / ".agentbook" / "loop" / "loop.json").read_text())  # both prompt fixes, checked
    assert loop["ready"] == 2 and all(f["check"]["after"] < f["check"]["before"] for f in loop["fixes"]), loop
    assert git(example, "status", "--porcelain", "--untracked-files=no") == ""  # the tour restored what it edited


# -- the harness itself: it must fail when a block is broken ---------------------------------------

SAMPLE = """# x

## Install

```sh
echo not-in-the-tour
```

## Tour

Paste these.

```sh
mkdir -p sub
cd sub
echo "in $(basename "$PWD")"
```

```text
in sub
```

```console
$ needs-an-api-key
```

### More

````sh
cat > notes.md <<'EOF'
## not a heading: inside a fence
EOF
echo second
````

```sh
BROKEN
echo never
```

## Exit codes
```sh
echo after-the-tour
```
"""


def test_extractor_takes_only_the_tours_sh_blocks_with_their_output() -> None:
    blocks = tour_blocks(SAMPLE)
    assert [b.body[-1] for b in blocks] == ['echo "in $(basename "$PWD")"', "echo second", "echo never"]
    assert [b.line for b in blocks] == [13, 29, 36]
    assert blocks[0].expected == ["in sub"] and blocks[1].expected is None
    script, where = tour_script(blocks)
    assert script.startswith("set -euo pipefail\n") and "needs-an-api-key" not in script
    assert where[script.split("\n").index("BROKEN") + 1] == 37


def test_the_tour_keeps_its_convention() -> None:
    assert tour_convention_problems(README_TEXT) == []
    bad = SAMPLE.replace("```console\n", "<!-- doctest: setup -->\n```console\n").replace(
        "```sh\nBROKEN", "```bash\nBROKEN").replace("mkdir -p sub", "$ mkdir -p sub")
    found = tour_convention_problems(bad)
    assert len(found) == 4, found
    for problem, start in zip(found, ["README.md:23: an HTML comment in the Tour", "README.md:13: a `$ ` prompt",
                                      "README.md:24: a ```console block (not run) without",
                                      "README.md:37: ```bash block in the Tour"], strict=True):
        assert problem.startswith(start), problem


def test_a_broken_block_fails_the_tour_at_its_line(tmp_path: Path) -> None:
    env = newcomer_env(tmp_path)
    result = run_tour(tour_blocks(SAMPLE), tmp_path, env, tmp_path / "tour.sh")
    assert result.code == 127
    assert result.problems and result.problems[0].startswith("README.md:37: the shell stopped (exit 127)")
    assert "never" not in result.log
    assert (tmp_path / "sub" / "notes.md").is_file()  # one shell: the `cd` of the first block held


def test_wrong_output_fails_the_tour(tmp_path: Path) -> None:
    sample = SAMPLE.replace("```text\nin sub", "```text\nin somewhere-else").replace("BROKEN\n", "")
    blocks = tour_blocks(sample)
    result = run_tour(blocks, tmp_path, newcomer_env(tmp_path), tmp_path / "tour.sh")
    assert result.code == 0
    assert [b.output for b in blocks] == ["in sub", "second", "never"]
    assert all(b.seconds is not None and b.seconds >= 0 for b in blocks)
    assert len(result.problems) == 1 and result.problems[0].startswith("README.md:13: output lacks ['in somewhere-else']")


def test_normalise_and_matching_catch_drift() -> None:
    out = "run 20261126-102718-fix-prompt-95adb3: completed\nbranch x: 2 commits\nreport /tmp/a/b.md\ntook 54.8s"
    assert missing_lines(["run 20261126-000000-fix-prompt-000000: completed", "...", "took 1.0s"], out) == []
    assert missing_lines(["branch x: 3 commits"], out) == ["branch x: 3 commits"]
    assert missing_lines(["took 1.0s", "branch x: 2 commits"], out) == ["branch x: 2 commits"]  # order matters


# -- the two commands ------------------------------------------------------------------------------

def test_readme_has_the_two_commands_and_a_tour() -> None:
    found, _ = fences(README_TEXT)
    two = next(f for f in found if f.lang == "sh" and any(line.startswith("make demo") for line in f.body))
    assert [line.split("#")[0].strip() for line in two.body] == ["make demo", "make test"]
    assert demo_output(README_TEXT)
    assert BLOCKS and BLOCKS[0].body[0].startswith('export PATH="$PWD/.venv/bin:$PATH"')


def test_make_demo_is_agentbook_demo() -> None:
    # Under CI this runs inside `make test`: drop the parent make's flags so the child prints only commands.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    out = subprocess.run(["make", "--no-print-directory", "-n", "demo"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == ".venv/bin/agentbook demo"
