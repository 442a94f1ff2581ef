"""The example system is real data: generated deterministically, loadable, and it behaves as its
ticket says (the scripted production model writes the buggy query until the prompt states the rule)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import yaml
from tests.conftest import REPO_ROOT, CliResult, git

EXAMPLE = REPO_ROOT / "examples" / "incident-assistant"
GENERATE = EXAMPLE / "scripts" / "generate.py"
SUITE_SCHEMA = json.loads((REPO_ROOT / "schemas" / "eval-suite.schema.json").read_text())
TICKET_QUESTION = "Show me errors from checkout in the last hour"
LABELS = "service_name, namespace, pod, level"


def _generate(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GENERATE), "--root", str(root), *flags],
                          capture_output=True, text=True, check=False)


def test_committed_generated_files_are_up_to_date() -> None:
    proc = _generate(EXAMPLE, "--check")
    assert proc.returncode == 0, proc.stderr


def test_check_reports_drift(tmp_path: Path) -> None:
    proc = _generate(tmp_path, "--check")
    assert proc.returncode == 1
    assert "out of date: evals/sut.script.yaml (run python scripts/generate.py)" in proc.stderr


def test_big_suite_is_one_deterministic_5mb_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert _generate(first, "--big").returncode == 0
    assert _generate(second, "--big").returncode == 0
    data = (first / "evals" / "root-cause.yaml").read_bytes()
    assert data == (second / "evals" / "root-cause.yaml").read_bytes()
    assert 4_500_000 < len(data) < 5_500_000
    suite = yaml.load(data, Loader=yaml.CSafeLoader)
    jsonschema.validate(suite, SUITE_SCHEMA)
    assert len(suite["tests"]) == 40
    ids = [case["id"] for case in suite["tests"]]
    assert len(set(ids)) == 40 and ids[0] == "rc-001-db-pool"
    for case in suite["tests"]:
        evidence = case["vars"]["evidence"]
        keyword = case["assert"][0]["value"]
        assert 100_000 < len(evidence) < 140_000
        # the planted cause is really in the haystack: a line mentioning the asserted keyword
        assert any(keyword.split()[0] in line.lower() for line in evidence.splitlines()), case["id"]


def test_small_suites_validate_and_case_ids_match_file_names() -> None:
    logql = yaml.safe_load((EXAMPLE / "evals" / "logql" / "suite.yaml").read_text())
    jsonschema.validate(logql, SUITE_SCHEMA)
    assert logql["tests"] == "file://cases/*.yaml"
    for path in sorted((EXAMPLE / "evals" / "logql" / "cases").glob("*.yaml")):
        case = yaml.safe_load(path.read_text())
        jsonschema.validate({"tests": [case]}, SUITE_SCHEMA)
        assert case["id"] == path.stem
    alerts = yaml.safe_load((EXAMPLE / "evals" / "summarise-alert.yaml").read_text())
    jsonschema.validate(alerts, SUITE_SCHEMA)
    assert alerts["tests"][0]["id"] == "checkout-latency-critical"


def test_traces_are_otlp_with_the_ticket_failure_in_them() -> None:
    paths = sorted((EXAMPLE / "traces").glob("*.otlp.json"))
    assert [p.name.split("-")[1] for p in paths] == ["0142", "0143", "0144", "0145"]
    for path in paths:
        spans = json.loads(path.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"]
        ids = {s["spanId"] for s in spans}
        assert all(s.get("parentSpanId", spans[0]["spanId"]) in ids for s in spans)
        assert {len(s["traceId"]) for s in spans} == {32}
    failure = json.loads(paths[0].read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"]
    attrs = {s["name"]: {a["key"]: a["value"] for a in s["attributes"]} for s in failure}
    query = attrs["chat logql"]["gen_ai.output.messages"]["stringValue"]
    assert '|= \\"error\\"' in query
    result = json.loads(attrs["execute_tool loki_query_range"]["gen_ai.tool.call.result"]["stringValue"])
    assert result["data"]["result"] == []
    errored = json.loads((EXAMPLE / "traces" / "inv-0144-search-disk.otlp.json").read_text())
    statuses = [s["status"]["code"] for s in errored["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    assert statuses.count(2) == 1


def test_scripted_production_model_rewards_only_the_stated_rule(example_import: Path, tmp_path: Path) -> None:
    from assistant import harness

    spec = f"scripted:{EXAMPLE / 'evals' / 'sut.script.yaml'}"
    variables = {"question": TICKET_QUESTION, "labels": LABELS}
    before = asyncio.run(harness.ask("logql", variables, spec))
    assert before == '{service_name="checkout"} |= "error"'

    # The same harness on a copy whose prompt states the rule gets the corrected query.
    prompt = (EXAMPLE / "prompts" / "logql.md").read_text()
    fixed = prompt.replace('- Parse with', '- Match severity words case-insensitively: `|~ "(?i)error"`.\n- Parse with')
    assert fixed != prompt
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "logql.md").write_text(fixed)
    harness_root = harness.ROOT
    try:
        harness.ROOT = tmp_path
        after = asyncio.run(harness.ask("logql", variables, spec))
    finally:
        harness.ROOT = harness_root
    assert after == '{service_name="checkout"} |~ "(?i)error"'


def test_example_copies_out_as_its_own_repository(example_repo: Path) -> None:
    assert git(example_repo, "rev-list", "--count", "HEAD").strip() == "1"
    tracked = git(example_repo, "ls-files").split()
    assert "evals/root-cause.yaml" in tracked and "tickets/INC-142-logql-error-case.md" in tracked
    assert git(example_repo, "status", "--porcelain") == ""


def test_the_backtests_code_pointers_exist_in_the_example() -> None:
    """The backtest's analysts blame files of this system by path and line: those must be real."""
    script = (EXAMPLE / "backtest" / "analyst.script.yaml").read_text()
    pointers = set(re.findall(r'"path": "((?:prompts|assistant)/[^"]+)", "line": (null|\d+)', script))
    assert {p for p, _ in pointers} >= {"prompts/logql.md", "prompts/root-cause.md", "assistant/tools/loki.py",
                                        "assistant/accounts.py"}
    for path, line in pointers:
        lines = (EXAMPLE / path).read_text().splitlines()
        assert line == "null" or int(line) <= len(lines), f"{path}:{line} is past the end"
    logql = (EXAMPLE / "prompts" / "logql.md").read_text().splitlines()
    assert "logfmt" in logql[9] and "service_name" in logql[5]  # the lines the cohorts cite: :10 and :6


