"""The README cannot drift: every command in it is run here.

Commands are the `$ ` lines of its ```console blocks (a trailing `\\` continues a line) and the lines
of its ```sh blocks. They run one after another in one workspace where every path the README uses
resolves: a fresh git repository holding agentbook's tracked files with the example system
(`examples/incident-assistant`, its big suite generated) laid over its root, so both
`examples/sessions/...` and `tickets/INC-142-...` exist. agentbook's CLI is first on PATH, no API key
is set.

Every command must exit 0 or 1 (1 = "ran and found something", e.g. validation findings) and print
no traceback. A block preceded by `<!-- doctest: output -->` must also print what the README shows:
its lines appear in the real output in order, after volatile parts (run ids, commit ids, timings,
temporary paths) are normalised; a `...` line skips any number of lines. `<!-- doctest: exit=N -->`
expects exit N; `setup="CMD"` runs CMD in the workspace first and `cwd=DIR` runs the block's commands
in that folder of it, for examples that need files of their own.

Three commands are not run here, on purpose: `make test` (it runs this test suite), `make demo`
(checked to be `agentbook demo`) and `agentbook demo` itself, which tests/runbooks/test_demo.py runs
once and compares with the README's block.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT, git

README = REPO_ROOT / "README.md"
EXAMPLE = REPO_ROOT / "examples" / "incident-assistant"
MARKER = re.compile(r"<!--\s*doctest:\s*(?P<opts>[^>]*?)\s*-->\s*$")
NOT_RUN = {"make test": "it runs this very test suite",
           "agentbook demo": "tests/runbooks/test_demo.py runs it once and compares its output with this block"}
SERVER_SECONDS = 8  # `... serve` commands run until stopped: check their first output, then stop them
COMMAND_SECONDS = 240
VOLATILE = [
    (re.compile(r"\b\d{8}-\d{6}\d*-[\w-]*[0-9a-f]{4,}\b"), "<RUN>"),  # run ids (runner and eval)
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<SHA>"),
    (re.compile(r"\b\d+(\.\d+)?s\b"), "<SECONDS>"),
    (re.compile(r"/tmp/[^\s'\"]*"), "<TMP>"),
    (re.compile(r"\$\d+\.\d+"), "<USD>"),
    # a runbook's rendered prompt size follows the runner's prompt layout, not the README's claims
    (re.compile(r"\b(prompt|budget) \d+ tokens\b|\b\d+ tokens \(budget"), "<PROMPT-TOKENS>"),
]


@dataclass
class Command:
    text: str
    line: int  # README line of the `$ ` prompt
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int
    lang: str
    commands: list[Command]
    check_output: bool = False
    exit_code: int | None = None
    setup: str | None = None
    cwd: str = "."

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def parse_readme(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(console|sh)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        opts = _marker(lines, i)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        body = lines[i + 1:end]
        commands = _console(body, i + 2) if fence.group(1) == "console" else _sh(body, i + 2)
        blocks.append(Block(i + 1, fence.group(1), commands, "output" in opts,
                            int(opts["exit"]) if "exit" in opts else None, opts.get("setup"), opts.get("cwd", ".")))
        i = end + 1
    return blocks


def _marker(lines: list[str], fence_index: int) -> dict[str, str]:
    prev = next((lines[j] for j in range(fence_index - 1, -1, -1) if lines[j].strip()), "")
    found = MARKER.search(prev)
    if not found:
        return {}
    return dict(part.partition("=")[::2] for part in shlex.split(found.group("opts")))


def _console(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    current: Command | None = None
    continued = False
    for n, line in enumerate(body):
        if continued and current is not None:
            current.text += "\n" + line
            continued = line.endswith("\\")
        elif line.startswith("$ "):
            current = Command(line[2:], first_line + n)
            commands.append(current)
            continued = line.endswith("\\")
        elif current is not None:
            current.expected.append(line)
    return commands


def _sh(body: list[str], first_line: int) -> list[Command]:
    return [Command(line.split("#")[0].strip(), first_line + n) for n, line in enumerate(body)
            if line.strip() and not line.lstrip().startswith("#")]


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


# -- the workspace ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("readme") / "agentbook"
    for rel in git(REPO_ROOT, "ls-files").splitlines():
        src = REPO_ROOT / rel
        if src.is_file():
            (ws / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, ws / rel)
    shutil.copytree(EXAMPLE, ws, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".agentbook", "__pycache__", ".gitignore"))
    subprocess.run([sys.executable, "scripts/generate.py", "--big", "--root", str(ws)], cwd=EXAMPLE, check=True,
                   capture_output=True)
    git(ws, "init", "-q", "-b", "main")
    (ws / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (ws / ".git" / "info" / "exclude").write_text(".readme/\n")  # where `setup=` blocks make their files
    for key, value in (("user.name", "README reader"), ("user.email", "reader@example.com"),
                       ("commit.gpgsign", "false")):
        git(ws, "config", key, value)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "agentbook checkout with the example system laid over it")
    return ws


def _env(ws: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "GITHUB_TOKEN"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(ws.parent / "home")
    claude = claude_code()
    if claude:
        env["AGENTBOOK_CLAUDE"] = claude
    return env


def claude_code() -> str | None:
    """The Claude Code that tests/agent installs from npm (pinned, in the user's cache), or one on PATH."""
    if os.environ.get("AGENTBOOK_CLAUDE"):
        return os.environ["AGENTBOOK_CLAUDE"]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentbook-test"
    found = sorted(cache.glob("claude-code-*/node_modules/.bin/claude"))
    return str(found[-1]) if found else shutil.which("claude")


def run(command: Command, ws: Path, cwd: str = ".") -> tuple[int, str]:
    server = " serve " in f" {command.text} "
    proc = subprocess.Popen(["bash", "-c", command.text], cwd=ws / cwd, env=_env(ws), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=SERVER_SECONDS if server else COMMAND_SECONDS)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 15)
        out, _ = proc.communicate()
        if server:
            return 0, out  # still serving after its first lines: that is a server working
        raise AssertionError(f"README.md:{command.line}: `{command.text}` still running after {COMMAND_SECONDS}s")


