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
    res = run_cli("eval", "run", str(suite), "--model", f"scripted:{tmp_path / 's.script.yaml'}", "--json", "--full")
    # the case asserts `equals: CHAT SENT`: the stand-in answers that only to the system + user messages
    assert res.code == 0, res.out
    assert json.loads(res.out)["cases"][0]["verdict"] == "pass"


def test_inline_prompts_stay_text(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """A sentence ending in a word with a dot, or a path inside a sentence, is not a file."""
    (tmp_path / "s.script.yaml").write_text(SCRIPT)
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts:\n  - 'Read prompts/tutor.txt then answer: {{question}}'\n"
                     "tests:\n  - id: one\n    vars: {question: hi}\n    assert: [{type: equals, value: PATH SENT}]\n")
    res = run_cli("eval", "run", str(suite), "--model", f"scripted:{tmp_path / 's.script.yaml'}", "--json", "--full")
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


def test_one_script_is_model_and_grader_as_the_standin_help_says(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """fix-prompt's gates run `baseline save SUITE --model EVAL_MODEL` with no --grader, so on a suite of
    llm-rubric cases (the tutor's 24) the eval model grades too; the help must say what a grader is asked."""
    help_text = run_cli("standin", "--help").out
    start = help_text.split('starts "', 1)[1].split('"', 1)[0]
    asked = " ".join(start.split())
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "tutor.txt").write_text(YAML_CHAT)
    (tmp_path / "s.script.yaml").write_text(
        "version: 1\nsessions:\n"
        f"  - name: grader\n    match: {{first_user: {json.dumps(asked)}}}\n"
        "    turns: [{text: '{\"pass\": true, \"score\": 1, \"reason\": \"gives a hint\"}'}]\n"
        "  - name: tutor\n    match: {system: teaching assistant}\n    turns: [{text: What would you compare first?}]\n")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts: [prompts/tutor.txt]\ntests:\n  - id: hint\n    vars: {question: max of a list}\n"
                     "    assert: [{type: llm-rubric, value: Offers a hint instead of the answer}]\n")
    res = run_cli("eval", "run", str(suite), "--model", f"scripted:{tmp_path / 's.script.yaml'}", "--json", "--full")
    assert res.code == 0, res.out
    assert json.loads(res.out)["cases"][0]["attempts"][0]["asserts"][0]["reason"] == "gives a hint"


def test_an_edited_standin_is_not_answered_from_the_cache(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """Adding a grader session to the stand-in, then `baseline save`, replayed the old script's cached
    prose as the verdict ('48 cached responses', 24 errors) until --no-cache: the script is the model."""
    (tmp_path / "p.txt").write_text("Q: {{q}}")
    script = tmp_path / "s.script.yaml"
    script.write_text("version: 1\ndefault: {turns: [{text: first answer}]}\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text("prompts: [file://p.txt]\ntests:\n  - id: one\n    vars: {q: x}\n"
                     "    assert: [{type: equals, value: second answer}]\n")
    first = run_cli("eval", "run", str(suite), "--model", f"scripted:{script}")
    assert first.code == 1 and "(0 cached responses)" in first.out
    again = run_cli("eval", "run", str(suite), "--model", f"scripted:{script}")
    assert again.code == 1 and "(1 cached responses)" in again.out
    script.write_text("version: 1\ndefault: {turns: [{text: second answer}]}\n")
    edited = run_cli("eval", "run", str(suite), "--model", f"scripted:{script}")
    assert edited.code == 0 and "(0 cached responses)" in edited.out


def test_eval_prompts_names_a_bare_path_as_the_file_to_edit(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """`eval prompts` called the tutor's `prompts/pytutor-v1.txt` inline and said to edit it in the suite."""
    suite = _suite(tmp_path, '"prompts/tutor.txt"', "prompts/tutor.txt", YAML_CHAT)
    res = run_cli("eval", "prompts", str(suite), "--json")
    assert res.code == 0, res.err
    prompt = json.loads(res.out)["prompts"][0]
    assert (prompt["source"], prompt["location"]) == ("file", f"{tmp_path / 'prompts/tutor.txt'} (named at {suite}:2)")
    assert "inline prompts are edited" not in run_cli("eval", "prompts", str(suite)).out


def test_eval_prompts_case_shows_what_the_model_is_sent(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """Writing the tutor's stand-in took a probe script to learn that the path itself was sent: the
    request a case makes (what a session's `system:` / `first_user:` is matched against) is now shown."""
    suite = _suite(tmp_path, '"prompts/tutor.txt"', "prompts/tutor.txt", YAML_CHAT)
    res = run_cli("eval", "prompts", str(suite), "--case", "max-of-list")
    assert res.code == 0, res.err
    assert res.out == ("# case max-of-list, prompt file://prompts/tutor.txt: what the model is sent\n"
                       "system:\n    You are a teaching assistant in an intro python course.\n"
                       "user:\n    Write a function that returns the largest number\n")
    data = json.loads(run_cli("eval", "prompts", str(suite), "--case", "max-of-list", "--json").out)
    assert data["requests"] == [{"prompt": "file://prompts/tutor.txt",
                                 "system": "You are a teaching assistant in an intro python course.\n",
                                 "messages": [{"role": "user",
                                               "content": "Write a function that returns the largest number"}],
                                 "literal_braces": []}]
    missing = run_cli("eval", "prompts", str(suite), "--case", "nope")
    assert missing.code == 3


@pytest.mark.parametrize(("ref", "language"), [("file://./test/prompts.mjs:documentation_rag", "JavaScript"),
                                               ("file://prompts.py:create_prompt", "Python"),
                                               ("file://build.ts", "JavaScript")])
def test_a_prompt_function_is_named_as_one(run_cli: Callable[..., Any], tmp_path: Path, ref: str,
                                           language: str) -> None:
    """promptfoo runs `file://x.mjs:fn` to build each prompt (1712n/wall-e does); read as a file, the error was
    'No such file or directory' for a file that is there, the `:fn` taken as part of its name."""
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "prompts.mjs").write_text("export function documentation_rag() { return 'x'; }\n")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text(f"prompts:\n  - id: {ref}\n    label: rag\nproviders: [echo]\ntests:\n- vars: {{q: 1}}\n")
    res = run_cli("eval", "prompts", suite)
    assert res.code == 3 and f"is a {language} prompt function" in res.err and "No such file" not in res.err
    assert "agentbook eval does not run" in res.err and "{{var}}" in res.err