def test_agentbook_validates_the_example_suites(example_repo: Path, run_cli: Callable[..., CliResult]) -> None:
    suites = [example_repo / "evals" / p for p in ("logql/suite.yaml", "summarise-alert.yaml", "root-cause.yaml")]
    res = run_cli("validate", *suites)
    assert res.code == 0, res.out + res.err
    assert res.out.strip().endswith("checked 0 skills, 0 runbooks, 3 eval suites: 0 errors, 0 warnings")
    listed = run_cli("eval", "list", suites[2], "--json")
    assert listed.code == 0
    data = json.loads(listed.out)
    assert (data["layout"], data["total"]) == ("single", 40)
    assert all(c["size"] > 100_000 for c in data["cases"])  # each case carries ~125 KB of captured logs


def test_the_examples_own_readme_commands_run(tmp_path: Path) -> None:
    """The example README's sh block, as typed, in one shell, from a copy of the example folder."""
    text = (EXAMPLE / "README.md").read_text()
    block = re.search(r"## Use it.*?```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 5 and commands[1] == "cd ../incident-assistant-repo"
    here = tmp_path / "example"
    shutil.copytree(EXAMPLE, here, ignore=shutil.ignore_patterns(".agentbook", "__pycache__", "root-cause.yaml"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block.group(1)], cwd=here, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"the block exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "5 passed, 0 failed, 0 errors" in proc.stdout
    assert '\n{service_name="checkout"} |= "error"\n' in proc.stdout  # the bug the ticket reports
    assert "steps:" in proc.stdout and "Change the prompt" in proc.stdout
    assert (tmp_path / "incident-assistant-repo" / "evals" / "root-cause.yaml").stat().st_size > 4_500_000
