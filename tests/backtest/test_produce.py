"""`backtest run`: a small system (a real git repo in tmp, calling agentbook's scripted model in the real
bubblewrap jail) run over recorded inputs, graded, resumed after kill -9, and its manifest imported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentbook.backtest.importer import import_backtest
from agentbook.backtest.produce import RunOptions, produce_backtest
from agentbook.cli import main
from agentbook.errors import FatalError
from agentbook.fsutil import read_jsonl
from agentbook.session.sandbox import bwrap_works

from .conftest import REPO

pytestmark = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here")

SYSTEM = '''\
import asyncio, json, os, sys, time
from agentbook.models import ModelRequest, load_model, tracing

async def main():
    case = json.load(sys.stdin)
    time.sleep(float(os.environ.get("SLOW", "0")) + case.get("sleep", 0))
    tracing.record_tool("lookup", {"q": case["q"]}, "found: " + case["q"])
    model = load_model("scripted:model.script.yaml")
    try:
        reply = await model.complete(ModelRequest(messages=[{"role": "user", "content": case["q"]}],
                                                  system=open("prompt.md").read()))
    finally:
        await model.aclose()
    if case.get("answer_file"):
        open(os.environ["AGENTBOOK_ANSWER"], "w").write("from the file: " + reply.text())
    else:
        print(reply.text())

asyncio.run(main())
'''

SCRIPT = '''\
version: 1
sessions:
  - name: careful
    match: {system: "Check the country", first_user: {regex: "capital of (?P<c>\\\\w+)"}}
    turns: [{text: "The capital of {c} is {c}-city."}]
  - name: capital
    match: {first_user: {regex: "capital of (?P<c>\\\\w+)"}}
    turns: [{text: "The capital of {c} is Paris."}]
default:
  turns: [{text: "I do not know."}]
'''

SPEC = '''\
command: python system.py
inputs: inputs.jsonl
assert:
  - {type: icontains, value: "{{ expected.answer }}"}
timeout: 60s
'''


def _inputs(n: int) -> str:
    rows = []
    for i in range(n):
        country = ["France", "Spain", "Peru"][i % 3]
        answer = "Paris" if country == "France" else f"{country}-city"
        rows.append({"id": f"q{i:02d}", "account": ["acme", "globex"][i % 2], "input": {"q": f"capital of {country}"},
                     "truth": f"The capital of {country} is {answer}.", "expected": {"answer": answer},
                     "metadata": {"country": country}})
    return "".join(json.dumps(r) + "\n" for r in rows)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True,
                   capture_output=True)


@pytest.fixture
def system(tmp_path: Path) -> Path:
    """A git repo holding a tiny system, its scripted model, its prompt, its run spec and 6 inputs."""
    repo = tmp_path / "system"
    repo.mkdir()
    (repo / "system.py").write_text(SYSTEM)
    (repo / "model.script.yaml").write_text(SCRIPT)
    (repo / "prompt.md").write_text("You answer questions about geography.\n")
    (repo / "run.yaml").write_text(SPEC)
    (repo / "inputs.jsonl").write_text(_inputs(6))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "system")
    return repo


def test_run_grades_answers_and_writes_a_manifest_import_reads(system: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = produce_backtest(system / "run.yaml", out, RunOptions(jobs=3))
    assert (summary.done, summary.correct, summary.wrong, summary.failed) == (6, 2, 4, [])
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"q{i:02d}" for i in range(6)]  # the inputs' order
    by_id = {r["id"]: r for r in rows}
    assert by_id["q00"]["verdict"] == "correct" and by_id["q00"]["answer"] == "The capital of France is Paris."
    assert by_id["q01"]["verdict"] == "wrong" and by_id["q01"]["score"] == 0.0
    assert by_id["q01"]["metadata"]["country"] == "Spain"
    assert by_id["q01"]["metadata"]["failed_asserts"] == ["icontains: output contains 'Spain-city' (any case)"]
    trace = json.loads((out / by_id["q01"]["trace"]).read_text())
    spans = trace["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert [s["name"] for s in spans] == ["invoke_agent system", "execute_tool lookup", "chat scripted"]
    assert "Spain" in json.dumps(spans[2]["attributes"])  # the model call's request is in the trace
    bt = tmp_path / "bt"
    imported = import_backtest(out / "manifest.jsonl", bt)
    assert len(imported.imported) == 6
    assert "chat scripted" in (bt / "investigations" / "globex" / "q01" / "trace" / "tree.txt").read_text()


def test_a_changed_prompt_runs_everything_again_and_changes_the_answers(system: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = produce_backtest(system / "run.yaml", out)
    assert first.correct == 2
    again = produce_backtest(system / "run.yaml", out)
    assert (again.skipped, again.done) == (6, 0)  # nothing changed: nothing runs
    (system / "prompt.md").write_text("You answer questions about geography. Check the country.\n")
    fixed = produce_backtest(system / "run.yaml", out)
    assert (fixed.skipped, fixed.done, fixed.correct) == (0, 6, 4)  # uncommitted edits count as a new version
    assert first.code != fixed.code
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["metadata"]["code"] for r in manifest} == {fixed.code}


def test_answer_file_wins_over_stdout(system: Path, tmp_path: Path) -> None:
    rows = [{"id": "f1", "account": "a", "input": {"q": "capital of France", "answer_file": True},
             "truth": "Paris", "expected": {"answer": "from the file"}}]
    (system / "inputs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = produce_backtest(system / "run.yaml", tmp_path / "out")
    assert summary.correct == 1
    assert (tmp_path / "out" / "runs" / "f1" / "answer.txt").read_text().startswith("from the file: The capital")


def test_the_command_is_jailed_and_gets_no_secrets(system: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-runner-secret-0123456789")
    monkeypatch.setenv("AGENTBOOK_TEST_PASSED", "1")
    monkeypatch.setenv("AGENTBOOK_TEST_NOT_PASSED", "1")
    (system / "probe.py").write_text(
        "import json, os, sys\n"
        "from pathlib import Path\n"
        "out = {'key': os.environ.get('ANTHROPIC_API_KEY'), 'vars': sorted(k for k in os.environ if 'AGENTBOOK' in k)}\n"
        "try:\n    Path('system.py').write_text('owned')\n    out['repo_write'] = 'yes'\n"
        "except OSError as e:\n    out['repo_write'] = type(e).__name__\n"
        "out['truth_seen'] = 'secret-truth' in sys.stdin.read()\n"
        "os.symlink('/etc/passwd', os.environ['AGENTBOOK_TRACE_FILE'])\n"
        "print(json.dumps(out))\n")
    (system / "run.yaml").write_text(SPEC.replace("python system.py", "python probe.py"))
    rows = [{"id": "p1", "account": "a", "input": {"q": "x"}, "truth": "secret-truth", "expected": {"answer": "x"}}]
    (system / "inputs.jsonl").write_text(json.dumps(rows[0]) + "\n")
    out = tmp_path / "out"
    summary = produce_backtest(system / "run.yaml", out, RunOptions(pass_env=["AGENTBOOK_TEST_PASSED"]))
    # a trace that is a symlink is not taken: nothing of the host's /etc/passwd reaches the backtest
    assert [f["reason"] for f in summary.failed] == ["no_trace"]
    assert not (out / "runs" / "p1" / "trace.otlp.json").exists()
    seen = json.loads((out / "runs" / "p1" / "stdout.txt").read_text())
    assert seen["key"] is None and seen["truth_seen"] is False
    assert seen["repo_write"] in ("OSError", "PermissionError")
    assert "AGENTBOOK_TRACE_FILE" in seen["vars"] and "AGENTBOOK_CONFINE_ROOT" not in seen["vars"]
    assert "AGENTBOOK_TEST_PASSED" in seen["vars"] and "AGENTBOOK_TEST_NOT_PASSED" not in seen["vars"]
    assert (system / "system.py").read_text() == SYSTEM
    assert (out / "manifest.jsonl").read_text() == ""


def test_a_scripted_model_is_checked_once_per_run_not_per_investigation(system: Path, tmp_path: Path) -> None:
    """Each investigation starts with a fresh HOME, so it would check the model's script against its
    schema again (importing jsonschema); the run checks it once and shows the mark read-only."""
    (system / "probe.py").write_text(
        "import asyncio, json, os, sys\n"
        "from pathlib import Path\n"
        "from agentbook.models import ModelRequest, load_model\n"
        "async def main():\n"
        "    model = load_model(os.environ['AGENTBOOK_MODEL'])\n"
        "    reply = await model.complete(ModelRequest(messages=[{'role': 'user', 'content': json.load(sys.stdin)['q']}]))\n"
        "    await model.aclose()\n"
        "    try:\n"
        "        (Path(os.environ.get('XDG_CACHE_HOME') or '/nonexistent') / 'forged').write_text('x')\n"
        "        wrote = 'yes'\n"
        "    except OSError as e:\n"
        "        wrote = type(e).__name__\n"
        "    print(json.dumps({'answer': reply.text(), 'checked': 'jsonschema' in sys.modules, 'wrote': wrote}))\n"
        "asyncio.run(main())\n")
    (system / "run.yaml").write_text(SPEC.replace("python system.py", "python probe.py")
                                     + "model: scripted:model.script.yaml\n")
    summary = produce_backtest(system / "run.yaml", tmp_path / "out", RunOptions(jobs=2))
    assert (summary.done, summary.correct, summary.failed) == (6, 2, [])
    for n in range(6):
        seen = json.loads((tmp_path / "out" / "runs" / f"q{n:02d}" / "stdout.txt").read_text())
        assert seen["checked"] is False and seen["wrote"] in ("OSError", "PermissionError"), seen
    assert not list((tmp_path / "out").rglob("forged"))


def test_failures_are_reported_and_retried_by_the_next_run(system: Path, tmp_path: Path) -> None:
    (system / "run.yaml").write_text(SPEC.replace("python system.py", "python system.py --flaky"))
    (system / "system.py").write_text("import os, sys\n"
                                      "if os.path.exists('flag'):\n    exec(open('real.py').read())\n"
                                      "else:\n    sys.exit('boom: the system crashed')\n")
    (system / "real.py").write_text(SYSTEM)
    out = tmp_path / "out"
    summary = produce_backtest(system / "run.yaml", out, RunOptions(only=["q00", "q01"]))
    assert sorted((f["id"], f["reason"]) for f in summary.failed) == [("q00", "crashed"), ("q01", "crashed")]
    assert all("boom: the system crashed" in f["message"] for f in summary.failed)
    assert json.loads((out / "runs" / "q00" / "error.json").read_text())["reason"] == "crashed"
    (system / "flag").write_text("")
    retried = produce_backtest(system / "run.yaml", out, RunOptions(only=["q00", "q01"]))
    assert (retried.done, retried.failed) == (2, [])
    assert not (out / "runs" / "q00" / "error.json").exists()


def test_kill_9_then_rerun_continues_without_redoing_finished_ones(system: Path, tmp_path: Path) -> None:
    (system / "inputs.jsonl").write_text(_inputs(8))
    _git(system, "commit", "-qam", "more inputs")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO / "runner"), "SLOW": "0.4"}
    argv = [sys.executable, "-m", "agentbook", "backtest", "run", str(system / "run.yaml"), str(out), "--jobs", "2",
            "--json"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("runs/*/result.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.parent.name for p in out.glob("runs/*/result.json")}
    assert 2 <= len(finished) < 8
    again = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["skipped"] >= len(finished) and summary["done"] + summary["skipped"] == 8
    events = read_jsonl(out / ".agentbook" / "run.jsonl")
    runs = [e["run"] for e in events]
    second = runs[-1]
    restarted = {e["id"] for e in events if e["event"] == "start" and e["run"] == second}
    assert not restarted & finished  # nothing finished before the kill was started again
    assert Counter(e["id"] for e in events if e["event"] == "done") == Counter({f"q{i:02d}": 1 for i in range(8)})
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 8


def test_a_kill_between_the_result_and_its_log_line_is_logged_as_recovered(system: Path, tmp_path: Path) -> None:
    """The kill -9 test above can land between `result.json` and its `done` line; this makes that moment
    happen every time: the rerun skips the finished one and logs its `done` once, marked recovered."""
    out = tmp_path / "out"
    produce_backtest(system / "run.yaml", out, RunOptions(only=["q00", "q01"]))
    log = out / ".agentbook" / "run.jsonl"
    events = read_jsonl(log)
    log.write_text("".join(json.dumps(e) + "\n" for e in events if (e["event"], e["id"]) != ("done", "q01")))
    summary = produce_backtest(system / "run.yaml", out, RunOptions(only=["q00", "q01"]))
    assert (summary.skipped, summary.done) == (2, 0)
    done = [e for e in read_jsonl(log) if e["event"] == "done"]
    assert Counter(e["id"] for e in done) == Counter({"q00": 1, "q01": 1})
    recovered = [e for e in done if e.get("recovered")]
    assert [e["id"] for e in recovered] == ["q01"] and recovered[0]["verdict"] in {"correct", "wrong"}


def test_llm_rubric_asserts_use_the_grader_model(system: Path, tmp_path: Path) -> None:
    grader = tmp_path / "grader.script.yaml"
    grader.write_text('version: 1\nsessions:\n'
                      '  - name: paris\n    match: {first_user: {regex: "<output>\\\\s*The capital of France is Paris"}}\n'
                      '    turns: [{text: \'{"pass": true, "score": 0.9, "reason": "names Paris"}\'}]\n'
                      'default:\n  turns: [{text: \'{"pass": false, "score": 0.1, "reason": "wrong city"}\'}]\n')
    (system / "run.yaml").write_text("command: python system.py\ninputs: inputs.jsonl\n"
                                     "assert:\n  - {type: llm-rubric, value: 'names {{ expected.answer }}'}\n")
    summary = produce_backtest(system / "run.yaml", tmp_path / "out",
                               RunOptions(grader=f"scripted:{grader}", only=["q00", "q01"]))
    assert (summary.correct, summary.wrong) == (1, 1)
    rows = {json.loads(line)["id"]: json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()}
    assert rows["q00"]["score"] == 0.9 and rows["q01"]["score"] == 0.1
    with pytest.raises(FatalError) as err:  # refused before anything runs, not once per investigation
        produce_backtest(system / "run.yaml", tmp_path / "out2", RunOptions(only=["q00"]))
    assert "need a grader model" in err.value.message and not (tmp_path / "out2").exists()
    with pytest.raises(FatalError) as err:
        produce_backtest(system / "run.yaml", tmp_path / "out2", RunOptions(grader="scripted:missing.script.yaml"))
    assert "script file not found" in err.value.message


def test_bad_spec_and_inputs_are_refused_at_their_line(system: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (system / "run.yaml").write_text("command: python system.py\ninputs: inputs.jsonl\ntimeout: soon\n")
    with pytest.raises(FatalError) as err:
        produce_backtest(system / "run.yaml", tmp_path / "out")
    assert err.value.location == f"{system / 'run.yaml'}:3" and "timeout" in err.value.message
    (system / "run.yaml").write_text(SPEC)
    lines = _inputs(3).splitlines()
    lines[1] = lines[1].replace('"truth"', '"truthy"')
    (system / "inputs.jsonl").write_text("\n".join([*lines, "{not json"]) + "\n")
    code = main(["backtest", "run", str(system / "run.yaml"), str(tmp_path / "out")])
    said = capsys.readouterr().err
    assert code == 3
    assert f"{system / 'inputs.jsonl'}:2" in said and "'truth' must be a string" in said and "line 4: invalid JSON" in said
    assert "Traceback" not in said and not (tmp_path / "out").exists()
    (system / "inputs.jsonl").write_text(_inputs(2))
    code = main(["backtest", "run", str(system / "run.yaml"), str(system), "--json"])  # not a run folder
    assert code == 3 and "holds no backtest run" in capsys.readouterr().out


def test_cli_json_and_exit_codes(system: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["backtest", "run", str(system / "run.yaml"), str(out), "--json", "--limit", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["done"], data["todo"], data["in_manifest"], data["executor"]) == (2, 2, 2, "local")
    assert main(["backtest", "run", str(system / "run.yaml"), str(out)]) == 0
    said = capsys.readouterr().out
    assert "4 ran" in said and "2 already done" in said and "next: agentbook backtest import" in said


@pytest.mark.slow
def test_ray_executor_gives_the_same_manifest(system: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as err:  # noqa: BLE001 - Ray's own start-up (its node's RPC deadline on a loaded machine)
        pytest.skip(f"Ray could not start a local node here: {type(err).__name__}: {str(err)[:200]}")
    try:
        on_ray = produce_backtest(system / "run.yaml", tmp_path / "ray", RunOptions(executor="ray", jobs=2))
    finally:
        ray.shutdown()
    local = produce_backtest(system / "run.yaml", tmp_path / "local")
    assert on_ray.done == local.done == 6 and on_ray.executor == "ray"

    def rows(out: Path) -> list[tuple[str, str, str]]:
        return [(r["id"], r["verdict"], r["answer"]) for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())]

    assert rows(tmp_path / "ray") == rows(tmp_path / "local")


RELAYED_SYSTEM = '''\
import asyncio, json, os, sys
from agentbook.models import ModelRequest, load_model

async def main():
    case = json.load(sys.stdin)
    sys.stderr.write(json.dumps({"key": os.environ.get("ANTHROPIC_API_KEY"), "model": os.environ["AGENTBOOK_MODEL"],
                                 "compat_key": os.environ.get("AGENTBOOK_COMPAT_API_KEY")}))
    model = load_model(os.environ["AGENTBOOK_MODEL"])
    try:
        reply = await model.complete(ModelRequest(messages=[{"role": "user", "content": case["q"]}]))
    finally:
        await model.aclose()
    print(reply.text())

asyncio.run(main())
'''


def test_a_real_model_is_reached_through_the_keyless_relay(system: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-scripted model: the jail has no network, so the command reaches it through the relay's unix
    socket with a token good for this run only; the real key never enters the jail."""
    from agentbook.standin import parse_script, running

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-runner-secret-0123456789")
    monkeypatch.setenv("AGENTBOOK_COMPAT_API_KEY", "compat-secret-abcd")
    (system / "relayed.py").write_text(RELAYED_SYSTEM)
    upstream_script = parse_script(SCRIPT.replace("version: 1\n", "version: 1\nmodel: claude-haiku-4-5\n"), "up.script.yaml")
    with running(upstream_script) as upstream:
        (system / "run.yaml").write_text(SPEC.replace("python system.py", "python relayed.py")
                                         + f"model: 'compat:{upstream.base_url}#claude-haiku-4-5'\n")
        summary = produce_backtest(system / "run.yaml", tmp_path / "out", RunOptions(only=["q00", "q01"]))
        hints = {r.get("api_key_hint") for r in upstream.requests() if r["path"] == "/v1/messages"}
    assert (summary.done, summary.correct, summary.failed) == (2, 1, [])
    seen = json.loads((tmp_path / "out" / "runs" / "q00" / "stderr.txt").read_text())
    assert seen["key"].startswith("sk-agentbook-relay-") and seen["compat_key"] is None
    assert seen["model"] == "anthropic:claude-haiku-4-5"
    assert hints == {"abcd"}  # upstream got the runner's compat key, added by the relay outside the jail
    trace = (tmp_path / "out" / "runs" / "q00" / "trace.otlp.json").read_text()
    assert "chat claude-haiku-4-5" in trace and "sk-ant-runner-secret" not in trace


