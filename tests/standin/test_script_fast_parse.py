"""Valid scripts are read with libyaml; the result is the same Script the located (ruamel) reader
builds, and anything invalid is still reported by the located reader at its file:line:col."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agentbook.errors import FatalError
from agentbook.standin.script import Script, _parse_located, parse_script

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in [*REPO.glob("examples/**/*.script.yaml"), *REPO.glob("tests/**/*.script.yaml"),
                             *(t for t in REPO.glob("tests/runbooks/*.yaml") if not t.name.endswith(".test.yaml"))]
                 if ".venv" not in p.parts)


def test_there_are_scripts_to_compare() -> None:
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_fast_and_located_readers_agree(path: Path) -> None:
    text = path.read_text()
    assert parse_script(text, str(path)) == _parse_located(text, str(path))


SCALARS = """version: 1
model: "m"
default:
  vars: {a: "yes", b: "1.0", c: "2026-01-01", d: "~"}
  turns:
    - text: "on: off {a} {b} {c} {d}"
    - text: 2026-01-01
    - text: yes
    - tool_use: {name: t, input: {n: 010, f: 1e3, x: .inf, y: null, z: [1, "2", true]}}
"""


def outcome(read: Callable[[str], Script], text: str) -> Script | str:
    try:
        return read(text)
    except FatalError as err:
        return err.render()


@pytest.mark.parametrize("text", [SCALARS, SCALARS.replace("    - text: 2026-01-01\n", "")])
def test_yaml_1_2_scalars_read_alike(text: str) -> None:
    assert outcome(parse_script, text) == outcome(_parse_located, text)
    assert isinstance(outcome(parse_script, text), str) == ("2026-01-01\n" in text)  # a date is not text


@pytest.mark.parametrize("text, where", [
    ("version: 1\ndefault:\n  turns:\n    - text: hi\n      latency_ms: slow\n", "<script>:5:"),
    (("version: 1\nsessions:\n  - name: s\n    match: {first_user: {regex: '(unclosed'}}\n"
     "    turns: [{text: hi}]\n"), "<script>:4:"),
    ("version: 1\ndefault: {turns: [{text: hi}]\n", "<script>:"),
])
def test_errors_still_point_at_the_line(text: str, where: str) -> None:
    with pytest.raises(FatalError) as fast:
        parse_script(text)
    with pytest.raises(FatalError) as located:
        _parse_located(text)
    assert fast.value.render() == located.value.render()
    assert (fast.value.location or "").startswith(where)


def test_a_valid_script_is_checked_once_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    markers = tmp_path / "cache" / "agentbook" / "valid-scripts"
    first = parse_script(SCALARS.replace("    - text: 2026-01-01\n", ""))
    assert len(list(markers.iterdir())) == 1
    assert parse_script(SCALARS.replace("    - text: 2026-01-01\n", "")) == first  # checked by its marker
    with pytest.raises(FatalError):
        parse_script(SCALARS)  # invalid: reported, never marked
    assert len(list(markers.iterdir())) == 1


def test_no_marker_inside_a_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentbook import confine

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(confine.ROOT_ENV, str(tmp_path))
    parse_script("version: 1\ndefault: {turns: [{text: hi}]}\n")
    assert not (tmp_path / "cache").exists()


def test_a_scripted_session_start_skips_jsonschema_once_checked(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = tmp_path / "s.script.yaml"
    script.write_text("version: 1\ndefault: {turns: [{text: hi}]}\n")
    probe = ("import sys\nfrom agentbook.standin.script import load_script\n"
             f"load_script({str(script)!r})\nprint('jsonschema' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs == [["True"], ["False"]]
