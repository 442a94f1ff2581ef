"""Round-trip fidelity of the byte splice on the styles people write: a no-op edit leaves the file
byte-identical, a one-value edit changes exactly one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentbook.evals.store import open_suite

STYLES = {
    "promptfoo docs (2/4/2)": """tests:
  - id: a
    vars:
      q: 'single quoted'
    assert:
      - type: equals
        value: "double quoted"   # why
  - id: b
    vars: {q: flow, n: 3}
    assert:
      - type: contains
        value: plain
""",
    "indentless lists (2/2/0)": """description: x
tests:
- id: a
  vars:
    q: one
  assert:
  - type: equals
    value: one
- id: b
  assert:
  - type: contains
    value: two
""",
    "four spaces": """tests:
    -   id: a
        vars:
            q: one
        assert:
            -   type: equals
                value: one
    -   id: b
        assert:
            -   type: contains
                value: two
""",
    "block scalars and comments": """# header
tests:
  # first
  - id: a
    description: >
      folded text
      over two lines
    vars:
      logs: |-
        line 1

        line 3
    assert:
      - type: equals   # trailing comment
        value: 'it''s'
  # second

  - id: b
    vars:
      q: plain
    assert:
      - {type: icontains, value: flow item}
      - type: regex
        value: '^\\d+$'
defaultTest:
  assert: []
""",
    "unicode": """tests:
  - id: cafe
    vars: {q: "naïve café"}
    assert:
      - type: contains
        value: café
  - id: tokyo
    assert:
      - type: contains
        value: 東京
""",
}


@pytest.mark.parametrize("name", list(STYLES))
def test_noop_edit_is_byte_identical_and_one_value_is_one_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / "suite.yaml"
    text = STYLES[name]
    path.write_text(text, encoding="utf-8")
    suite = open_suite(path)
    for info in suite.list_cases():
        case = suite.get_case(info.id)
        result = suite.edit_case(info.id, [("assert[0].type", case["assert"][0]["type"])])
        assert result.fast
        assert path.read_text(encoding="utf-8") == text, info.id
    last = suite.list_cases()[-1].id
    suite.edit_case(last, [("assert[0].value", "changed")])
    after = path.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(text.splitlines(), after) if a != b]
    assert len(after) == len(text.splitlines()) and len(changed) == 1, changed
    assert "changed" in changed[0][1]


def test_multiline_plain_scalars_are_reflowed_only_inside_the_edited_case(tmp_path: Path) -> None:
    """ruamel writes a multi-line plain scalar on one line; the splice keeps that inside the case."""
    path = tmp_path / "suite.yaml"
    text = ("tests:\n  - id: a\n    vars:\n      q: multi\n        line plain\n  - id: b\n    vars:\n"
            "      q: other\n        plain\n")
    path.write_text(text)
    open_suite(path).edit_case("a", [("vars.q", "multi line plain")])
    assert path.read_text() == ("tests:\n  - id: a\n    vars:\n      q: multi line plain\n  - id: b\n"
                                "    vars:\n      q: other\n        plain\n")