def test_ray_workers_get_the_relay_and_reach_a_real_model_through_it(system: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """--executor ray with a real model: each task is given the relay (socket, token) and its jailed
    command reaches the model through it, on this machine, as with the local executor."""
    ray = pytest.importorskip("ray")
    from agentbook.standin import parse_script, running

    monkeypatch.setenv("AGENTBOOK_COMPAT_API_KEY", "compat-secret-abcd")
    (system / "relayed.py").write_text(RELAYED_SYSTEM)
    upstream_script = parse_script(SCRIPT.replace("version: 1\n", "version: 1\nmodel: claude-haiku-4-5\n"), "up.script.yaml")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as err:  # noqa: BLE001 - Ray's own start-up (its node's RPC deadline on a loaded machine)
        pytest.skip(f"Ray could not start a local node here: {type(err).__name__}: {str(err)[:200]}")
    try:
        with running(upstream_script) as upstream:
            (system / "run.yaml").write_text(SPEC.replace("python system.py", "python relayed.py")
                                             + f"model: 'compat:{upstream.base_url}#claude-haiku-4-5'\n")
            summary = produce_backtest(system / "run.yaml", tmp_path / "out",
                                       RunOptions(only=["q00", "q01"], executor="ray", jobs=2))
            hints = {r.get("api_key_hint") for r in upstream.requests() if r["path"] == "/v1/messages"}
    finally:
        ray.shutdown()
    assert (summary.done, summary.correct, summary.failed, summary.executor) == (2, 1, [], "ray")
    seen = json.loads((tmp_path / "out" / "runs" / "q00" / "stderr.txt").read_text())
    assert seen["key"].startswith("sk-agentbook-relay-") and hints == {"abcd"}


def test_a_worker_without_the_relay_socket_fails_the_investigation_and_says_why(system: Path, tmp_path: Path) -> None:
    """A Ray worker on another machine gets the relay's address but not its socket (a unix socket on the
    driver): the investigation fails with the reason, and nothing runs unrelayed."""
    from agentbook.backtest.invoke import Job, Relayed, investigate
    from agentbook.backtest.runspec import load_spec, read_inputs

    spec = load_spec(system / "run.yaml")
    incident = read_inputs(spec.inputs, spec.asserts)[0]
    job = Job(incident, spec, str(tmp_path / "runs" / incident.id), "key", model="anthropic:claude-haiku-4-5",
              relay=Relayed(str(tmp_path / "elsewhere" / "relay.sock"), "sk-agentbook-relay-x", "claude-haiku-4-5"))
    outcome = investigate(job)
    assert outcome["failed"]["reason"] == "error"
    assert "relay's socket" in outcome["failed"]["message"] and "is not on this machine" in outcome["failed"]["message"]
    assert not (tmp_path / "runs" / incident.id / "stdout.txt").exists()  # the command never started


HELP_SYSTEM = '''\
import asyncio, json, os, sys
from agentbook.models import ModelRequest, load_model
content = json.load(sys.stdin)["content"]
model = load_model(os.environ["AGENTBOOK_MODEL"])
reply = asyncio.run(model.complete(ModelRequest(messages=[{"role": "user", "content": "News? " + content}])))
print("".join(block.get("text", "") for block in reply.content))
'''


def test_the_spec_and_the_model_call_the_help_shows_run(git_repo: Path, run_cli: Any) -> None:
    """`backtest run --help` named docs/BACKTEST-RUN.md, which an installed agentbook does not have:
    dogfood (kevinschaul/llm-evals' NHTSA classifier) had to guess the spec, the input lines and how the
    command calls a model so that a trace is left (a sync call got a coroutine). The help now shows them;
    its spec, written out as shown, runs a system that calls the model the way the help says."""
    help_text = run_cli("backtest", "run", "--help").out
    block = help_text.split("SPEC (YAML) in short:\n", 1)[1].split("\n  Per input", 1)[0]
    spec = "\n".join(line[4:].split("  #")[0].rstrip() for line in block.splitlines())
    assert "command: [python3, app/classify.py]" in spec
    spec = spec.replace("python3", sys.executable)  # the python agentbook is installed in, as PATH would give it
    (git_repo / "bt").mkdir()
    (git_repo / "bt" / "run.yaml").write_text(spec + "\n")
    (git_repo / "app").mkdir()
    (git_repo / "app" / "classify.py").write_text(HELP_SYSTEM)
    (git_repo / "evals").mkdir()
    (git_repo / "evals" / "sut.script.yaml").write_text(
        "version: 1\nsessions:\n  - name: ev\n    match: {first_user: battery}\n    turns: [{text: 'true'}]\n"
        "default: {turns: [{text: 'false'}]}\n")
    lines = [{"id": "n-1", "account": "acme", "input": {"content": "battery fire"}, "truth": "news",
              "expected": {"label": "true"}},
             {"id": "n-2", "account": "acme", "input": {"content": "a loose trim"}, "truth": "not news",
              "expected": {"label": "true"}}]
    (git_repo / "bt" / "inputs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    res = run_cli("backtest", "run", git_repo / "bt" / "run.yaml", git_repo / "out", "--json")
    assert res.code == 0, res.out + res.err
    rows = {r["id"]: r for r in read_jsonl(git_repo / "out" / "manifest.jsonl")}
    assert (rows["n-1"]["verdict"], rows["n-2"]["verdict"]) == ("correct", "wrong")
    assert (git_repo / "out" / rows["n-1"]["trace"]).is_file()
