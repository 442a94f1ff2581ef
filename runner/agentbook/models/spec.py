"""Model spec strings -> what to connect to and how.

    anthropic:<model>[?opts]               the Anthropic API (ANTHROPIC_API_KEY)
    compat:<base-url>#<model>[?opts]       any server speaking the Messages API (Ollama, vLLM, LiteLLM...)
    scripted:<path/to/x.script.yaml>[?opts] the stand-in: answered in-process, or on loopback over HTTP
                                           when the script tests the transport (models/scripted.py)

A bare name (no colon) is looked up in the aliases file ($AGENTBOOK_MODELS or
~/.config/agentbook/models.yaml: `aliases: {local: "compat:http://localhost:11434#llama3?auth=x-api-key"}`).

Options (query string): `auth=bearer|x-api-key|none`, `version=<anthropic-version>`, `key_env=<VAR>`,
`retries=<n>` (SDK retries, default 2), `timeout=<seconds>`, `body.<field>=<json>` (extra body),
`http=1` (scripted only: through the SDK to a listening stand-in even when no HTTP is under test).
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from agentbook import yamlsafe
from agentbook.errors import FatalError

# The model used when neither a flag, a runbook nor $AGENTBOOK_MODEL names one.
DEFAULT_MODEL = "anthropic:claude-sonnet-4-5"


def default_model() -> str:
    return os.environ.get("AGENTBOOK_MODEL") or DEFAULT_MODEL


AUTH_STYLES = ("bearer", "x-api-key", "none")
ALIASES_ENV = "AGENTBOOK_MODELS"  # a YAML file of named specs: aliases: {fast: "anthropic:claude-haiku-4-5"}
COMPAT_KEY_ENV = "AGENTBOOK_COMPAT_API_KEY"  # never ANTHROPIC_API_KEY: that key must not go to other hosts
SCRIPTED_KEY = "sk-agentbook-standin"
_SPEC_HINT = ("use anthropic:<model>, compat:<base-url>#<model>, scripted:<file.script.yaml> "
              "or an alias from $AGENTBOOK_MODELS")


@dataclass
class BackendSpec:
    spec: str
    kind: str  # anthropic | compat | scripted
    model: str  # name sent on the wire ("" for scripted until the script names it)
    base_url: str | None = None
    script: str | None = None
    auth: str = "bearer"
    version: str | None = None  # None: the SDK's own anthropic-version
    key_env: str | None = None
    retries: int = 2
    timeout: float = 600.0
    extra_body: dict[str, Any] = field(default_factory=dict)
    http: bool = False  # scripted only: serve over HTTP through the SDK even when in-process would do

    def api_key(self) -> str | None:
        if self.kind == "scripted":
            return os.environ.get(self.key_env, SCRIPTED_KEY) if self.key_env else SCRIPTED_KEY
        if self.kind == "compat":
            return os.environ.get(self.key_env or COMPAT_KEY_ENV) or "agentbook"
        if self.key_env:
            return os.environ.get(self.key_env)
        return os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")


def aliases_file() -> Path:
    """Where named model specs live: $AGENTBOOK_MODELS, else ~/.config/agentbook/models.yaml."""
    return Path(os.environ.get(ALIASES_ENV) or Path.home() / ".config" / "agentbook" / "models.yaml")


def load_aliases() -> dict[str, str]:
    """`aliases: {name: spec}` from the aliases file (empty when there is none)."""
    path = aliases_file()
    if not path.is_file():
        if os.environ.get(ALIASES_ENV):
            raise FatalError(f"{ALIASES_ENV}={path}: no such file")
        return {}
    data = yamlsafe.load(yamlsafe.read_bytes(path, what="model aliases file", limit=1 << 20), str(path)) or {}
    aliases = data.get("aliases") if isinstance(data, dict) else None
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise FatalError("expected `aliases:` mapping names to spec strings", location=str(path),
                         hint="e.g. aliases: {local: 'compat:http://localhost:11434#llama3?auth=x-api-key'}")
    return {str(k): v for k, v in aliases.items()}


def parse_spec(spec: str) -> BackendSpec:
    """Parse a spec string, or the name of an alias (its `spec` keeps the name the user gave)."""
    if ":" not in spec:
        aliases = load_aliases()
        if spec in aliases:
            resolved = parse_spec(aliases[spec])
            resolved.spec = f"{spec} ({aliases[spec]})"
            return resolved
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise FatalError(f"bad model spec {spec!r}", hint=_SPEC_HINT)
    if kind == "compat":
        base_url, hash_sep, tail = rest.partition("#")
        model, _, query = tail.partition("?")
        if not hash_sep or not model:
            raise FatalError(f"bad model spec {spec!r}: compat needs a model after '#'",
                             hint="e.g. compat:http://localhost:11434#llama3")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FatalError(f"bad model spec {spec!r}: {base_url!r} is not an http(s) URL")
        out = BackendSpec(spec, kind, model, base_url=base_url.rstrip("/"))
    elif kind in ("anthropic", "scripted"):
        target, _, query = rest.partition("?")
        if not target:
            raise FatalError(f"bad model spec {spec!r}", hint=_SPEC_HINT)
        out = BackendSpec(spec, kind, target if kind == "anthropic" else "",
                          script=target if kind == "scripted" else None)
    else:
        raise FatalError(f"unknown model backend {kind!r} in {spec!r}", hint=_SPEC_HINT)
    for key, value in parse_qsl(query, keep_blank_values=True):
        _apply_option(out, key, value)
    return out


def written_spec_problem(spec: str) -> str | None:
    """Why a model spec written in a file anyone may have written (a suite's providers, a `backtest run`
    spec's model or grader) must not be used, or None. Such a file chooses a model, never where a key
    goes: no `key_env` (it would send any variable of the runner's, GITHUB_TOKEN too, as the key), and
    no `compat:` server but one on this machine's loopback. An alias (the user's own file) or a
    --model/--grader flag may say anything."""
    if ":" not in spec and spec in load_aliases():
        return None
    parsed = parse_spec(spec)
    if parsed.key_env is not None:
        return (f"model spec {spec!r} sets key_env: a file may not choose which of your variables is sent as the "
                f"key")
    if parsed.kind == "compat":
        host = (urlsplit(parsed.base_url or "").hostname or "").lower()
        if not _loopback(host):
            return f"model spec {spec!r} names a server ({host}): a file may not choose where your key is sent"
    extra = sorted(set(parsed.extra_body) - WRITTEN_BODY_FIELDS)
    if extra:
        return (f"model spec {spec!r} sets body.{extra[0]}: a file may set only sampling fields "
                f"({', '.join(sorted(WRITTEN_BODY_FIELDS))}); others change the price (speed, inference_geo) "
                "or have the model's servers act (mcp_servers, container, tools)")
    return None


# The extra body fields a written spec may set: sampling and local servers' knobs, none of which changes
# what a token costs or reaches past the request.
WRITTEN_BODY_FIELDS = frozenset({"temperature", "top_p", "top_k", "stop_sequences", "keep_alive", "options"})


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 and ::1; never a name like 127.evil.example
    except ValueError:
        return False


WRITTEN_SPEC_HINT = "name an alias from $AGENTBOOK_MODELS (your own file), or pass the spec on the command line"


def _apply_option(out: BackendSpec, key: str, value: str) -> None:
    where = f"model spec {out.spec!r}"
    if key == "auth":
        if value not in AUTH_STYLES:
            raise FatalError(f"{where}: auth must be one of {', '.join(AUTH_STYLES)}, not {value!r}")
        out.auth = value
    elif key == "version":
        out.version = value
    elif key == "key_env":
        out.key_env = value
    elif key in ("retries", "timeout"):
        try:
            number = float(value)
        except ValueError:
            raise FatalError(f"{where}: {key} must be a number, not {value!r}") from None
        if key == "retries":
            out.retries = int(number)
        else:
            out.timeout = number
    elif key == "http" and out.kind == "scripted":
        if value not in ("0", "1"):
            raise FatalError(f"{where}: http must be 0 or 1, not {value!r}")
        out.http = value == "1"
    elif key.startswith("body."):
        try:
            out.extra_body[key[5:]] = json.loads(value)
        except ValueError:
            out.extra_body[key[5:]] = value
    else:
        raise FatalError(f"{where}: unknown option {key!r}",
                         hint="options: auth, version, key_env, retries, timeout, body.<field>")
