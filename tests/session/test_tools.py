"""File and search tools on real files: paging, exact errors, bounded output."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest

from agentbook.errors import FatalError
from agentbook.session.tools import ToolContext, ToolResult, get_tools, register_tool, search

from .conftest import run_async


def test_read_numbers_lines_and_pages(work: Path, ctx: ToolContext) -> None:
    (work / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 3001)))
    (read,) = get_tools(["read"])
    first = run_async(read, {"path": "long.txt"}, ctx).content.splitlines()
    assert first[0] == "     1\tline 1" and first[1999] == "  2000\tline 2000"
    assert first[-1] == "[lines 1-2000 of 3000; read with offset=2001 for more]"
    page = run_async(read, {"path": "long.txt", "offset": 2999, "limit": 5}, ctx).content
    assert page == "  2999\tline 2999\n  3000\tline 3000"
    assert run_async(read, {"path": "long.txt", "offset": 4000}, ctx).content == \
        "long.txt has 3000 lines; offset 4000 is past the end"


def test_read_bounds_size_and_refuses_binary_and_folders(work: Path, ctx: ToolContext) -> None:
    (work / "wide.txt").write_text(("x" * 3000 + "\n") * 100)
    (work / "blob.bin").write_bytes(b"\x00\x01" * 100)
    (read,) = get_tools(["read"])
    wide = run_async(read, {"path": "wide.txt"}, ctx).content
    assert len(wide) < 60_000 and "[line cut: 1000 more chars]" in wide
    assert wide.splitlines()[-1].startswith("[lines 1-") and "read with offset=" in wide
    assert run_async(read, {"path": "blob.bin"}, ctx).content == "blob.bin: binary file (200 bytes), not shown"
    folder = run_async(read, {"path": "src"}, ctx)
    assert folder.is_error and folder.content == "error: src is a directory; use glob to list it"
    missing = run_async(read, {"path": "nope.txt"}, ctx)
    assert missing.is_error and missing.content == "error: nope.txt does not exist"


def test_write_creates_folders_and_reports_change(work: Path, ctx: ToolContext) -> None:
    (write,) = get_tools(["write"])
    result = write.run({"path": "docs/deep/new.md", "content": "a\nb\n"}, ctx)
    assert result == ToolResult("created docs/deep/new.md (2 lines)", changed=["docs/deep/new.md"])
    assert write.run({"path": "docs/deep/new.md", "content": "c\n"}, ctx).content == "replaced docs/deep/new.md (1 lines)"
    assert (work / "docs" / "deep" / "new.md").read_text() == "c\n"
    assert write.run({"path": "x.txt"}, ctx).content == "error: content must be a string"


def test_edit_needs_a_unique_exact_match(work: Path, ctx: ToolContext) -> None:
    (edit,) = get_tools(["edit"])
    twice = edit.run({"path": "src/app.py", "old_string": "return 'hello'", "new_string": "return 'hi'"}, ctx)
    assert twice.is_error and twice.content == (
        "error: old_string occurs 2 times in src/app.py (lines 2, 6); include more context to make it unique, "
        "or set replace_all")
    none = edit.run({"path": "src/app.py", "old_string": "return 'bye'", "new_string": "x"}, ctx)
    assert none.is_error and none.content == "error: old_string not found in src/app.py"
    same = edit.run({"path": "src/app.py", "old_string": "a", "new_string": "a"}, ctx)
    assert same.content == "error: old_string and new_string are the same"
    ok = edit.run({"path": "src/app.py", "old_string": "def greet():\n    return 'hello'",
                   "new_string": "def greet():\n    return 'hi'"}, ctx)
    assert ok.content == "edited src/app.py: 1 replacement" and ok.changed == ["src/app.py"]
    every = edit.run({"path": "src/app.py", "old_string": "return", "new_string": "yield", "replace_all": True}, ctx)
    assert every.content == "edited src/app.py: 2 replacements"
    assert (work / "src" / "app.py").read_text() == "def greet():\n    yield 'hi'\n\n\ndef part():\n    yield 'hello'\n"


def test_protected_file_is_readable_but_not_writable(work: Path, ctx: ToolContext) -> None:
    read, write, edit = get_tools(["read", "write", "edit"])
    assert run_async(read, {"path": "evals/cases/c1.yaml"}, ctx).content == "     1\tvars: {q: hi}"
    refused = edit.run({"path": "evals/cases/c1.yaml", "old_string": "hi", "new_string": "yo"}, ctx)
    assert refused.content == ("error: evals/cases/c1.yaml is protected (rule 'evals/**/cases/*.yaml'): "
                               "you may read it but not change it")
    assert refused.denied == {"tool": "edit", "path": "evals/cases/c1.yaml", "rule": "evals/**/cases/*.yaml"}
    new_case = write.run({"path": "evals/x/cases/c2.yaml", "content": "vars: {}\n"}, ctx)
    assert new_case.denied is not None and not (work / "evals" / "x").exists()
    (work / "alias.yaml").symlink_to("evals/cases/c1.yaml")  # a link cannot launder a protected path
    assert write.run({"path": "alias.yaml", "content": "x"}, ctx).denied is not None
    assert (work / "evals" / "cases" / "c1.yaml").read_text() == "vars: {q: hi}\n"


def test_glob_lists_sorted_and_bounded(work: Path, ctx: ToolContext) -> None:
    for n in range(250):
        (work / "src" / f"m{n:03d}.py").write_text("")
    (glob,) = get_tools(["glob"])
    listed = run_async(glob, {"pattern": "**/*.py"}, ctx).content.splitlines()
    assert listed[0] == "src/app.py" and listed[1] == "src/m000.py" and len(listed) == 201
    assert listed[-1] == "[51 more files; narrow the pattern or pass a path]"
    assert run_async(glob, {"pattern": "*.md"}, ctx).content == "README.md"
    assert run_async(glob, {"pattern": "*.py", "path": "src"}, ctx).content.splitlines()[0] == "src/app.py"
    assert run_async(glob, {"pattern": "*.rs"}, ctx).content == "no files match '*.rs'"


def test_grep_is_bounded_and_pages(work: Path, ctx: ToolContext) -> None:
    (work / "many.txt").write_text("".join(f"needle {n}\n" for n in range(250)))
    (grep,) = get_tools(["grep"])
    out = run_async(grep, {"pattern": r"needle \d+"}, ctx).content.splitlines()
    assert out[0] == "many.txt:1:needle 0" and len(out) == 101
    assert out[-1] == "[150 more matches; grep again with offset=100, or narrow path/glob]"
    tail = run_async(grep, {"pattern": r"needle \d+", "offset": 200}, ctx).content.splitlines()
    assert tail[0] == "many.txt:201:needle 200" and len(tail) == 50
    files = run_async(grep, {"pattern": "hello", "files_only": True}, ctx).content
    assert files == "README.md\nsrc/app.py"
    assert run_async(grep, {"pattern": "HELLO", "ignore_case": True, "glob": "*.py"}, ctx).content == \
        "src/app.py:2:    return 'hello'\nsrc/app.py:6:    return 'hello'"
    bad = run_async(grep, {"pattern": "(unclosed"}, ctx)
    assert bad.is_error and bad.content.startswith("error: bad regular expression: missing ), unterminated subpattern")


def test_registry_adds_tools_and_names_unknown_ones() -> None:
    class Echo:
        def __init__(self) -> None:
            self.name, self.description, self.read_only = "echo", "Echo the text back", True
            self.input_schema = {"type": "object", "properties": {"text": {"type": "string"}}}

        def run(self, args: dict, ctx: ToolContext) -> ToolResult:
            return ToolResult(str(args.get("text")))

    register_tool("echo", Echo)
    (echo,) = get_tools(["echo"])
    assert echo.run({"text": "hi"}, ToolContext(root=Path("."))).content == "hi"
    try:
        get_tools(["read", "nope"])
    except FatalError as err:
        assert err.message == "unknown tool 'nope'" and "echo" in (err.hint or "")
    else:
        raise AssertionError("unknown tool accepted")


def test_read_refuses_huge_files(work: Path, ctx: ToolContext) -> None:
    with open(work / "huge.log", "wb") as fh:
        fh.truncate(25_000_000)  # sparse: no real disk used
    (read,) = get_tools(["read"])
    result = run_async(read, {"path": "huge.log"}, ctx)
    assert result.is_error and result.content == (
        "error: huge.log is 25000000 bytes, too big to read here; use grep, or bash with head/sed to look at "
        "part of it")


def test_tools_of_other_packages_load_by_name_in_a_fresh_interpreter() -> None:
    # `eval` and `skill` live in other packages; asking for them by name must import their providers.
    import subprocess
    import sys

    code = ("from agentbook.session.tools import get_tools, registered_tools;"
            "print([t.name for t in get_tools(['eval', 'skill', 'read'])]);"
            "print('eval' in registered_tools())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["['eval', 'skill', 'read']", "True"]


def test_only_short_calls_are_coroutines_on_the_event_loop() -> None:
    tools = get_tools(["read", "write", "edit", "glob", "grep", "bash"])
    on_loop = {t.name: inspect.iscoroutinefunction(t.run) for t in tools}
    # write and edit fsync, bash waits on a process: those go to a worker thread
    assert on_loop == {"read": True, "write": False, "edit": False, "glob": True, "grep": True, "bash": False}


def test_big_files_are_read_off_the_event_loop(work: Path, ctx: ToolContext) -> None:
    (work / "big.txt").write_text("".join(f"line {n}\n" for n in range(60_000)))  # over 256 KB
    (read,) = get_tools(["read"])
    big, others_ran = asyncio.run(while_others_wait(read.run({"path": "big.txt", "offset": 59_999, "limit": 2}, ctx)))
    assert big.content == " 59999\tline 59998\n 60000\tline 59999" and others_ran > 0  # the loop was free
    small, others_ran = asyncio.run(while_others_wait(read.run({"path": "README.md"}, ctx)))
    assert small.content == "     1\t# demo\n     2\thello world" and others_ran == 0  # read in one go


async def while_others_wait(call: Any) -> tuple[ToolResult, int]:
    """Await a tool call while another task counts how often the event loop let it run."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        await asyncio.sleep(0)  # started before the call, first counted once the call yields
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    result = await call
    done.set()
    await task
    assert isinstance(result, ToolResult)
    return result, ticks


def test_search_hands_the_event_loop_back_while_it_walks(work: Path, ctx: ToolContext,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(30):
        (work / "many" / f"f{n:02}.txt").parent.mkdir(exist_ok=True)
        (work / "many" / f"f{n:02}.txt").write_text(f"needle {n}\n")
    monkeypatch.setattr(search, "SLICE_SECONDS", -1.0)  # every file is a slice: yield after each
    (grep,) = get_tools(["grep"])
    result, others_ran = asyncio.run(while_others_wait(grep.run({"pattern": "needle", "path": "many"}, ctx)))
    assert len(result.content.splitlines()) == 30
    assert others_ran > 20  # another task ran between files
