"""`eval capture` from a real exported trace folder and from the OTLP file it came from."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.evals.capture import extract_vars
from agentbook.evals.store import open_suite

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "incident-assistant"
TRACE = EXAMPLE / "traces" / "inv-0142-checkout-errors.otlp.json"
SPAN_ID = "bbda7d61bd6d19f8"
ALERT = ('{"alertname": "ErrorRateHigh", "severity": "critical", "service_name": "checkout", '
         '"summary": "5xx ratio 7.9% over 5m (threshold 2%)"}')
EVIDENCE = '{"status": "success", "data": {"resultType": "streams", "result": []}}'


@pytest.fixture
def root_cause_suite(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE / "prompts" / "root-cause.md", tmp_path / "root-cause.md")
    (tmp_path / "suite.yaml").write_text("prompts:\n  - file://root-cause.md\ntests:\n"
                                         "  - id: seed\n    vars: {alert: a, evidence: b}\n")
    return tmp_path / "suite.yaml"


def test_capture_from_an_exported_span_folder(run_cli: Callable[..., Any], root_cause_suite: Path,
                                              tmp_path: Path) -> None:
    out = tmp_path / "trace"
    exported = run_cli("trace", "export", str(TRACE), str(out))
    assert exported.code == 0, exported.err
    span = next(out.glob("*/*-llm-chat-root-cause"))
    res = run_cli("eval", "capture", str(root_cause_suite), "--span", str(span), "--id", "inv-0142",
                  "--sidecar-over", "100", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["matched_template"] is True
    assert report["sidecars"] == {"alert": "sidecars/inv-0142.alert.txt"}
    assert (tmp_path / "sidecars" / "inv-0142.alert.txt").read_text() == ALERT
    case = open_suite(root_cause_suite).get_case("inv-0142")
    assert case["vars"] == {"alert": "file://sidecars/inv-0142.alert.txt", "evidence": EVIDENCE}
    assert case["metadata"] == {"source": "trace", "trace_id": "dfe018d19e81c72bceb82b5843503d1e",
                                "span_id": SPAN_ID, "span": "chat root-cause", "model": "claude-haiku-4-5"}
    human = run_cli("eval", "capture", str(root_cause_suite), "--span", str(span), "--id", "again",
                    "--sidecar-over", "100")
    assert human.out.splitlines()[1:3] == ["  vars.alert: 134 bytes -> sidecars/again.alert.txt",
                                           "  vars.evidence: 70 bytes"]


def test_capture_from_otlp_by_span_id(run_cli: Callable[..., Any], root_cause_suite: Path) -> None:
    res = run_cli("eval", "capture", str(root_cause_suite), "--otlp", str(TRACE), "--span-id", SPAN_ID, "--json")
    assert res.code == 0, res.err
    case = open_suite(root_cause_suite).get_case(f"capture-{SPAN_ID}")
    assert case["vars"] == {"alert": ALERT, "evidence": EVIDENCE}


@pytest.mark.parametrize("args,code,message", [
    (["--otlp", str(TRACE), "--span-id", "nope"], 3, f"no span 'nope' in {TRACE}"),
    (["--otlp", str(TRACE)], 2, "--otlp needs --span-id"),
    ([], 2, "give either --span DIR or --otlp FILE --span-id ID"),
])
def test_capture_bad_input(run_cli: Callable[..., Any], root_cause_suite: Path, args: list[str], code: int,
                           message: str) -> None:
    before = root_cause_suite.read_text()
    res = run_cli("eval", "capture", str(root_cause_suite), *args)
    assert res.code == code
    assert res.err.startswith(f"agentbook: error: {message}")
    assert root_cause_suite.read_text() == before


def test_capture_refuses_a_span_that_is_not_an_llm_call(run_cli: Callable[..., Any], root_cause_suite: Path,
                                                        tmp_path: Path) -> None:
    run_cli("trace", "export", str(TRACE), str(tmp_path / "trace"))
    agent = next((tmp_path / "trace").glob("001-agent-*"))
    res = run_cli("eval", "capture", str(root_cause_suite), "--span", str(agent))
    assert res.code == 3
    first_llm = min(p for p in agent.glob("**/*-llm-*") if (p / "span.yaml").is_file())
    assert res.err.strip() == (f"agentbook: error: {agent / 'span.yaml'}: span 'invoke_agent incident-assistant'"
                               f" is of kind agent; only llm spans become cases (capture an llm span under it, "
                               f"such as {first_llm})")


def test_a_trace_without_model_calls_says_how_to_write_the_case(run_cli: Callable[..., Any], root_cause_suite: Path,
                                                                tmp_path: Path) -> None:
    """kevinschaul/llm-evals' Inspect logs keep each sample's input, answer and score but no model events:
    the export has one agent span per sample, and capture refused it with nowhere to go."""
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "sample 442", "kind": 1,
            "startTimeUnixNano": "1", "endTimeUnixNano": "2",
            "attributes": [{"key": "input.value", "value": {"stringValue": "Low IQ Kamala"}},
                           {"key": "output.value", "value": {"stringValue": "False"}},
                           {"key": "openinference.span.kind", "value": {"stringValue": "AGENT"}}]}
    trace = tmp_path / "sample.otlp.json"
    trace.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    assert run_cli("trace", "export", str(trace), str(tmp_path / "out")).code == 0
    (agent,) = (tmp_path / "out").glob("001-*")
    res = run_cli("eval", "capture", str(root_cause_suite), "--span", str(agent))
    assert (res.code, res.err) == (3, (
        f"agentbook: error: {agent / 'span.yaml'}: span 'sample 442' is of kind agent; only llm spans become cases "
        "(this trace recorded no model call (no llm span in its export): write the case from the span's input.md "
        "and output.md into a file and `agentbook eval add SUITE --file FILE`)\n"))


@pytest.mark.parametrize("template,text,expected", [
    ("Q: {{q}}\nLogs:\n{{ logs }}\nEnd.", "Q: why\nLogs:\na\nb\nEnd.", {"q": "why", "logs": "a\nb"}),
    ("Preamble.\n\nQ: {{q}}\n\nAnswer briefly.", "Q: why?", {"q": "why?"}),
    ("{{a}} and {{a}}", "x and x", {"a": "x"}),
    ("{{a}} and {{a}}", "x and y", None),
    ("Q: {{q}}", "nothing alike", None),
    # a placeholder after a blank line: the paragraph before it must still be found in the message
    ("Intro.\n\nHere is the alert:\n\n{{alert}}\n\nWrite it.", "Here is the alert:\n\n{\"a\": 1}", {"alert": '{"a": 1}'}),
    ("Intro.\n\nHere is the alert:\n\n{{alert}}\n\nWrite it.", "You write LogQL.\n\nRules: none", None),
    ("{{a}}\n\nEnd.", "whatever it was", None),
])
def test_extract_vars(template: str, text: str, expected: dict[str, str] | None) -> None:
    assert extract_vars(template, text) == expected


def test_capture_into_a_suite_whose_txt_prompt_is_a_yaml_chat(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """The tutor's layout (CharlieChenyuZhang/mit-media-lab-pytutor-promptfoo): `prompts: [prompts/x.txt]`,
    the file a `- role:` list. capture put the whole message in vars.input, not matching the template."""
    body = (EXAMPLE / "prompts" / "root-cause.md").read_text()
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "root-cause.txt").write_text(
        "- role: user\n  content: |\n" + "".join(f"    {line}" if line.strip() else line
                                                 for line in body.splitlines(keepends=True)))
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text('prompts: ["prompts/root-cause.txt"]\ntests:\n  - id: seed\n    vars: {alert: a, evidence: b}\n')
    res = run_cli("eval", "capture", str(suite), "--otlp", str(TRACE), "--span-id", SPAN_ID, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["matched_template"] is True
    assert open_suite(suite).get_case(f"capture-{SPAN_ID}")["vars"] == {"alert": ALERT, "evidence": EVIDENCE}
