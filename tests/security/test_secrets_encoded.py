"""Held secrets written in encodings the literal scan misses: percent-encoded (all of it or some
characters, once or twice), JSON's `\\u` escapes (also escaped again), `\\x` escapes, HTML character
references, hex in mixed case, base64 as `base64` wraps it at 76 columns, url-safe base64 without its
padding. A scripted agent (the real SDK, the stand-in) prints each from bash and in its reply: nothing
of them reaches the session's output, transcript or trace, read as the files are and as JSON decodes
them. Ordinary encoded data (random base64, digests, URLs, escaped text) is left as it was.
Two encodings of hex and base64 stacked (base64 of hex, hex of base64), each under escapes too, are found; a
third, base64 of base64 and hex of hex are not (docs/SECURITY.md, "What is not confined").
`test_secrets_commit.py` shows the same forms refused at commit time."""

from __future__ import annotations

import base64
import json
import random
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import ANTHROPIC_KEY, COMPAT_KEY, GITHUB_TOKEN, bash, cli, files_under, set_secrets

from agentbook.redaction import Redactor
from agentbook.secretscan import Secret, SecretScanner


def pct(value: str) -> str:
    return "".join(f"%{b:02X}" for b in value.encode())


def u_escapes(value: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in value)


FORMS = {
    "percent-encoded": pct(GITHUB_TOKEN),
    "percent-encoded in part": ANTHROPIC_KEY.replace("Q7vL", "%51%37v%4C"),
    "percent-encoded twice": urllib.parse.quote(pct(COMPAT_KEY), safe=""),
    "base64, percent-encoded": urllib.parse.quote(base64.b64encode(b"ab" + ANTHROPIC_KEY.encode()).decode(), safe=""),
    "JSON \\u escapes": u_escapes(COMPAT_KEY),
    "JSON \\u escapes, escaped again": json.dumps(u_escapes(GITHUB_TOKEN))[1:-1],
    "\\x escapes": "".join(f"\\x{b:02x}" for b in ANTHROPIC_KEY.encode()),
    "HTML character references": "".join(f"&#{ord(c)};" for c in GITHUB_TOKEN),
    "hex in mixed case": "".join(c.upper() if i % 3 else c for i, c in enumerate(COMPAT_KEY.encode().hex())),
    "base64 wrapped at 76": base64.encodebytes(("a longer text, then the key: " + ANTHROPIC_KEY).encode()).decode(),
    "url-safe base64 without padding": base64.urlsafe_b64encode(b"\xff" + GITHUB_TOKEN.encode()).decode().rstrip("="),
    # two encodings stacked (`xxd -p | base64`, `base64 | xxd -p`), and an escape over them
    "base64 of hex": base64.b64encode(b"k=" + COMPAT_KEY.encode().hex().encode()).decode(),
    "base64 of upper-case hex": base64.b64encode(GITHUB_TOKEN.encode().hex().upper().encode()).decode(),
    "hex of base64": base64.b64encode(b"ab" + ANTHROPIC_KEY.encode()).hex(),
    "upper-case hex of url-safe base64": base64.urlsafe_b64encode(b"\x01" + COMPAT_KEY.encode()).hex().upper(),
    "base64 of hex, percent-encoded": urllib.parse.quote(base64.b64encode(b"?" + GITHUB_TOKEN.encode().hex().encode())
                                                         .decode(), safe=""),
}


def strings(value: Any) -> Iterator[str]:
    """Every string a JSON value holds, keys too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def decoded_texts(name: str, text: str) -> list[str]:
    """The file's text, and (JSON or JSON lines) every string in it as JSON decodes it."""
    out = [text]
    docs = [text] if name.endswith(".json") else text.splitlines() if name.endswith(".jsonl") else []
    for doc in docs:
        try:
            out += list(strings(json.loads(doc)))
        except ValueError:
            pass
    return out


def leaks(texts: list[str]) -> list[str]:
    squeezed = ["".join(t.split()) for t in texts]
    return sorted(name for name, form in FORMS.items()
                  if any(form in t for t in texts) or any("".join(form.split()) in s for s in squeezed))


