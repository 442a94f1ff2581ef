"""A prompt that writes a case variable as `{text}` (Python's format) sends it as written: promptfoo's templates
are Nunjucks, so every case is sent the same text and `vars.text` never reaches the model. A real suite
(ChunkyTortoise/docextract: `prompts/extraction/*.txt` with `{doc_type}` and `{text}`, 200 cases setting both)
did this; `eval prompts`, `eval prompts --case` and `eval run` now say so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentbook.evals.render import Prompt, literal_braces


def _suite(tmp_path: Path) -> Path:
    (tmp_path / "p.txt").write_text('Extract this {doc_type}: {text}\nReturn {"total": 1} for {{ keep }}.\n'
                                    "Unused: {other}\n")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts: [file://p.txt]\nproviders: [echo]\n"
                     "tests:\n- id: one\n  vars: {doc_type: invoice, text: INV-1, keep: x}\n")
    return suite


def test_eval_prompts_and_run_name_the_variables_sent_as_text(run_cli: Callable[..., Any],
                                                                   tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    listed = json.loads(run_cli("eval", "prompts", suite, "--json").out)["prompts"][0]
    assert listed["literal_braces"] == ["doc_type", "text", "other"]  # not a JSON example, not {{ keep }}
    assert "note: {doc_type}, {text}, {other} are sent as written" in run_cli("eval", "prompts", suite).out
    shown = run_cli("eval", "prompts", suite, "--case", "one")
    assert "Extract this {doc_type}: {text}" in shown.out  # what the model gets, faithfully
    assert "note: {doc_type}, {text} are sent as written" in shown.out  # only the case's own vars
    request = json.loads(run_cli("eval", "prompts", suite, "--case", "one", "--json").out)["requests"][0]
    assert request["literal_braces"] == ["doc_type", "text"]
    script = tmp_path / "sut.script.yaml"
    script.write_text("version: 1\nmodel: sut\ndefault:\n  turns: [{text: ok}]\n")
    run = run_cli("eval", "run", suite, "--model", f"scripted:{script}")
    assert "note: prompt file://p.txt: {doc_type}, {text} are sent as written" in run.out
    report = json.loads(run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--json", "--full").out)
    assert report["literal_braces"] == {"file://p.txt": ["doc_type", "text"]}
    (tmp_path / "q.txt").write_text("Read {{doc_type}}: {{text}}")
    suite.write_text(suite.read_text().replace("prompts: [file://p.txt]", "prompts: [file://p.txt, file://q.txt]"))
    only_q = json.loads(run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--prompt", "file://q.txt",
                                "--json", "--full").out)
    assert only_q["literal_braces"] == {}  # the prompt that ran reads its variables
    # not a lint: validate --strict, the gate of add-eval and fix-prompt, passes before the prompt is fixed
    assert run_cli("validate", "--strict", suite).code == 0


def test_a_template_that_reads_its_variables_has_none() -> None:
    assert literal_braces(Prompt("p", None, "{{ text }} {%- if x %}{x}{% endif %} {{x}}")) == []
    chat = [{"role": "system", "content": "Be {tone}."}, {"role": "user", "content": "{{ q }}"}]
    assert literal_braces(Prompt("c", chat)) == ["tone"]
