"""promptfoo `javascript` assertions: real node in the real jail (bubblewrap, seccomp, limits), over
recorded outputs (`providerOutput`), so no model is called. Skipped with the reason where node or
the jail is missing; the fail-closed answer there is tested without either."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.errors import FatalError
from agentbook.evals.jsassert import JsRunner, node_path, problem

FIXTURES = Path(__file__).parent / "fixtures"
MODEL = f"scripted:{FIXTURES / 'scripts' / 'triage.script.yaml'}"
WHY_NOT = problem()
needs_js = pytest.mark.skipif(WHY_NOT is not None, reason=f"javascript assertions cannot run here: {WHY_NOT}")


def run_json(run_cli: Callable[..., Any], suite: Path) -> tuple[int, dict[str, Any]]:
    res = run_cli("eval", "run", str(suite), "--model", MODEL, "--no-cache", "--json", "--full")
    return res.code, json.loads(res.out)


def asserts_of(report: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
    case = next(c for c in report["cases"] if c["id"] == case_id)
    return list(case["attempts"][0]["asserts"])


def suite_with(folder: Path, *asserts: str, output: str = "The disk on db-2 is full.") -> Path:
    """A one-case suite whose assertions are the given YAML mappings (already indented for a list)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "p.txt").write_text("Question: {{question}}")
    body = "".join(f"      - {a}\n" for a in asserts)
    (folder / "suite.yaml").write_text(
        "prompts: [file://p.txt]\nproviders: [anthropic:messages:claude-haiku-4-5]\ntests:\n"
        f"  - id: only\n    vars: {{question: Why?}}\n    providerOutput: {json.dumps(output)}\n    assert:\n{body}")
    return folder / "suite.yaml"


@needs_js
def test_promptfoo_forms_grade_as_promptfoo_does(run_cli: Callable[..., Any], suite_copy: Callable[[str], Path]) -> None:
    code, report = run_json(run_cli, suite_copy("javascript"))
    assert code == 1
    assert {c["id"]: c["verdict"] for c in report["cases"]} == {
        "expression": "pass", "expression-fails": "fail", "function-body": "pass",
        "score-over-threshold": "pass", "score-under-threshold": "fail", "grading-result": "fail",
        "file-default": "pass", "file-named": "fail", "not-javascript": "pass"}
    assert asserts_of(report, "score-over-threshold")[0]["score"] == 0.25
    assert asserts_of(report, "score-under-threshold")[0]["reason"] == "returned 0.05 (threshold 0.2)"
    assert asserts_of(report, "grading-result")[0] == {"type": "javascript", "pass": False, "error": False,
                                                       "score": 0.25, "reason": "names no host"}
    assert asserts_of(report, "file-named")[0]["reason"] == "6 words"
    assert asserts_of(report, "not-javascript")[0]["reason"] == "not: returned false"


