"""`agentbook eval list` answered by the launcher before click loads (agentbook/launcher.py) prints and
exits exactly as the click command does, on cold and warm caches, both layouts, errors and inside a
session; forms it does not handle are left to click; and a warm listing loads no YAML parser or click."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentbook.cli import main
from agentbook.launcher import eval_list, parse_eval_list

CliRun = tuple[int, str, str]

REF_SUITE = """description: refs
assertionTemplates:
  politeness: {type: llm-rubric, value: polite}
prompts: ["{{q}}"]
tests:
  - id: with-ref
    vars: {q: hi}
    assert:
      - $ref: '#/assertionTemplates/politeness'
  - id: plain
    vars: {q: there}
    assert: [{type: contains, value: x}]
"""


def _many(n: int) -> str:
    body = "".join(f"  - description: 'case number {i} \u2014 with a description long enough to be cut in the row'\n"
                   f"    vars: {{q: 'question {i}'}}\n    assert: [{{type: contains, value: 'a{i}'}}]\n" for i in range(n))
    return "description: many\nprompts: ['{{q}}']\ntests:\n" + body


@pytest.fixture
def suites(suite_copy: Callable[[str], Path], tmp_path: Path) -> dict[str, Path]:
    single, split, shapes = suite_copy("single"), suite_copy("split"), suite_copy("shapes")
    many = tmp_path / "many" / "suite.yaml"
    many.parent.mkdir()
    many.write_text(_many(130))
    refs = tmp_path / "refs.yaml"
    refs.write_text(REF_SUITE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests:\n  - id: a\n    vars: {q: [unclosed\n")
    empty_dir = tmp_path / "nosuite"
    empty_dir.mkdir()
    return {"single": single, "single-file": single / "promptfooconfig.yaml", "split": split, "shapes": shapes,
            "many": many, "many-dir": many.parent, "refs": refs, "bad": bad, "missing": tmp_path / "nope.yaml",
            "no-suite-dir": empty_dir}


def _fast(capsys: pytest.CaptureFixture[str], args: list[str]) -> CliRun | None:
    capsys.readouterr()
    code = eval_list(args)
    out, err = capsys.readouterr()
    return None if code is None else (code, out, err)


def _click(capsys: pytest.CaptureFixture[str], args: list[str]) -> CliRun:
    capsys.readouterr()
    code = main(["eval", "list", *args])
    out, err = capsys.readouterr()
    return code, out, err


VARIANTS = [[], ["--json"], ["--filter", "id=*timeout*"], ["--filter=assert=contains", "--limit", "3"],
            ["--limit=0", "--json"], ["--limit", "5"], ["--filter", "result=none,size>10", "--json"],
            ["--filter", "size>lots"], ["--filter", "id~x", "--json"], ["--filter", "type=contains"]]


@pytest.mark.parametrize("name", ["single", "single-file", "split", "shapes", "many", "many-dir", "refs", "bad",
                                  "missing", "no-suite-dir"])
def test_fast_path_prints_what_click_prints(capsys: pytest.CaptureFixture[str], suites: dict[str, Path],
                                            name: str) -> None:
    for variant in VARIANTS:
        args = [str(suites[name]), *variant] if variant[:1] != ["--filter"] else [*variant, str(suites[name])]
        cold = _fast(capsys, args)  # the first variant meets a cold cache
        via_click = _click(capsys, args)
        warm = _fast(capsys, args)
        assert cold is not None and warm is not None, args
        assert cold == via_click == warm, args
        if "--json" in variant:
            json.loads(via_click[1])  # one JSON object, result or error
    code, out, _err = _click(capsys, [str(suites[name])])
    if name in ("bad", "missing", "no-suite-dir"):
        assert code == 3 and out == ""
    else:
        assert code == 0 and out.rstrip().endswith("layout)")


def test_the_row_limit_and_the_pointer_to_the_rest(capsys: pytest.CaptureFixture[str],
                                                   suites: dict[str, Path]) -> None:
    code, out, _err = _fast(capsys, [str(suites["many"])]) or (None, "", "")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 103
    assert lines[-3] == "[... 30 more cases: use --filter EXPR or --limit 0]"
    assert lines[-2] == (f"(descriptions cut at 48 characters: agentbook eval show {suites['many']} ID, or --json, "
                         "has them whole)")
    assert lines[-1] == "130 of 130 cases (single layout)"
    assert lines[0].endswith("\u2026") and "contains" in lines[0]


@pytest.mark.parametrize("args", [["--help"], ["-h"], [], ["a.yaml", "b.yaml"], ["--json", "--json", "s.yaml"],
                                  ["--", "s.yaml"], ["s.yaml", "--limit", "-1"], ["s.yaml", "--limit", "ten"],
                                  ["s.yaml", "--limit"], ["s.yaml", "--filter", "a", "--filter", "b"],
                                  ["s.yaml", "--verbose"], ["-s.yaml"], [""]])
def test_other_forms_are_left_to_click(args: list[str]) -> None:
    assert parse_eval_list(args) is None


def test_plain_forms_parse_as_click_does() -> None:
    assert parse_eval_list(["s.yaml"]) == ("s.yaml", None, 100, False)
    assert parse_eval_list(["--json", "--limit=+7", "s.yaml", "--filter", ""]) == ("s.yaml", "", 7, True)
    assert parse_eval_list(["--filter=id=a,b", "s.yaml", "--limit", " 3 "]) == ("s.yaml", "id=a,b", 3, False)
    assert parse_eval_list(["s.yaml", "--limit=1_0"]) == ("s.yaml", None, 10, False)  # int("1_0"), as click


def test_inside_a_session_the_suite_is_confined_alike(capsys: pytest.CaptureFixture[str], suites: dict[str, Path],
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    shutil.copytree(suites["single"], root / "suite")
    monkeypatch.setenv("AGENTBOOK_CONFINE_ROOT", str(root))
    for args in ([str(root / "suite")], [str(suites["many"]), "--json"], [str(root / "suite" / ".." / ".." / "refs.yaml")]):
        via_click = _click(capsys, args)
        assert _fast(capsys, args) == via_click
        assert _fast(capsys, args) == via_click
    assert "outside the session root" in _click(capsys, [str(suites["many"])])[2]


def test_a_warm_listing_loads_no_yaml_parser_nor_click(suites: dict[str, Path]) -> None:
    suite = suites["single"]
    probe = ("import sys\n"
             f"sys.argv = ['agentbook', 'eval', 'list', {str(suite)!r}, '--json']\n"
             "from agentbook.launcher import main\n"
             "try:\n    main()\nexcept SystemExit as ex:\n    code = ex.code\n"
             "heavy = sorted(m for m in ('click', 'yaml', 'ruamel.yaml', 'jsonschema', 'anthropic', 'httpx', 'typing',"
             " 'subprocess', 'tempfile', 'dataclasses', 'inspect') if m in sys.modules)\n"
             "print('HEAVY', code, heavy)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTBOOK_CONFINE")}
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
            for _ in range(2)]
    cold, warm = (r.stdout.splitlines()[-1] for r in runs)
    assert cold.startswith("HEAVY 0 [") and "yaml" in cold  # the first touch builds the index
    assert warm == "HEAVY 0 []", warm
    assert json.loads(runs[1].stdout.rsplit("HEAVY", 1)[0])["total"] >= 1


def test_version_loads_neither_click_nor_subprocess() -> None:
    probe = ("import sys\nsys.argv = ['agentbook', '--version']\nfrom agentbook.launcher import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('click', 'subprocess', 'dataclasses', 'typing', 'pathlib') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    line, heavy = done.stdout.splitlines()
    assert line.startswith("agentbook ") and "(commit " in line
    assert heavy == "[]"
