"""The suite store on real files: both layouts, the byte splice, the fallback, ids, split, the index cache."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentbook.errors import FatalError
from agentbook.evals import state
from agentbook.evals.index import build_index
from agentbook.evals.indexstore import IndexStore, stat_key
from agentbook.evals.split import check_split, split_suite
from agentbook.evals.store import SingleFileSuite, SplitSuite, open_suite
from agentbook.evals.synth import synthetic_suite


def changed_lines(before: str, after: str) -> list[str]:
    return [ln for ln in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_both_layouts_list_the_same_shape(suite_copy: Callable[[str], Path]) -> None:
    single = open_suite(suite_copy("single"))
    split = open_suite(suite_copy("split"))
    assert isinstance(single, SingleFileSuite) and isinstance(split, SplitSuite)
    assert [c.id for c in single.list_cases()] == ["checkout-timeout", "case-cc0e6533", "json-summary"]
    assert single.list_cases()[0].asserts == ["icontains", "llm-rubric"]
    assert [c.id for c in split.list_cases()] == ["auth-expired", "cache-stampede", "case-19ba1e94"]
    assert split.get_case("cache-stampede")["assert"] == [{"type": "starts-with", "value": "The cache"}]
    assert single.config()["defaultTest"]["assert"][0]["type"] == "not-icontains"
    assert "tests" not in single.config()


def test_edit_touches_only_the_case_lines(suite_copy: Callable[[str], Path]) -> None:
    path = suite_copy("single") / "promptfooconfig.yaml"
    before = path.read_text()
    result = open_suite(path).edit_case("checkout-timeout", [("assert[0].value", "payment-service")])
    after = path.read_text()
    assert result.fast
    assert changed_lines(before, after) == ["-        value: payments   # the service that actually failed",
                                            "+        value: payment-service # the service that actually failed"]


def test_edit_keeps_block_style_and_quotes(suite_copy: Callable[[str], Path]) -> None:
    path = suite_copy("single") / "promptfooconfig.yaml"
    before = path.read_text()
    open_suite(path).edit_case("checkout-timeout", [("vars.logs", "a\nb\n"), ("vars.question", "Why?")])
    diff = changed_lines(before, path.read_text())
    assert diff == ["-      question: 'Why did checkout fail at 10:02?'", "+      question: 'Why?'",
                    "-        10:01:58 checkout INFO  POST /pay started",
                    "-        10:02:03 checkout ERROR upstream payments timed out after 5000ms",
                    "-        10:02:03 checkout WARN  retry 1/3", "+        a", "+        b"]


def test_edit_of_a_case_without_id_writes_its_derived_id(suite_copy: Callable[[str], Path]) -> None:
    path = suite_copy("single") / "promptfooconfig.yaml"
    before = path.read_text()
    open_suite(path).edit_case("case-cc0e6533", [("assert[0].value", "space")])
    diff = changed_lines(before, path.read_text())
    assert diff == ["-  - description: Disk full on the db host", "+  - id: case-cc0e6533",
                    "+    description: Disk full on the db host", "-        value: disk", "+        value: space"]
    assert open_suite(path).get_case("case-cc0e6533")["assert"][0]["value"] == "space"


def test_add_replace_remove_round_trip(suite_copy: Callable[[str], Path]) -> None:
    path = suite_copy("single") / "promptfooconfig.yaml"
    original = path.read_bytes()
    suite = open_suite(path)
    suite.add_case({"id": "new-one", "vars": {"question": "q"}, "assert": [{"type": "equals", "value": "x"}]})
    assert [c.id for c in suite.list_cases()][-1] == "new-one"
    suite.replace_case("new-one", "vars:\n  question: other  # kept comment\nassert:\n  - type: contains\n"
                       "    value: y\n")
    assert "question: other # kept comment" in path.read_text()
    assert suite.get_case("new-one") == {"id": "new-one", "vars": {"question": "other"},
                                         "assert": [{"type": "contains", "value": "y"}]}
    suite.remove_case("new-one")
    assert path.read_bytes() == original


def test_remove_takes_the_case_comment_header_with_it(suite_copy: Callable[[str], Path]) -> None:
    path = suite_copy("single") / "promptfooconfig.yaml"
    before = path.read_text()
    open_suite(path).remove_case("case-cc0e6533")
    removed = [ln for ln in changed_lines(before, path.read_text())]
    assert removed[0] == "-  # --- a case captured without an id (promptfoo users rarely write ids) ---"
    assert all(ln.startswith("-") for ln in removed) and len(removed) == 11
    assert [c.id for c in open_suite(path).list_cases()] == ["checkout-timeout", "json-summary"]


def test_anchors_take_the_full_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("defaultTest:\n  assert: &common\n    - type: contains\n      value: ok\n"
                    "tests:\n  - id: a  # first\n    vars: {q: 1}\n    assert: *common\n"
                    "  - id: b\n    vars: {q: 2}\n")
    suite = open_suite(path)
    result = suite.edit_case("b", [("vars.q", 3)])
    assert not result.fast and result.reason == "anchors, aliases"
    text = path.read_text()
    assert "assert: *common" in text and "- id: a  # first" in text and "vars: {q: 3}" in text
    assert suite.get_case("a")["assert"] == [{"type": "contains", "value": "ok"}]


MERGED = ("description: merge keys\nprompts:\n  - 'Answer: {{q}}'\n"
          "x-base: &base\n  vars:\n    q: hello\n  assert:\n    - type: contains\n      value: hello\n"
          "tests:\n  - <<: *base\n    description: first\n"
          "  - <<: *base\n    description: second\n    vars:\n      q: other\n")


def test_cases_without_ids_that_merge_an_anchor_list_and_show_what_they_run_with(tmp_path: Path) -> None:
    """promptfoo users share a case's parts with `<<: *base` and write no ids: each case, cut out to
    derive its id, named an anchor outside it (the suite did not list: undefined alias); `show` printed
    the merge key and the anchor's copy rather than the fields the case runs with."""
    path = tmp_path / "suite.yaml"
    path.write_text(MERGED)
    suite = open_suite(path)
    _first, second = (c.id for c in suite.list_cases())
    assert suite.get_case(second) == {"description": "second", "vars": {"q": "other"},
                                      "assert": [{"type": "contains", "value": "hello"}]}
    text = suite.case_text(second)
    assert yaml.safe_load(text) == suite.get_case(second)
    assert not [line for line in text.splitlines() if "<<" in line and not line.startswith("#")]
    assert "(line 13 writes them)" in text.splitlines()[0]