BLOCKS = parse_readme(README.read_text(encoding="utf-8"))


def test_readme_has_commands_to_run() -> None:
    commands = [c.text for b in BLOCKS for c in b.commands]
    assert "make demo" in commands and "make test" in commands
    assert any(c.startswith("agentbook demo") for c in commands)
    assert sum(b.check_output for b in BLOCKS) >= 3


def test_make_demo_is_agentbook_demo() -> None:
    # Under CI this runs inside `make test`: drop the parent make's flags so the child prints only commands.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    out = subprocess.run(["make", "--no-print-directory", "-n", "demo"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == ".venv/bin/agentbook demo"


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "console"], ids=lambda b: b.id)
def test_readme_block(block: Block, workspace: Path) -> None:
    if block.setup:
        code, out = run(Command(block.setup, block.line), workspace)
        assert code == 0, f"{block.id}: setup `{block.setup}` failed:\n{out[-2000:]}"
    for command in block.commands:
        if command.text in NOT_RUN:
            continue
        if "--agent claude-code" in command.text and claude_code() is None:
            pytest.skip(f"README.md:{command.line} needs Claude Code (tests/agent installs it from npm)")
        code, out = run(command, workspace, block.cwd)
        where = f"README.md:{command.line}: `{command.text}`"
        assert "Traceback (most recent call last)" not in out, f"{where} crashed:\n{out[-3000:]}"
        if block.exit_code is not None:
            assert code == block.exit_code, f"{where} exited {code}, README says {block.exit_code}:\n{out[-3000:]}"
        else:
            assert code in (0, 1), f"{where} exited {code}:\n{out[-3000:]}"
        if block.check_output:
            missing = missing_lines(command.expected, out)
            assert not missing, f"{where}: output lacks {missing[:5]}\n--- real output ---\n{out[-4000:]}"


def test_sh_blocks_run(workspace: Path) -> None:
    for block in (b for b in BLOCKS if b.lang == "sh"):
        for command in block.commands:
            if command.text in NOT_RUN or command.text == "make demo":
                continue
            code, out = run(command, workspace)
            assert code in (0, 1), f"README.md:{command.line}: `{command.text}` exited {code}:\n{out[-3000:]}"


def test_normalise_and_matching_catch_drift() -> None:
    out = "run 20261126-102718-fix-prompt-95adb3: completed\nbranch x: 2 commits\nreport /tmp/a/b.md\ntook 54.8s"
    assert missing_lines(["run 20261126-000000-fix-prompt-000000: completed", "...", "took 1.0s"], out) == []
    assert missing_lines(["branch x: 3 commits"], out) == ["branch x: 3 commits"]
    assert missing_lines(["took 1.0s", "branch x: 2 commits"], out) == ["branch x: 2 commits"]  # order matters
