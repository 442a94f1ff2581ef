"""The one-case suite and the scripted model under test that the sandbox tests of eval gates share
(`test_sandbox_eval_cache.py`, `test_sandbox_gate_state.py`).

The model answers `right` to a prompt starting "Say the word" and `wrong` to one starting "Mumble", so the
case (`says-right`: the answer equals `right`) passes or fails with the prompt alone.
Imported by the tests beside it (pytest runs in importlib mode, so they add this folder to sys.path).
"""

from __future__ import annotations

GOOD_PROMPT = "Say the word: {{word}}"
BAD_PROMPT = "Mumble: {{word}}"

SUT = """version: 1
model: scripted
sessions:
  - name: good
    match: {first_user: "Say the word"}
    after_last: repeat_last
    turns: [{text: right}]
  - name: bad
    match: {first_user: "Mumble"}
    after_last: repeat_last
    turns: [{text: wrong}]
"""


def one_case_suite(prompt: str) -> str:
    """The suite (beside `sut.script.yaml`, its provider) with `prompt` written inline or as a `file://` path."""
    return f"""prompts: ["{prompt}"]
providers: ["scripted:sut.script.yaml"]
tests:
  - id: says-right
    vars: {{word: right}}
    assert:
      - {{type: equals, value: right}}
"""