def test_an_edit_through_a_merge_key_changes_that_case_only(tmp_path: Path) -> None:
    """`assert[0].value` of a case that merges `assert` from an anchor was changed in the anchor, so
    every case merging it changed too; now the case gets its own `assert`, written after its keys."""
    path = tmp_path / "suite.yaml"
    path.write_text(MERGED)
    suite = open_suite(path)
    first, second = (c.id for c in suite.list_cases())
    suite.edit_case(first, [("assert[0].value", "bye")])
    assert suite.get_case(first)["assert"] == [{"type": "contains", "value": "bye"}]
    assert suite.get_case(second)["assert"] == [{"type": "contains", "value": "hello"}]
    assert yaml.safe_load(path.read_text())["x-base"]["assert"][0]["value"] == "hello"
    assert changed_lines(MERGED, path.read_text()) == [
        "-  - <<: *base", f"+  - id: {first}", "+    <<: *base",
        "+    assert:", "+      - type: contains", "+        value: bye"]


CASE_BASE = ("prompts:\n  - 'Answer: {{q}}'\n"
             "tests:\n  - &base\n    description: first\n    vars:\n      q: one\n"
             "    assert:\n      - type: contains\n        value: Paris\n"
             "  - <<: *base\n    description: second\n"
             "  - <<: *base\n    description: third\n    vars:\n      q: three\n")


