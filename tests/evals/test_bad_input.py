"""Bad input, table-driven: a clear message, the right exit code, and the suite on disk untouched.

Plus the two failures a file store must survive: two processes editing one file at once, and a disk
that fills up during the write.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.evals.store import open_suite
from agentbook.evals.synth import synthetic_suite

SUITE = """prompts: [file://p.txt]
tests:
  - id: a
    vars: {q: 1}
    assert:
      - type: contains
        value: x
  - id: b
    vars: {q: 2}
"""
DUPLICATE = SUITE + "  - id: a\n    vars: {q: 3}\n"


def _error(path: Path, text: str) -> str:
    return "agentbook: error: " + text.replace("{path}", str(path))


CASES: list[tuple[str, str, list[str], int, str]] = [
    # (name, suite text, args after the suite, exit code, exact first line of stderr)
    ("unknown id", SUITE, ["show", "nope"], 3,
     "{path}: unknown case id 'nope' (list the ids with `agentbook eval list SUITE`)"),
    ("unknown id, near miss", SUITE, ["rm", "aa"], 3, "{path}: unknown case id 'aa' (did you mean a?)"),
    ("duplicate id on show", DUPLICATE, ["show", "a"], 3,
     "{path}: duplicate id 'a' (lines 3, 10) (give each case a unique id, then retry)"),
    ("duplicate id on edit", DUPLICATE, ["edit", "a", "--set", "vars.q=9"], 3,
     "{path}: duplicate id 'a' (lines 3, 10) (give each case a unique id, then retry)"),
    ("set path that does not exist", SUITE, ["edit", "a", "--set", "varz.q=1"], 3,
     ("path 'varz' does not exist in case 'a': no field 'varz' here (fields: id, vars, assert) "
      "(see the fields with `agentbook eval show SUITE ID`)")),
    ("set index out of range", SUITE, ["edit", "a", "--set", "assert[5].value=y"], 3,
     ("path 'assert[5]' does not exist in case 'a': the list has 1 items; index with [0]..[0] "
      "(see the fields with `agentbook eval show SUITE ID`)")),
    ("set into a scalar", SUITE, ["edit", "b", "--set", "vars.q.deep=1"], 3,
     ("path 'vars.q.deep' does not exist in case 'b': vars.q is a scalar, not a mapping or list "
      "(see the fields with `agentbook eval show SUITE ID`)")),
    ("set an unknown top-level field", SUITE, ["edit", "a", "--set", "expectd=1"], 3,
     ("{path}:3: invalid case: (case): unknown field(s) ('expectd' was unexpected) "
      "(the file on disk is unchanged)")),
    ("set a wrong type", SUITE, ["edit", "a", "--set", "threshold=high"], 3,
     "{path}:3: invalid case: threshold: 'high' is not of type 'number' (the file on disk is unchanged)"),
    ("bad path syntax", SUITE, ["edit", "a", "--set", "vars..q=1"], 3,
     "bad field path 'vars..q': empty part at character 6"),
    ("set without =", SUITE, ["edit", "a", "--set", "vars.q"], 2,
     "bad --set 'vars.q' (write it as PATH=VALUE, e.g. assert[0].value=Paris)"),
    ("nothing to change", SUITE, ["edit", "a"], 2, "nothing to change (give --set PATH=VALUE or --unset PATH)"),
    ("unset a missing field", SUITE, ["edit", "a", "--unset", "metadata"], 3,
     ("path 'metadata' does not exist in case 'a': nothing to remove there "
      "(see the fields with `agentbook eval show SUITE ID`)")),
    ("bad range", SUITE, ["show", "a", "--field", "vars.q", "--range", "9-3"], 3,
     "bad --range '9-3' (write it as A:B, A: or :B (character offsets))"),
    ("corrupt YAML", "tests:\n  - id: a\n    vars: [unclosed\n  - id: b\n", ["list"], 3,
     ("{path}:4:7: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence) "
      "(fix the syntax, then retry)")),
    ("tab indentation", "tests:\n\t- id: a\n", ["list"], 3,
     ("{path}:2:1: invalid YAML: found character that cannot start any token "
      "(while scanning for the next token) (fix the syntax, then retry)")),
    ("tests is not a list", "tests: 5\n", ["list"], 3, "{path}:1: `tests` must be a list of cases or a file:// path"),
    ("not a mapping", "- just\n- a list\n", ["list"], 3, "{path}:1: a suite must be a YAML mapping with a `tests:` key"),
]


@pytest.mark.parametrize("name,text,args,code,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input(run_cli: Callable[..., Any], tmp_path: Path, name: str, text: str, args: list[str],
                   code: int, message: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    res = run_cli("eval", args[0], str(path), *args[1:])
    assert res.code == code, res.err
    assert res.err.splitlines()[0] == _error(path, message)
    assert path.read_text() == text  # nothing lost, nothing half-written


def test_add_with_an_existing_id_is_refused(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    (tmp_path / "case.yaml").write_text("id: b\nvars: {q: 5}\n")
    res = run_cli("eval", "add", str(path), "--file", str(tmp_path / "case.yaml"))
    assert res.code == 3
    assert res.err.strip() == _error(path, "{path}: duplicate id 'b': the suite already has a case with it "
                                           "(pick another id or use `eval replace`)")
    assert path.read_text() == SUITE


def test_missing_suite(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    res = run_cli("eval", "list", str(tmp_path / "nope.yaml"))
    assert res.code == 3
    assert res.err.strip() == f"agentbook: error: suite not found: {tmp_path / 'nope.yaml'} " \
                              "(pass the path of a suite YAML file)"


EDITOR = """
import sys
import time
from agentbook.evals.store import open_suite
path, case_id, tag = sys.argv[1:4]
suite = open_suite(path)
for i in range(25):
    suite.edit_case(case_id, [("vars.question", f"{tag}{i}")])
"""


def test_two_processes_editing_two_cases_of_one_file(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(40, case_bytes=2000))
    before = path.read_bytes()
    procs = [subprocess.Popen([sys.executable, "-c", EDITOR, str(path), case_id, tag])
             for case_id, tag in (("case-00005", "A"), ("case-00030", "B"))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    suite = open_suite(path)
    assert suite.get_case("case-00005")["vars"]["question"] == "A24"
    assert suite.get_case("case-00030")["vars"]["question"] == "B24"
    changed = [a for a, b in zip(before.decode().splitlines(), path.read_text().splitlines()) if a != b]
    assert changed == ['      question: "What failed in incident 5?"',
                       '      question: "What failed in incident 30?"']


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_full_during_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(30, case_bytes=3000))
    open_suite(path).list_cases()  # build the index before the limit, as a normal session would have
    before = path.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "runner")}
    res = subprocess.run([sys.executable, "-m", "agentbook", "eval", "edit", str(path), "case-00003",
                          "--set", "vars.logs=" + "x" * 200, "--json"],
                         preexec_fn=_limit_file_size(len(before) // 2), capture_output=True, text=True,
                         env=env, timeout=60, check=False)
    assert res.returncode == 3, res.stderr
    assert res.stderr.strip() == f"agentbook: error: cannot write {path}: File too large " \
                                 "(the file on disk is unchanged)"
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    # and with room on the disk the same edit goes through
    result = open_suite(path).edit_case("case-00003", [("vars.logs", "x" * 200)])
    assert result.fast and open_suite(path).get_case("case-00003")["vars"]["logs"] == "x" * 200


def test_json_errors_are_machine_readable(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    res = run_cli("eval", "show", str(path), "zzz", "--json")
    assert res.code == 3 and json.loads(res.out)["error"] == "unknown case id 'zzz'"  # --json: on stdout too
    assert "unknown case id 'zzz'" in res.err
    assert json.loads(run_cli("eval", "list", str(path), "--json").out)["total"] == 2


KILLED_EDITOR = """
import sys
import time
from agentbook.evals.store import open_suite
suite = open_suite(sys.argv[1])
i = 0
while True:
    suite.edit_case("case-00010", [("vars.question", f"v{i}")])
    i += 1
"""


def test_kill_9_during_edits_leaves_old_or_new_never_a_mix(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(200, case_bytes=10_000))  # 2 MB: each write takes a while
    before = path.read_text()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_EDITOR, str(path)])
    deadline = time.monotonic() + 30
    while path.read_text() == before and time.monotonic() < deadline:  # wait for the first edit to land
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    after = path.read_text()
    question = open_suite(path).get_case("case-00010")["vars"]["question"]
    assert question.startswith("v")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [('      question: "What failed in incident 10?"', f'      question: "{question}"')]


def test_unusable_state_folder_is_a_clear_error_and_reads_still_work(run_cli: Callable[..., Any],
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    (tmp_path / ".agentbook").write_text("not a folder")  # where locks and caches would go
    assert json.loads(run_cli("eval", "list", str(path), "--json").out)["total"] == 2
    res = run_cli("eval", "edit", str(path), "a", "--set", "vars.q=2")
    assert res.code == 3
    assert res.err.strip() == (f"agentbook: error: cannot lock {path}: {tmp_path / '.agentbook' / 'locks'}: "
                               "Not a directory (agentbook keeps locks and caches in .agentbook/ beside the "
                               "suite; make it writable)")
    assert path.read_text() == SUITE


def test_run_with_an_unusable_state_folder(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    (tmp_path / "p.txt").write_text("{{q}}")
    (tmp_path / ".agentbook").write_text("not a folder")
    res = run_cli("eval", "run", str(path), "--model", "scripted:/nonexistent.script.yaml")
    assert res.code == 3
    assert res.err.startswith(f"agentbook: error: cannot open the response cache "
                              f"{tmp_path / '.agentbook' / 'responses.sqlite'}:")


@pytest.mark.parametrize("suite", [
    "prompts: [file://chat.json]\ntests:\n  - id: a\n    vars: {q: x}\n",
    "prompts: ['{{q}}']\ntests:\n  - id: a\n    vars: {q: file://chat.json}\n"], ids=["prompt", "var"])
def test_a_json_file_that_is_not_json_is_a_finding_at_its_line(run_cli: Callable[..., Any], tmp_path: Path,
                                                               suite: str) -> None:
    """A chat prompt or a `file://...json` variable with a trailing comma: `eval run` and `validate`
    died with a JSONDecodeError traceback (exit 70) instead of saying where the file is broken."""
    (tmp_path / "chat.json").write_text('[\n  {"role": "user", "content": "{{q}}"},\n]\n')
    (tmp_path / "suite.yaml").write_text(suite)
    script = tmp_path / "m.script.yaml"
    script.write_text("version: 1\nmodel: scripted\ndefault:\n  turns:\n    - text: x\n")
    res = run_cli("eval", "run", str(tmp_path / "suite.yaml"), "--model", f"scripted:{script}")
    assert res.code in (2, 3) and "Traceback" not in res.err + res.out, res.err
    assert f"{tmp_path / 'chat.json'}:3:1: invalid JSON: Expecting value" in res.err + res.out
    if "prompts: [file://chat.json]" in suite:
        found = run_cli("validate", "--strict", str(tmp_path / "suite.yaml"))
        assert found.code == 1 and f"invalid JSON: Expecting value ({tmp_path / 'chat.json'}:3:1)" in found.out
