"""Secrets never reach what agentbook records or prints: a scripted agent (through the real SDK and
the stand-in) echoes held keys in every form from bash and in its final reply, the task and ticket
carry them too. Nothing of them is left in a session's `--json` (`final_text` included) or human
output, its transcript and trace, a run's records (run.json, checkpoint, transcript, trace, report),
its git notes and commits, or any line the CLI prints on an error."""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import (
    ANTHROPIC_KEY,
    COMPAT_KEY,
    EXTRA_SECRET,
    GITHUB_TOKEN,
    TICKET,
    agent,
    all_objects_text,
    bash,
    cli,
    files_under,
    make_repo,
    run,
    set_secrets,
)

_SQUEEZE = re.compile(r"(?:\\[nrt]|[\s\"'+\\])+")


def b64(value: str, prefix: str = "") -> str:
    return base64.b64encode((prefix + value).encode()).decode()


# Each form as the agent writes it; the test looks for it whole and with split gaps squeezed out.
FORMS = {
    "plain": GITHUB_TOKEN,
    "base64": b64(ANTHROPIC_KEY),
    "base64, shifted": b64(COMPAT_KEY, "!"),
    "url-safe base64": base64.urlsafe_b64encode(b"\xfe" + ANTHROPIC_KEY.encode()).decode(),
    "hex": COMPAT_KEY.encode().hex(),
    "upper-case hex": GITHUB_TOKEN.encode().hex().upper(),
    "reversed": ANTHROPIC_KEY[::-1],
    "--secret NAME, plain": EXTRA_SECRET,
    "--secret NAME, reversed": EXTRA_SECRET[::-1],
    "split over lines": f"{COMPAT_KEY[:14]}\"\n  \"{COMPAT_KEY[14:]}",
    "key shape not held": "ghs_unheldUNHELDunheld0123456789ab",
}


def leaks(text: str) -> list[str]:
    """The names of the forms `text` still holds."""
    squeezed = _SQUEEZE.sub("", text)
    return [name for name, form in FORMS.items() if form in text or _SQUEEZE.sub("", form) in squeezed]


def _echo_all() -> str:
    return "; ".join(f"printf '%s\\n' '{form}'" for form in FORMS.values())


def _final() -> str:
    return "Here is what I found:\n" + "\n".join(f"- {name}: {form}" for name, form in FORMS.items())


def _session_script(tmp_path: Path) -> Path:
    script = {"version": 1, "model": "scripted",
              "default": {"turns": [bash(_echo_all()), {"text": _final()}]}}
    path = tmp_path / "leaky.script.yaml"
    path.write_text(yaml.safe_dump(script, sort_keys=False))
    return path


def _env(monkeypatch: Any) -> None:
    set_secrets(monkeypatch)
    monkeypatch.setenv("DEPLOY_PASSPHRASE", EXTRA_SECRET)


@pytest.mark.parametrize("as_json", [True, False], ids=["--json", "human"])
def test_a_session_prints_and_records_no_secret(as_json: bool, tmp_path: Path, monkeypatch, capsys) -> None:
    _env(monkeypatch)
    root, out_dir = tmp_path / "root", tmp_path / "records"
    root.mkdir()
    task = f"Echo these back: {b64(GITHUB_TOKEN, 'ab')} and {EXTRA_SECRET[::-1]}"
    code, data, out = cli(capsys, "session", "--model", f"scripted:{_session_script(tmp_path)}", "--root",
                          str(root), "--out", str(out_dir), "--secret", "DEPLOY_PASSPHRASE",
                          *(["--json"] if as_json else []), task)
    assert code == 0, out
    if as_json:
        assert "[REDACTED]" in data["final_text"] and not leaks(data["final_text"])
    assert "[REDACTED]" in out and leaks(out) == []
    records = files_under(out_dir)
    assert {Path(p).name for p in records} >= {"transcript.jsonl", "trace.otlp.json"}
    for name, text in records.items():
        assert leaks(text) == [], name
        assert b64(GITHUB_TOKEN, "ab")[8:40] not in text and EXTRA_SECRET[::-1] not in text