def test_editing_the_case_that_defines_an_anchor_changes_that_case_only(tmp_path: Path) -> None:
    """The first case is itself the anchor the others merge (`- &base`): its id was written into the
    anchor, so every case merging it had that id (three cases, one id, none editable), and its edit
    reached them all. Now it gets its own copy: the others still merge the original, same ids, same
    content."""
    path = tmp_path / "suite.yaml"
    path.write_text(CASE_BASE)
    suite = open_suite(path)
    before = {c.id: suite.get_case(c.id) for c in suite.list_cases()}
    first, second, third = before
    suite.edit_case(first, [("assert[0].value", "Rome")])
    after = {c.id: suite.get_case(c.id) for c in suite.list_cases()}
    assert list(after) == [first, second, third]
    assert after[first]["assert"] == [{"type": "contains", "value": "Rome"}]
    assert (after[second], after[third]) == (before[second], before[third])
    assert path.read_text().count("<<: ") == 2  # still merges


def test_editing_the_case_that_defines_an_alias_keeps_the_others_aliases(tmp_path: Path) -> None:
    """A case defines `assert: &common` that one other case aliases: the edit gives the first case its
    own checks, and the other keeps the name (written where it now stands), not a nameless copy."""
    path = tmp_path / "suite.yaml"
    text = ("prompts:\n  - 'Answer: {{q}}'\ntests:\n  - id: a\n    vars: {q: 1}\n"
            "    assert: &common\n      - type: contains\n        value: Paris\n"
            "  - id: b\n    vars: {q: 2}\n    assert: *common\n")
    path.write_text(text)
    suite = open_suite(path)
    suite.edit_case("a", [("assert[0].value", "Rome")])
    assert suite.get_case("b")["assert"] == [{"type": "contains", "value": "Paris"}]
    assert suite.get_case("a")["assert"] == [{"type": "contains", "value": "Rome"}]
    assert "assert: &common" in path.read_text().split("- id: b")[1]


