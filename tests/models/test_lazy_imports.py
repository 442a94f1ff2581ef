"""Commands load only what they use: none of these imports the `anthropic` SDK (0.8 s of start-up)."""

from __future__ import annotations

import subprocess
import sys

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
