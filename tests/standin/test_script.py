"""Script selection without a server: sessions, turns, placeholders, max_tokens, faults' windows."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentbook.errors import FatalError
from agentbook.standin import parse_script
from agentbook.standin.script import ScriptExhausted
from agentbook.standin.server import _active_fault
from agentbook.standin.wire import within_max_tokens

SCRIPT = parse_script(textwrap.dedent("""
    version: 1
    defaults: {latency_ms: 50, fault: {kind: status, status: 429, attempts: 1}}
    sessions:
      - name: by-model
        match: {model: {regex: "^haiku"}}
        turns: [{text: "small model"}]
      - name: inv
        match:
          first_user: {regex: "inv-(?P<inv>\\\\d+)"}
          system: {contains: "incident", regex: "team (?P<team>\\\\w+)"}
        vars: {team: nobody, extra: "x"}
        defaults: {latency_ms: 10}
        after_last: repeat_last
        turns:
          - tool_use: {name: grep, input: {pattern: "{inv} {team} {extra} {unknown} {\\"json\\": 1}"}}
            fault: null
          - text: "done with {inv} for {team} at turn {turn} in {session}"
            latency_ms: 0
    default:
      turns: [{text: "fallback"}]
"""), "s.script.yaml")


def request(first: str, system: str = "", model: str = "claude", assistants: int = 0) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": first}]}]
    for _ in range(assistants):
        messages += [{"role": "assistant", "content": "a"}, {"role": "user", "content": "u"}]
    return {"model": model, "system": system, "messages": messages}


def test_regex_groups_and_vars_fill_placeholders_and_unknown_braces_stay() -> None:
    turn = SCRIPT.select(request("look at inv-42", "incident assistant for team db"))
    assert (turn.session, turn.index, turn.stop_reason) == ("inv", 0, "tool_use")
    assert turn.blocks == [{"type": "tool_use", "id": "toolu_inv_001_0", "name": "grep",
                            "input": {"pattern": '42 db x {unknown} {"json": 1}'}}]
    assert turn.captures == {"inv": "42", "team": "db"}


def test_turn_index_is_the_number_of_assistant_messages() -> None:
    turn = SCRIPT.select(request("inv-7", "incident, team web", assistants=1))
    assert turn.blocks == [{"type": "text", "text": "done with 7 for web at turn 2 in inv"}]
    # repeat_last: past the end, the last turn again (with its own turn number)
    again = SCRIPT.select(request("inv-7", "incident, team web", assistants=5))
    assert again.blocks == [{"type": "text", "text": "done with 7 for web at turn 6 in inv"}]


def test_all_conditions_must_hold_else_the_default() -> None:
    assert SCRIPT.select(request("inv-7", "no team here")).session == "default"
    assert SCRIPT.select(request("inv-7", "team x but not the other word")).session == "default"
    assert SCRIPT.select(request("anything", model="haiku-5")).session == "by-model"


def test_default_past_the_end_is_exhausted() -> None:
    with pytest.raises(ScriptExhausted, match="session 'default' has 1 turns; this request asks for turn 3"):
        SCRIPT.select(request("hello", assistants=2))


def test_latency_and_fault_inheritance() -> None:
    first = SCRIPT.select(request("inv-1", "incident team a"))
    second = SCRIPT.select(request("inv-1", "incident team a", assistants=1))
    default = SCRIPT.select(request("hi"))
    assert (first.latency_ms, second.latency_ms, default.latency_ms) == (10, 0, 50)
    assert first.faults == []  # `fault: null` switches the inherited default off
    assert [f.status for f in second.faults] == [429] and [f.status for f in default.faults] == [429]


def test_attempts_window_and_probability_draws() -> None:
    (fault,) = SCRIPT.select(request("hi")).faults
    assert _active_fault([fault], "key", 1) is fault and _active_fault([fault], "key", 2) is None
    chance = parse_script("version: 1\ndefault:\n  turns:\n    - text: x\n      fault: {kind: status, "
                          "probability: 0.3, seed: 5}\n").select(request("hi")).faults
    fired = [_active_fault(chance, f"k{n}", 1) is not None for n in range(2000)]
    assert fired == [_active_fault(chance, f"k{n}", 1) is not None for n in range(2000)]  # deterministic
    assert 0.25 < sum(fired) / len(fired) < 0.35


def test_max_tokens_cuts_text_and_drops_tool_use() -> None:
    blocks = [{"type": "text", "text": "a" * 40}, {"type": "tool_use", "id": "t", "name": "n", "input": {}}]
    assert within_max_tokens(blocks, 100) == (blocks, False)
    assert within_max_tokens(blocks, 10) == ([blocks[0]], True)  # text exactly fits, the tool does not
    assert within_max_tokens(blocks, 3) == ([{"type": "text", "text": "a" * 12}], True)


@pytest.mark.parametrize(("text", "location", "message"), [
    ("version: 2\ndefault: {turns: [{text: a}]}\n", "s.yaml:1:1", "version: 1 was expected"),
    ("version: 1\n", "s.yaml:1:1", "(top level): a script needs `sessions:`, `default:` or both"),
    ("version: 1\ndefault: {turns: []}\n", "s.yaml:2:11", "default/turns: [] should be non-empty"),
    ("version: 1\ndefault:\n  turns:\n    - {text: a, blocks: [{text: b}]}\n", "s.yaml:4:7",
     "should not be valid under"),
    ("version: 1\nsessions:\n  - name: a\n    match: {first_user: {regex: '('}}\n    turns: [{text: a}]\n",
     "s.yaml:4:26", "bad regex for match.first_user: missing ), unterminated subpattern at position 0"),
    ("version: 1\ndefault: [\n", "s.yaml:3:1", "invalid YAML:"),
])
def test_bad_scripts_name_the_place(text: str, location: str, message: str) -> None:
    with pytest.raises(FatalError) as info:
        parse_script(text, "s.yaml")
    assert info.value.location == location
    assert message in info.value.message


def test_the_readme_example_is_a_valid_script() -> None:
    readme = Path(__file__).resolve().parents[2] / "runner" / "agentbook" / "standin" / "README.md"
    (example,) = re.findall(r"```yaml\n(.*?)```", readme.read_text(), re.DOTALL)
    script = parse_script(example, str(readme))
    turn = script.select(request("look at investigation inv-77", "You are an incident assistant"))
    assert turn.blocks[1] == {"type": "text", "text": "Checking inv-77."}


def test_one_script_serves_a_thousand_investigations() -> None:
    answers = {SCRIPT.select(request(f"look at inv-{n}", "incident, team t", assistants=1)).blocks[0]["text"]
               for n in range(1000)}
    assert len(answers) == 1000
    assert "done with 999 for t at turn 2 in inv" in answers