def test_removing_the_case_that_defines_an_anchor_keeps_its_name_for_the_others(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(CASE_BASE)
    suite = open_suite(path)
    first, second, third = (c.id for c in suite.list_cases())
    kept = {cid: suite.get_case(cid) for cid in (second, third)}
    suite.remove_case(first)
    assert {c.id: suite.get_case(c.id) for c in suite.list_cases()} == kept
    assert "<<: &base" in path.read_text() and "<<: *base" in path.read_text()


def test_unsetting_a_merged_key_is_refused_not_a_silent_no_op(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(MERGED)
    suite = open_suite(path)
    first = suite.list_cases()[0].id
    with pytest.raises(FatalError, match="comes from a `<<:` merge key") as err:
        suite.edit_case(first, unsets=["vars"])
    assert err.value.exit_code == 3 and path.read_text() == MERGED
    suite.edit_case(first, unsets=["vars.q"])  # inside the merged mapping: the case's own copy loses it
    assert suite.get_case(first)["vars"] == {} and yaml.safe_load(path.read_text())["x-base"]["vars"] == {"q": "hello"}


def test_flow_style_and_multi_document_files_are_flagged() -> None:
    assert build_index(b"tests: [{id: a}, {id: b}]\n").reason == "a flow-style case list"
    assert build_index(b"tests:\n  - id: a\n---\nother: 1\n").reason == "several documents"
    assert build_index(b"tests:\n  - !!map {id: a}\n").reason.startswith("tags")
    assert build_index(b"tests:\n  - id: a\n    <<: {x: 1}\n").reason == "merge keys"


def test_derived_ids_are_deterministic_and_numbered(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("tests:\n  - vars: {q: 1}\n  - vars: {q: 1}\n  - vars: {q: 2}\n")
    ids = [c.id for c in open_suite(path).list_cases()]
    assert ids[0] != ids[2] and ids[1] == f"{ids[0]}-2"
    (tmp_path / "copy.yaml").write_text(path.read_text())
    assert [c.id for c in open_suite(tmp_path / "copy.yaml").list_cases()] == ids


def test_split_is_lossless_and_promptfoo_shaped(suite_copy: Callable[[str], Path], tmp_path: Path) -> None:
    folder = suite_copy("single")
    suite = open_suite(folder)
    summary = split_suite(suite, tmp_path / "out")
    assert check_split(suite, tmp_path / "out") == []
    assert len(summary.cases) == 3
    head = yaml.safe_load((tmp_path / "out" / "suite.yaml").read_text())
    assert head["tests"] == "file://cases/*.yaml" and head["providers"][0]["config"] == {"temperature": 0}
    case_text = (tmp_path / "out" / "cases" / "checkout-timeout.yaml").read_text()
    assert case_text.startswith("# --- checkout timeouts ---")
    assert "value: payments   # the service that actually failed" in case_text
    split = open_suite(tmp_path / "out")
    split.edit_case("case-cc0e6533", [("vars.question", "Where did the disk go?")])
    assert split.get_case("case-cc0e6533")["vars"]["question"] == "Where did the disk go?"


def test_split_layout_add_edit_remove(suite_copy: Callable[[str], Path]) -> None:
    folder = suite_copy("split")
    suite = open_suite(folder / "suite.yaml")
    suite.add_case("id: fresh\nvars:\n  question: q\nassert:\n  - type: equals\n    value: a\n")
    assert (folder / "cases" / "fresh.yaml").read_text().startswith("id: fresh\n")
    suite.edit_case("cache-stampede", [("assert[0].value", "Cache")])  # a case inside a list file
    assert '      value: "Cache"\n' in (folder / "cases" / "more.yaml").read_text()
    suite.edit_case("auth-expired", [("min_pass", 3)])
    text = (folder / "cases" / "auth-expired.yaml").read_text()
    assert text.startswith("# Captured from INC-1501") and "min_pass: 3" in text
    suite.remove_case("fresh")
    assert not (folder / "cases" / "fresh.yaml").exists()


def test_index_cache_is_reused_and_invalidated(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(5))
    suite = open_suite(path)
    suite.list_cases()
    store = IndexStore(state.index_db(path))
    key = stat_key(path.stat())
    cached = store.load(key)
    assert cached is not None and cached.size == path.stat().st_size and len(cached.cases) == 5
    store.save(build_index(synthetic_suite(1).encode()), key, synthetic_suite(1).encode())  # a lying cache
    assert len(open_suite(path).list_cases()) == 1  # a new process (no memo) trusts a cache with the file's stat
    path.write_text(synthetic_suite(6))  # new size, mtime and ctime: rebuilt
    assert len(suite.list_cases()) == 6
    before = path.stat()
    assert store.load(stat_key(before)) is not None
    path.write_text(synthetic_suite(6).replace("case-00001", "case-0000X"))  # another tool's same-size edit
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # ... that even kept the mtime
    assert store.load(stat_key(path.stat())) is None  # the ctime tells
    assert [c.id for c in suite.list_cases()][1] == "case-0000X"
    assert (tmp_path / ".agentbook" / ".gitignore").read_text().endswith("*\n")


def test_edits_keep_the_index_consistent_with_a_fresh_build(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(20))
    suite = open_suite(path)
    suite.edit_case("case-00003", [("vars.logs", "x\n" * 50)])
    suite.remove_case("case-00010")
    suite.add_case({"id": "tail", "vars": {"q": "t"}})
    suite.edit_case("case-00015", [("assert[0].value", "changed")])
    cached = IndexStore(state.index_db(path)).load(stat_key(path.stat()))
    assert cached is not None
    fresh = build_index(path.read_bytes()).to_json()
    strip = ("mtime_ns", "digest")
    assert {k: v for k, v in cached.to_json().items() if k not in strip} == {
        k: v for k, v in fresh.items() if k not in strip}


def test_flow_style_list_and_several_documents_edit_and_add(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text("tests: [{id: a, vars: {q: 1}}, {id: b, vars: {q: 2}}]  # flow\n")
    suite = open_suite(flow)
    assert suite.edit_case("b", [("vars.q", 3)]).reason == "a flow-style case list"
    suite.add_case({"id": "c", "vars": {"q": 4}})
    assert flow.read_text() == "tests: [{id: a, vars: {q: 1}}, {id: b, vars: {q: 3}}, {id: c, vars: {q: 4}}] # flow\n"
    multi = tmp_path / "multi.yaml"
    multi.write_text("tests:\n  - id: a\n    vars: {q: 1}\n---\nother: doc\n")
    open_suite(multi).edit_case("a", [("vars.q", 5)])
    assert multi.read_text() == "tests:\n  - id: a\n    vars: {q: 5}\n---\nother: doc\n"


def test_empty_list_grows_and_shrinks(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("description: empty\ntests:\n")
    suite = open_suite(path)
    assert not suite.add_case({"id": "first"}).fast  # nothing to splice next to yet
    assert suite.add_case({"id": "second"}).fast
    assert path.read_text() == "description: empty\ntests:\n  - id: first\n  - id: second\n"
    suite.remove_case("first")
    suite.remove_case("second")
    assert path.read_text() == "description: empty\ntests:\n" and suite.list_cases() == []


def test_split_with_sidecars_copies_references_and_still_runs_the_same(
        run_cli: Callable[..., Any], suite_copy: Callable[[str], Path], tmp_path: Path) -> None:
    folder = suite_copy("single")
    out = tmp_path / "split"
    res = run_cli("eval", "split", str(folder), "--out", str(out), "--sidecar-over", "100", "--json")
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    assert summary["sidecars"] == ["sidecars/checkout-timeout.logs.txt"] and summary["verified"]
    assert sorted(summary["copied"]) == ["prompts/triage.txt", "sidecars/json-logs.txt"]
    case_text = (out / "cases" / "checkout-timeout.yaml").read_text()
    assert "      logs: file://sidecars/checkout-timeout.logs.txt\n    assert:" not in case_text
    assert "  logs: file://sidecars/checkout-timeout.logs.txt\nassert:\n" in case_text
    assert (out / "sidecars" / "checkout-timeout.logs.txt").read_text().startswith("10:01:58 checkout INFO")
    scripts = Path(__file__).parent / "fixtures" / "scripts"
    args = ["--model", f"scripted:{scripts / 'triage.script.yaml'}", "--grader", f"scripted:{scripts / 'judge.script.yaml'}",
            "--json", "--full"]
    before = json.loads(run_cli("eval", "run", str(folder), *args).out)
    after = json.loads(run_cli("eval", "run", str(out), *args).out)
    verdicts = {c["id"]: c["verdict"] for c in before["cases"]}
    assert verdicts == {c["id"]: c["verdict"] for c in after["cases"]}
    assert verdicts == {"checkout-timeout": "pass", "case-cc0e6533": "fail", "json-summary": "fail"}


def test_edit_reports_exactly_the_changed_lines(run_cli: Callable[..., Any], suite_copy: Callable[[str], Path]) -> None:
    folder = suite_copy("single")
    first = run_cli("eval", "edit", str(folder), "checkout-timeout", "--set", "assert[0].value=payments-api")
    assert first.out == (f"edited checkout-timeout in {folder / 'promptfooconfig.yaml'}, line 32 "
                         "(the rest of the file is as it was)\n")
    again = run_cli("eval", "edit", str(folder), "checkout-timeout", "--set", "assert[0].value=payments-api",
                    "--json")
    assert json.loads(again.out)["changed"] == [] and json.loads(again.out)["lines"] == [0, 0]
