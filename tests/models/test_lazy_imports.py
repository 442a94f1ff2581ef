"""Commands load only what they use: none of these imports the `anthropic` SDK (0.8 s of start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LIGHT = ["agentbook.cli", "agentbook.cli.session_cmd", "agentbook.cli.eval_cmd", "agentbook.cli.run_cmd",
         "agentbook.cli.backtest_cmd", "agentbook.cli.models_cmd", "agentbook.models", "agentbook.session"]


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", LIGHT)
def test_module_does_not_import_the_sdk(module: str) -> None:
    assert "anthropic" not in loaded_after(f"import {module}")


def test_version_does_not_import_the_sdk() -> None:
    loaded = loaded_after("from agentbook.cli import main\nmain(['--version'])")
    assert "anthropic" not in loaded and "pydantic" not in loaded


def test_typed_errors_still_translate_sdk_errors() -> None:
    """The lazy import inside `from_sdk` still maps the SDK's classes (a real SDK exception object)."""
    import anthropic
    import httpx2 as httpx

    from agentbook.models.errors import ConnectionFailed, Overloaded, from_sdk

    request = httpx.Request("POST", "http://127.0.0.1:1/v1/messages")
    assert isinstance(from_sdk(anthropic.APIConnectionError(request=request), "x"), ConnectionFailed)
    response = httpx.Response(529, request=request, json={"type": "error", "error": {
        "type": "overloaded_error", "message": "Overloaded"}})
    err = anthropic.APIStatusError("overloaded", response=response, body=response.json())
    typed = from_sdk(err, "x")
    assert isinstance(typed, Overloaded) and typed.retryable and typed.error_type == "overloaded_error"


def test_sdk_backend_imports_only_the_parts_it_uses(tmp_path: Path) -> None:
    """A `?http=1` model answers a turn through the real SDK over loopback without the package's
    `__init__` (its AWS/Bedrock/Vertex clients and helpers) having run; the first top-level lookup
    anyone makes afterwards completes the package in place."""
    script = tmp_path / "s.script.yaml"
    script.write_text("version: 1\ndefault:\n  turns:\n    - text: 'hello over http'\n")
    code = f"""
import asyncio, sys
from agentbook.models import ModelRequest, load_model
async def main():
    model = load_model({f"scripted:{script}?http=1"!r})
    response = await model.complete(ModelRequest(messages=[{{"role": "user", "content": "hi"}}]))
    await model.aclose()
    return response
response = asyncio.run(main())
print(response.content[0]["text"])
print("vertex" if "anthropic.lib.vertex" in sys.modules else "no-vertex")
import anthropic
print(anthropic.NotFoundError.__name__, anthropic.AsyncAnthropic.__module__)
print("vertex" if "anthropic.lib.vertex" in sys.modules else "no-vertex")
try:
    anthropic.no_such_name
except AttributeError as err:
    print("AttributeError", err)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split("\n")
    assert out[:5] == ["hello over http", "no-vertex", "NotFoundError anthropic", "vertex",
                       "AttributeError module 'anthropic' has no attribute 'no_such_name'"]


def test_sdk_parts_reuse_an_sdk_already_imported() -> None:
    """With `anthropic` imported in full first, the backend's names are that package's own."""
    code = ("import anthropic\nfrom agentbook.models import sdk\n"
            "print(sdk.AsyncAnthropic is anthropic.AsyncAnthropic, sdk.APIStatusError is anthropic.APIStatusError)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["True", "True"]