@needs_js
def test_syntax_errors_name_the_line_and_the_run_exits_2(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    (folder / "checks").mkdir(parents=True)
    shutil.copy(FIXTURES / "javascript" / "checks" / "broken.js", folder / "checks" / "broken.js")
    suite = suite_with(folder, "{type: javascript, value: \"const n = output.length;\\nreturn n >\"}",
                       "{type: javascript, value: 'file://checks/broken.js'}",
                       "{type: javascript, value: 'file://checks/missing.js'}",
                       "{type: javascript, value: 'file://../outside.js'}",
                       "{type: javascript, value: 'file://checks/esm.js'}")
    (tmp_path / "outside.js").write_text("module.exports = () => true;\n")
    (folder / "checks" / "esm.js").write_text("// promptfoo loads ES modules; agentbook does not\n"
                                              "export default (output) => output.length > 0;\n")
    code, report = run_json(run_cli, suite)
    assert code == 2
    inline, broken, missing, outside, esm = asserts_of(report, "only")
    assert all(a["error"] and not a["pass"] for a in (inline, broken, missing, outside, esm))
    assert esm["reason"] == (f"SyntaxError: Unexpected token 'export' (at {folder.resolve() / 'checks' / 'esm.js'}:2): "
                             "ES module syntax is not supported, write module.exports = (output, context) => ...")
    assert inline["reason"].startswith("SyntaxError: ") and inline["reason"].endswith("(at javascript assertion:2)")
    assert broken["reason"].startswith("SyntaxError: ")
    assert broken["reason"].endswith(f"(at {folder.resolve() / 'checks' / 'broken.js'}:3)")
    assert "cannot read file://checks/missing.js" in missing["reason"]
    assert "is outside" in outside["reason"]


@needs_js
def test_a_script_requires_files_of_its_repository_by_relative_path(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """`require('./lib/words')` in a file:// script: agentbook reads the file (and what it requires, a JSON
    file too) inside the repository and hands it in; the jail still shows none of the folder. A require
    that leads out of the repository, or to no file, is an error of that assertion."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    folder = repo / "evals"
    (folder / "checks" / "lib").mkdir(parents=True)
    (repo / "shared").mkdir()
    (repo / "shared" / "limits.json").write_text('{"max_words": 8}')
    (folder / "checks" / "lib" / "words.js").write_text(
        "const { max_words } = require('../../../shared/limits.json');\n"
        "module.exports = { count: (t) => t.split(/\\s+/).length, max_words };\n")
    (folder / "checks" / "short.js").write_text(
        "const words = require('./lib/words');\nconst path = require('path');\n"
        "module.exports = (output) => ({pass: words.count(output) <= words.max_words && path.sep === '/',"
        " score: 1, reason: `${words.count(output)} words of ${words.max_words}`});\n")
    (tmp_path / "outside.js").write_text("module.exports = 1;\n")
    (folder / "checks" / "escape.js").write_text("const x = require('../../../outside.js');\nmodule.exports = () => x === 1;\n")
    (folder / "checks" / "nofile.js").write_text("module.exports = () => require('./nothing-here') === 1;\n")
    suite = suite_with(folder, "{type: javascript, value: 'file://checks/short.js'}",
                       "{type: javascript, value: 'file://checks/escape.js'}",
                       "{type: javascript, value: 'file://checks/nofile.js'}")
    code, report = run_json(run_cli, suite)
    assert code == 2
    short, escape, nofile = asserts_of(report, "only")
    assert (short["pass"], short["error"], short["reason"]) == (True, False, "6 words of 8")
    assert escape["error"] and "outside.js is outside" in escape["reason"]
    assert nofile["error"] and "require('./nothing-here')" in nofile["reason"]


@needs_js
def test_a_structured_output_reaches_the_code_as_an_object(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """A provider that returns an object (here a recorded `providerOutput` mapping): the javascript sees
    `output` as that object, as in promptfoo; string assertions read its JSON text."""
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "p.txt").write_text("Question: {{question}}")
    (folder / "suite.yaml").write_text(
        "prompts: [file://p.txt]\nproviders: [anthropic:messages:claude-haiku-4-5]\ntests:\n"
        "  - id: only\n    vars: {question: Where?}\n    providerOutput: {city: Paris, tags: [fr, eu]}\n    assert:\n"
        "      - {type: javascript, value: \"output.city === 'Paris' && output.tags.length === 2\"}\n"
        "      - {type: contains, value: '\"city\":\"Paris\"'}\n      - {type: is-json}\n")
    code, report = run_json(run_cli, folder / "suite.yaml")
    assert code == 0, report
    assert [a["pass"] for a in asserts_of(report, "only")] == [True, True, True]


@needs_js
def test_a_loop_without_end_is_stopped_and_the_next_assertion_runs() -> None:
    async def go() -> tuple[list[str], Any, int]:
        js = JsRunner(Path("."), Path("."), seconds=1)
        errors = []
        try:
            # the second spins microtasks for ever without holding memory (a chain of promises, each resolved
            # by the next, ran the 512 MB heap out on a fast machine before the kill, a different stop)
            spin = "const spin = () => { Promise.resolve().then(spin); };\nspin();\nreturn new Promise(() => {});"
            for code in ("while (true) {}\n", spin):
                try:
                    await js.run(code, "out", {})
                except FatalError as err:
                    errors.append(err.render())
            return errors, await js.run("output.length", "four", {}), js.started
        finally:
            await js.close()

    errors, after, started = asyncio.run(go())
    assert errors[0] == "Error: Script execution timed out after 1000ms (at javascript assertion)"
    assert errors[1] == "javascript assertion: ran over 1 s (a loop without end?)"  # vm cannot stop it: killed
    assert (after, started) == (4, 2)


ESCAPE = "const p = this.constructor.constructor('return process')();\\nconst fs = p.mainModule.require('fs');\\n"


@needs_js
def test_the_code_sees_no_token_and_cannot_write_outside(run_cli: Callable[..., Any], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTBOOK_TEST_TOKEN", "sk-ant-test-0123456789")
    folder = tmp_path / "suite"
    target = folder / "written.txt"
    secret = tmp_path / "secret.txt"
    secret.write_text("the runner's own file")
    steal = (ESCAPE + "let seen = JSON.stringify(p.env);\\n"
             "try { seen += fs.readFileSync('/proc/1/environ', 'utf8'); } catch (e) {}\\n"
             f"try {{ seen += fs.readFileSync('{secret}', 'utf8'); }} catch (e) {{ seen += ' ' + e.code; }}\\n"
             "return {pass: false, reason: seen};")
    write = (ESCAPE + "const codes = [];\\n"
             f"for (const to of ['{target}', p.cwd() + '/home.txt']) {{\\n"
             "  try { fs.writeFileSync(to, 'x'); codes.push('wrote'); } catch (e) { codes.push(e.code); }\\n"
             "}\\nreturn {pass: false, reason: codes.join(' ')};")
    code, report = run_json(run_cli, suite_with(folder, f'{{type: javascript, value: "{steal}"}}',
                                                f'{{type: javascript, value: "{write}"}}'))
    assert code == 1
    stolen, wrote = asserts_of(report, "only")
    assert "PATH" in stolen["reason"] and "ENOENT" in stolen["reason"]  # it ran, and found nothing
    assert "sk-ant-test" not in stolen["reason"] and "the runner's own file" not in stolen["reason"]
    assert wrote["reason"] == "ENOENT EROFS" and not target.exists()  # the suite's folder is not there at all


def test_without_node_it_is_not_supported_and_nothing_runs(run_cli: Callable[..., Any], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert node_path() is None
    code, report = run_json(run_cli, suite_with(tmp_path / "suite", "{type: javascript, value: 'true'}"))
    assert code == 2
    only = asserts_of(report, "only")[0]
    assert only["error"] and not only["pass"]
    assert only["reason"].startswith("javascript is not supported here: needs node and a working sandbox")


def test_validate_no_longer_warns_about_javascript(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = suite_with(tmp_path / "suite", "{type: javascript, value: 'true'}", "{type: python, value: 'True'}")
    res = run_cli("validate", str(suite), "--json")
    said = res.out
    assert "'python' is not run" in said and "'javascript'" not in said
