"""Run records are bounded: a 50 MB ticket leaves no records at all (it is refused before a run
exists; the unbounded runner kept 147 MB of copies), and a long session cannot grow its trace with
the square of its turns: past `AGENTBOOK_TRACE_HISTORY_BYTES` each chat span carries only what no
earlier span carried, and says how many messages it left out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import TICKET, agent, bash, cli, make_repo, run

TURNS = 16


def _session(tmp_path: Path, capsys: Any, name: str) -> dict[str, Any]:
    """A session of TURNS bash calls with ~14 KB of output each; its trace, parsed."""
    script = {"version": 1, "model": "scripted",
              "default": {"turns": [*[bash(f"seq 1 3000 # {i}") for i in range(TURNS)],
                                    {"text": "Done."}]}}
    path = tmp_path / f"{name}.script.yaml"
    path.write_text(yaml.safe_dump(script, sort_keys=False))
    root, out = tmp_path / f"root-{name}", tmp_path / f"records-{name}"
    root.mkdir()
    code, data, text = cli(capsys, "session", "--model", f"scripted:{path}", "--root", str(root), "--out", str(out),
                           "--max-turns", str(TURNS + 5), "--json", "work")
    assert code == 0, text
    trace = json.loads(Path(data["trace_path"]).read_text())
    return {"size": Path(data["trace_path"]).stat().st_size, "spans": trace["resourceSpans"][0]["scopeSpans"][0]["spans"]}


def _chat_attrs(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for span in spans:
        if span["name"].startswith("chat "):
            out.append({a["key"]: a["value"] for a in span["attributes"]})
    return out


def test_a_long_session_trace_grows_linearly_past_the_history_budget(tmp_path: Path, monkeypatch, capsys) -> None:
    full = _session(tmp_path, capsys, "full")
    monkeypatch.setenv("AGENTBOOK_TRACE_HISTORY_BYTES", "60000")
    capped = _session(tmp_path, capsys, "capped")
    chats = _chat_attrs(capped["spans"])
    assert len(chats) == len(_chat_attrs(full["spans"])) == TURNS + 1
    omitted = [int(c["agentbook.input.messages_omitted"]["intValue"]) if "agentbook.input.messages_omitted" in c
               else 0 for c in chats]
    assert omitted[0] == 0 and omitted[-1] > 0  # the first spans are whole, the later ones only add
    assert omitted == sorted(omitted)
    for attrs, skip in zip(chats, omitted, strict=True):
        sent = json.loads(attrs["gen_ai.input.messages"]["stringValue"])
        if skip:
            assert len(sent) == 2  # the assistant's tool call and its result: what no span carried yet
    # every message is still in the trace (the transcript has them all anyway); the copies are gone
    assert capped["size"] < full["size"] / 2


def test_a_huge_ticket_leaves_no_run_records(tmp_path: Path, capsys) -> None:
    repo = make_repo(tmp_path)
    big = tmp_path / "T.md"
    with big.open("w") as fh:
        fh.write(TICKET)
        fh.write("x" * (50 << 20))
    code, _data, out = cli(capsys, "run", "attack", "--ticket", str(big), "--repo", str(repo), "--model",
                           f"scripted:{agent(tmp_path, bash('true'))}")
    assert code == 3 and "ticket is larger than the limit" in out
    runs = repo / ".agentbook" / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_a_ticket_at_the_cap_leaves_records_a_small_multiple_of_it(tmp_path: Path, capsys) -> None:
    """The largest ticket accepted (256 KiB) in a run of a dozen tool calls: the records hold it a few
    times (run.json, the transcript, the checkpoint, the trace), not once per turn."""
    repo = make_repo(tmp_path)
    body = ("lorem ipsum dolor sit amet " * 10_000)[:250_000]
    code, data, out = run(repo, agent(tmp_path, *[bash(f"echo {i}") for i in range(12)]),
                          ticket=TICKET.replace("Fix it.", body), capsys=capsys)
    assert code in (0, 10), out
    total = sum(p.stat().st_size for p in Path(data["run_dir"]).iterdir() if p.is_file())
    assert total < 8 * len(body), total
