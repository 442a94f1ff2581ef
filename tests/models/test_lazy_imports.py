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


def run_python(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()


def test_sdk_parts_leave_the_api_types_unloaded() -> None:
    """The Messages path loads none of the API's type trees (`anthropic.types` re-exports ~1,600
    pydantic classes; the client module reaches them through the SDK's tracing helpers and its typed
    status errors): fails if an SDK upgrade gives those packages' `__init__` code of its own or
    imports them another way."""
    out = run_python("import sys\nfrom agentbook.models import sdk\n"
                     "print(len([m for m in sys.modules if m.startswith('anthropic.types')]))\n"
                     "for m in ('anthropic.types.message_create_params', 'anthropic.types.beta.beta_message',"
                     " 'anthropic.lib._tracing._api_call', 'anthropic.lib._tracing._work'):\n"
                     "    print(m in sys.modules)\n"
                     "print('ERROR_CLASSES' in vars(sys.modules['anthropic._error_classes']))")
    assert out[1:] == ["False"] * 5
    assert int(out[0]) < 20  # the package itself and the few its client module names; all are ~2,000


@pytest.mark.parametrize("package", ["anthropic.types", "anthropic.types.beta", "anthropic.types.shared",
                                     "anthropic.lib._tracing"])
def test_deferred_packages_still_only_reexport(package: str) -> None:
    """The packages the backend defers still have an `__init__` that only re-exports (the condition for
    answering their names one by one); an SDK release that adds code there falls back to a full import."""
    import importlib.util

    from agentbook.models.sdk import reexports

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    names = reexports(Path(spec.origin).read_text(encoding="utf-8"), package)
    assert names, f"{package}/__init__.py is no longer re-exports only"


def test_deferred_packages_answer_what_a_full_import_does() -> None:
    """Every name `anthropic.types` and `anthropic.types.beta` re-export, looked up one by one through
    the deferred packages, is the very object the package holds once its `__init__` has run."""
    out = run_python(
        "import importlib, sys\nfrom agentbook.models import sdk\n"
        "pkgs = {p: importlib.import_module(p) for p in ('anthropic.types', 'anthropic.types.beta')}\n"
        "names = {p: sdk.reexports(open(m.__spec__.origin).read(), p) for p, m in pkgs.items()}\n"
        "early = {(p, n): getattr(m, n) for p, m in pkgs.items() for n in names[p]}\n"
        "print(len(early), '__getattr__' in vars(pkgs['anthropic.types']))\n"
        "for m in pkgs.values():\n    getattr(m, 'no_such_name', None)  # runs the __init__ in place\n"
        "print('__getattr__' in vars(pkgs['anthropic.types']))\n"
        "print(sorted(f'{p}.{n}' for (p, n), obj in early.items() if getattr(pkgs[p], n) is not obj) or 'same')")
    assert int(out[0]) > 1000 and out[1:] == ["True", "False", "same"]


def test_call_through_functions_call_the_real_ones() -> None:
    """The functions the client module holds for rare paths (answered without importing their modules)
    forward each call, arguments and result, to the SDK's own: the tracing finisher, and the status-error
    factory, which gives the SDK's typed error class for the API's error code."""
    out = run_python(
        "import sys\nfrom agentbook.models import sdk\nimport anthropic._base_client as base\n"
        "held = base.finish_api_call_span\nprint('anthropic.lib._tracing._api_call' in sys.modules)\n"
        "import anthropic.lib._tracing._api_call as real\n"
        "real.finish_api_call_span = lambda *a, **k: ('real', a, k)\n"
        "print(held(1, 2, result=3) == ('real', (1, 2), {'result': 3}), held.__name__)\n"
        "import httpx2\n"
        "request = httpx2.Request('POST', 'http://127.0.0.1:1/v1/messages')\n"
        "body = {'type': 'error', 'error': {'type': 'not_found_error', 'message': 'x', 'details': {'error_code': 'file_expired'}}}\n"
        "response = httpx2.Response(404, request=request, json=body)\n"
        "err = base.make_status_error('gone', body=body, response=response)\n"
        "import anthropic\n"
        "print(type(err).__name__, isinstance(err, anthropic.NotFoundError), err.status_code)")
    assert out == ["False", "True", "finish_api_call_span", "FileExpiredError", "True", "404"]
