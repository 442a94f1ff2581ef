from __future__ import annotations

import yaml

from agentbook.errors import FatalError, invalid_yaml
from agentbook.fsutil import append_line, atomic_write_text, read_jsonl


def test_version(run_cli):
    r = run_cli("--version")
    assert r.code == 0
    assert "agentbook" in r.out


def test_unknown_command_is_usage_error(run_cli):
    r = run_cli("no-such-command")
    assert r.code == 2
    assert "No such command" in r.err


def test_fatal_error_renders_location_and_hint():
    err = FatalError("duplicate key 'name'", location="skills/x/SKILL.md:3:1", hint="remove one")
    assert str(err) == "skills/x/SKILL.md:3:1: duplicate key 'name' (remove one)"
    assert err.exit_code == 3


def test_invalid_yaml_points_at_the_line_and_column():
    try:
        yaml.safe_load("name: x\ntags: [a, b\nmore: y\n")
    except yaml.YAMLError as err:
        parsed = invalid_yaml(err, "meta.yaml", what="meta", line_offset=1)
    # the problem is on the text's line 3 (`more:` inside the open list), line 4 of the file
    assert str(parsed) == "meta.yaml:4:5: invalid YAML in meta: expected ',' or ']', but got ':'"
    unmarked = invalid_yaml(yaml.YAMLError("bad\nsecond line"), "x.yaml")
    assert str(unmarked) == "x.yaml: invalid YAML: bad"


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "a" / "f.txt"
    atomic_write_text(p, "old")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert [x.name for x in p.parent.iterdir()] == ["f.txt"]


def test_read_jsonl_skips_torn_last_line(tmp_path):
    p = tmp_path / "t.jsonl"
    append_line(p, '{"a": 1}')
    with open(p, "a") as fh:
        fh.write('{"b": ')
    assert read_jsonl(p) == [{"a": 1}]


def test_errors_honour_json(run_cli, tmp_path):
    """With --json an error is one JSON object on stdout with the same exit code (and text on stderr)."""
    import json

    missing = tmp_path / "nope.yaml"
    r = run_cli("eval", "list", missing, "--json")
    assert r.code == 3 and "agentbook: error:" in r.err
    data = json.loads(r.out)
    assert data["exit_code"] == 3 and data["type"] == "FatalError" and str(missing) in data["error"] + str(data["location"])
    usage = run_cli("eval", "run", "--json")  # the SUITE argument is missing
    assert usage.code == 2
    assert json.loads(usage.out) == {"error": "Missing argument 'SUITE'.", "location": None, "hint": None,
                                     "exit_code": 2, "type": "UsageError"}
    plain = run_cli("eval", "list", missing)
    assert plain.code == 3 and plain.out == ""


def test_help_names_the_outcome_codes_there_are(run_cli):
    from agentbook.outcome import EXIT_CODES

    text = " ".join(run_cli("--help").out.split())
    codes = sorted(c for c in EXIT_CODES.values() if c)
    assert f"{codes[0]}-{codes[-1]} typed run outcomes" in text
    for kind, code in EXIT_CODES.items():
        if code:
            assert f"{code} {kind.value.replace('_', ' ').replace('api', 'API')}" in text
