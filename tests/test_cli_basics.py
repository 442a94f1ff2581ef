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
