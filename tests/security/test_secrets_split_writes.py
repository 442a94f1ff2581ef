"""What the CLI prints passes through the redactor one write at a time: a key printed in two writes (each
flushed: two `print`s, a streamed reply, a progress line and the rest), its two lines in two writes, or its
escapes cut between two, reached the terminal in pieces that no write held whole. The redacting stream now
holds back the end of a write that could begin a form of a held secret until the next write (or the end of
the command) says whether it does. Real `redacted_output`, real stdout (captured by pytest)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import ANTHROPIC_KEY, GITHUB_TOKEN, set_secrets

from agentbook.console import redacted_output


def pct(value: str) -> str:
    return "".join(f"%{b:02X}" for b in value.encode())


def printed(pieces: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with redacted_output():
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
    return capsys.readouterr().out


def leaked(out: str, key: str) -> list[str]:
    """Stretches of 12 characters of `key` (or of its reversal, percent-encoding) that `out` shows."""
    squeezed = "".join(out.split()).replace('"', "")
    forms = [key, key[::-1], pct(key)]
    return [f[i:i + 12] for f in forms for i in range(len(f) - 11) if f[i:i + 12] in squeezed]


@pytest.mark.parametrize("cut", range(1, len(GITHUB_TOKEN)))
def test_a_key_in_two_writes_is_replaced_whole(cut: int, monkeypatch, capsys) -> None:
    set_secrets(monkeypatch)
    out = printed([f"token: {GITHUB_TOKEN[:cut]}", f"{GITHUB_TOKEN[cut:]} (end)\n"], capsys)
    assert leaked(out, GITHUB_TOKEN) == [] and "[REDACTED]" in out, out
    assert out.startswith("token: ") and out.endswith(" (end)\n")


@pytest.mark.parametrize("shape", ["every ten characters", "one line each", "escapes cut between writes",
                                   "reversed, one character a write"])
def test_a_key_in_many_writes_is_replaced_whole(shape: str, monkeypatch, capsys) -> None:
    set_secrets(monkeypatch)
    key = ANTHROPIC_KEY
    if shape == "every ten characters":
        pieces = [key[i:i + 10] for i in range(0, len(key), 10)] + ["\n"]
    elif shape == "one line each":
        pieces = [f'"{key[:14]}"\n', f'  "{key[14:40]}"\n', f'  "{key[40:]}"\n']
    elif shape == "escapes cut between writes":
        encoded = pct(key)
        pieces = [encoded[i:i + 7] for i in range(0, len(encoded), 7)] + ["\n"]
    else:
        pieces = list(key[::-1]) + ["\n"]
    out = printed(pieces, capsys)
    assert leaked(out, key) == [] and "[REDACTED]" in out, out


def test_ordinary_writes_are_not_held(monkeypatch, capsys) -> None:
    """Lines and prompts print as they come: only an end that could begin a held form waits."""
    set_secrets(monkeypatch)
    capsys.readouterr()
    with redacted_output():
        sys.stdout.write("step 1 of 3: done\n")
        sys.stdout.write("Continue? [y/N] ")
        sys.stdout.flush()
        assert capsys.readouterr().out == "step 1 of 3: done\nContinue? [y/N] "
        sys.stdout.write("token: gh")
        sys.stdout.flush()
        assert capsys.readouterr().out == "token: "  # "gh" may begin the GitHub token: held
    assert capsys.readouterr().out == "gh"  # the command ended: what was held is written
