"""Prompts as promptfoo reads them from a real project's files (dogfood on
CharlieChenyuZhang/mit-media-lab-pytutor-promptfoo @ 1003b7c): a bare `prompts/x.txt` is the file, not the
text "prompts/x.txt", and a `.txt` prompt whose text is a `- role:` YAML list (or a JSON list) is a chat."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SCRIPT = """version: 1
model: stand-in
sessions:
  - name: sent-the-path
    match: {first_user: "prompts/tutor.txt"}
    turns: [{text: "PATH SENT"}]
  - name: chat
    match: {system: "teaching assistant", first_user: "largest number"}
    turns: [{text: "CHAT SENT"}]
default: {turns: [{text: "OTHER"}]}
"""
YAML_CHAT = """- role: system
  content: |
    You are a teaching assistant in an intro python course.
- role: user
  content: '{{ question }}'
"""
JSON_CHAT = json.dumps([{"role": "system", "content": "You are a teaching assistant."},
                        {"role": "user", "content": "{{ question }}"}])


def _suite(tmp_path: Path, prompt_entry: str, prompt_file: str, text: str) -> Path:
    (tmp_path / "prompts").mkdir()
    (tmp_path / prompt_file).write_text(text)
    (tmp_path / "s.script.yaml").write_text(SCRIPT)
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text(f"prompts:\n  - {prompt_entry}\nproviders: [openai:gpt-4o-mini]\ntests:\n"
                     "  - id: max-of-list\n    vars: {question: Write a function that returns the largest number}\n"
                     "    assert: [{type: equals, value: CHAT SENT}]\n")
    return suite


@pytest.mark.parametrize(("entry", "file", "text"), [
    ('"prompts/tutor.txt"', "prompts/tutor.txt", YAML_CHAT),
    ("file://prompts/tutor.txt", "prompts/tutor.txt", YAML_CHAT),
    ("prompts/tutor.json.txt", "prompts/tutor.json.txt", JSON_CHAT),
])
def test_a_bare_path_is_the_file_and_a_role_list_is_a_chat(run_cli: Callable[..., Any], tmp_path: Path,
                                                           entry: str, file: str, text: str) -> None:
    suite = _suite(tmp_path, entry, file, text)
    res = run_cli("eval", "run", str(suite), "--model", f"scripted:{tmp_path / 's.script.yaml'}", "--json")
    # the case asserts `equals: CHAT SENT`: the stand-in answers that only to the system + user messages
    assert res.code == 0, res.out
    assert json.loads(res.out)["cases"][0]["verdict"] == "pass"


def test_inline_prompts_stay_text(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """A sentence ending in a word with a dot, or a path inside a sentence, is not a file."""
    (tmp_path / "s.script.yaml").write_text(SCRIPT)
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts:\n  - 'Read prompts/tutor.txt then answer: {{question}}'\n"
                     "tests:\n  - id: one\n    vars: {question: hi}\n    assert: [{type: equals, value: PATH SENT}]\n")
    res = run_cli("eval", "run", str(suite), "--model", f"scripted:{tmp_path / 's.script.yaml'}", "--json")
    assert res.code == 0, res.out


def test_a_bare_path_to_no_file_names_it(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts: [prompts/missing.txt]\ntests:\n  - vars: {q: x}\n")
    res = run_cli("eval", "run", str(suite), "--model", "scripted:nowhere.script.yaml")
    assert res.code == 3
    assert "prompts/missing.txt" in res.err


def test_a_role_list_that_is_not_a_chat_is_an_error(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "bad.txt").write_text("- role: system\n- just text\n")
    (tmp_path / "s.script.yaml").write_text(SCRIPT)
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts: [prompts/bad.txt]\ntests:\n  - id: one\n    vars: {q: x}\n")
    res = run_cli("eval", "run", str(suite), "--model", f"scripted:{tmp_path / 's.script.yaml'}")
    assert res.code == 2, res.out + res.err
    assert "a chat prompt must be a list of {role, content}" in res.out + res.err


def test_an_openai_provider_points_at_the_stand_in(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """The project's model is `openai:gpt-4o-mini`; the way to run its suite offline must be named."""
    suite = _suite(tmp_path, '"prompts/tutor.txt"', "prompts/tutor.txt", YAML_CHAT)
    res = run_cli("eval", "run", str(suite))
    assert res.code == 3
    assert res.err == ("agentbook: error: provider 'openai:gpt-4o-mini' is not one agentbook can call (pass --model "
                       "anthropic:<model>, compat:<url>#<model> (a Messages API server) or scripted:<file> (a "
                       "stand-in replaying this model's answers: `agentbook standin --help`))\n")