def test_encoded_secrets_reach_no_session_record_or_output(tmp_path: Path, monkeypatch, capsys) -> None:
    set_secrets(monkeypatch)
    echo = "; ".join(f"printf '%s\\n' '{form}'" for form in FORMS.values())
    final = "Found:\n" + "\n".join(f"- {name}: {form}" for name, form in FORMS.items())
    script = tmp_path / "leaky.script.yaml"
    script.write_text(yaml.safe_dump({"version": 1, "model": "scripted",
                                      "default": {"turns": [bash(echo), {"text": final}]}}, sort_keys=False))
    root, out_dir = tmp_path / "root", tmp_path / "records"
    root.mkdir()
    code, data, out = cli(capsys, "session", "--model", f"scripted:{script}", "--root", str(root), "--out",
                          str(out_dir), "--json", "print what you find")
    assert code == 0, out
    assert leaks([out, *strings(data)]) == []
    records = files_under(out_dir)
    assert {Path(p).name for p in records} >= {"transcript.jsonl", "trace.otlp.json"}
    transcript = next(t for p, t in records.items() if p.endswith("transcript.jsonl"))
    assert transcript.count("[REDACTED]") >= 2 * len(FORMS)  # every form, in bash's output and in the reply
    for name, text in records.items():
        assert leaks(decoded_texts(name, text)) == [], name


# Data that is encoded but holds no secret: what the redactor and the scan must leave alone.
def ordinary_data() -> dict[str, str]:
    rng = random.Random(16)
    blob = rng.randbytes(3000)
    return {
        "random base64, wrapped at 76": base64.encodebytes(blob).decode(),
        "random url-safe base64": base64.urlsafe_b64encode(blob[:700]).decode(),
        "a data URI": "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + blob[:400]).decode(),
        "sha256 digests": "\n".join(rng.randbytes(32).hex() for _ in range(40)),
        "upper-case hex dump": rng.randbytes(600).hex().upper(),
        "a percent-encoded URL": "https://example.com/search?q=" + urllib.parse.quote("café & crème brûlée, 100% sure"),
        "JSON with \\u escapes": json.dumps({"t": "naïve façade \u2014 \u00e9t\u00e9 " * 20}),
        "printf formats": 'printf("%02x %5d %s%%\\n", a, b, c); path = "C:\\\\x64\\\\users"',
        "HTML entities": "<p>&amp; &lt;b&gt; &#169; 2026 &#x2014; caf&#233;</p>",
    }


@pytest.mark.parametrize("kind", sorted(ordinary_data()))
def test_ordinary_encoded_data_is_left_alone(kind: str) -> None:
    held = [ANTHROPIC_KEY, GITHUB_TOKEN, COMPAT_KEY]
    text = ordinary_data()[kind]
    redactor = Redactor(held, from_env=False)
    assert redactor.text(text) == text
    assert redactor.json_text(json.dumps(text)) == json.dumps(text)
    scanner = SecretScanner([Secret(f"S{i}", v) for i, v in enumerate(held)])
    assert scanner.scan(text, "data") == []
    assert scanner.scan_stream([text[i:i + 97] for i in range(0, len(text), 97)], "data") == []


@pytest.mark.parametrize("name", sorted(FORMS))
def test_each_form_is_found_by_the_scan_that_refuses_commits(name: str) -> None:
    """The scan before a commit or push finds each form, on its line, inside other text and cut into
    windows at every place."""
    scanner = SecretScanner([Secret("ANTHROPIC_API_KEY", ANTHROPIC_KEY), Secret("GITHUB_TOKEN", GITHUB_TOKEN),
                             Secret("AGENTBOOK_COMPAT_API_KEY", COMPAT_KEY)])
    text = f"line one\nsee: {FORMS[name]} (end)\n"
    hits = scanner.scan(text, "f")
    assert [(h.line, h.secret in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN", "AGENTBOOK_COMPAT_API_KEY")) for h in hits
            if h.form != "key shape"][:1] == [(2, True)], hits
    for cut in range(1, len(text), 7):
        assert scanner.scan_stream([text[:cut], text[cut:]], "f"), cut