def test_session_secret_takes_a_name_not_a_value(tmp_path: Path, capsys) -> None:
    """A value on the command line is visible to every user through `ps`: `--secret` names a variable,
    and a value passed by mistake is refused without being echoed."""
    code, _data, out = cli(capsys, "session", "--model", "scripted:x.script.yaml", "--root", str(tmp_path),
                           "--secret", "NO_SUCH_VARIABLE_HERE", "task")
    assert code == 2 and "pass the variable's name, not its value" in out


def test_a_run_records_no_secret(tmp_path: Path, monkeypatch, capsys) -> None:
    """The agent echoes every form from bash and in its replies, the ticket carries two: the run
    completes (no file holds a key), and its records, checkpoint, report, git notes and output hold
    none of them."""
    _env(monkeypatch)
    repo = make_repo(tmp_path)
    script = agent(tmp_path, bash(_echo_all()), {"text": _final()}, bash(_echo_all()), {"text": _final()})
    ticket = TICKET.replace("Fix it.", f"Fix it. My key is {GITHUB_TOKEN[::-1]}, also {b64(COMPAT_KEY)}.")
    code, data, out = run(repo, script, "--secret", "DEPLOY_PASSPHRASE", ticket=ticket, capsys=capsys)
    assert code in (0, 10), out  # nothing to commit: no_changes is the truthful outcome
    assert leaks(out) == []
    records = files_under(Path(data["run_dir"]))
    assert {"run.json", "transcript.jsonl", "trace.otlp.json", "report.md", "checkpoint.json"} <= set(records)
    for name, text in records.items():
        assert leaks(text) == [] and GITHUB_TOKEN[::-1] not in text and b64(COMPAT_KEY) not in text, name
    assert "[REDACTED]" in records["transcript.jsonl"] and "[REDACTED]" in records["checkpoint.json"]
    objects = all_objects_text(repo / ".git")
    assert leaks(objects) == [] and GITHUB_TOKEN[::-1] not in objects


def test_an_interrupted_runs_checkpoint_holds_no_secret(tmp_path: Path, monkeypatch, capsys) -> None:
    """A run that stops on an API error keeps its checkpoint (the conversation so far) for `--resume`:
    the forms the agent echoed in step 1 are redacted there."""
    _env(monkeypatch)
    repo = make_repo(tmp_path)
    script = agent(tmp_path, bash(_echo_all()), {"text": _final()},
                   {"text": "x", "fault": {"kind": "status", "status": 401, "attempts": 5}})
    code, data, out = run(repo, script, "--secret", "DEPLOY_PASSPHRASE", capsys=capsys)
    assert code == 13, out
    checkpoint = (Path(data["run_dir"]) / "checkpoint.json").read_text()
    assert json.loads(checkpoint)["messages"] and "[REDACTED]" in checkpoint
    assert leaks(checkpoint) == []


@pytest.mark.parametrize("where", ["a missing ticket's path", "a ticket naming an unknown runbook", "an unknown runbook"])
def test_cli_errors_print_no_secret(where: str, tmp_path: Path, monkeypatch, capsys) -> None:
    """Error messages quote what the user (or the attacker who wrote the file) gave: a path, a line,
    a name. Every line the CLI prints passes through the redactor."""
    _env(monkeypatch)
    repo = make_repo(tmp_path)
    form = FORMS["reversed"]
    if where == "a missing ticket's path":
        code, _data, out = cli(capsys, "run", "attack", "--repo", str(repo), "--ticket", str(tmp_path / f"{form}.md"))
    elif where == "a ticket naming an unknown runbook":
        ticket = tmp_path / "T.md"
        ticket.write_text(f"---\nid: 7\ntitle: t\nrunbook: x{form}\n---\nbody\n")
        code, _data, out = cli(capsys, "run", "--repo", str(repo), "--ticket", str(ticket))
    else:
        ticket = tmp_path / "T.md"
        ticket.write_text(TICKET)
        code, _data, out = cli(capsys, "run", f"nope-{FORMS['hex']}", "--repo", str(repo), "--ticket", str(ticket))
    assert code in (2, 3), out
    assert "[REDACTED]" in out, out
    assert leaks(out) == []
