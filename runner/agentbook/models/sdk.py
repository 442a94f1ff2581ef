"""The parts of the `anthropic` SDK the Messages backend uses (client, errors, streams), imported
without the rest of the package.

`import anthropic` runs the package's `__init__`, which imports every client and helper the SDK ships
(AWS, Bedrock, Vertex, Foundry, Google Cloud, tools, middleware, the resources' proxy) before a request
is made: a third of the import's CPU, none of it used by an agent session that talks to one Messages
API. Here the package is entered in `sys.modules` as a module whose `__init__` has not run yet (its
`__path__` is set, so its submodules import as usual) and only the modules below are imported.

Nothing ever sees a partial package: the first lookup of any other top-level name (`anthropic.X`, from
any code) runs the package's `__init__` right then, in the same module object, and answers from it. A
process that already imported `anthropic` just uses it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from typing import Any

_lock = threading.RLock()


def _enter_package() -> None:
    """`anthropic` in sys.modules, its `__init__` deferred to the first lookup of a name it defines."""
    with _lock:
        if "anthropic" in sys.modules:
            return
        spec = importlib.util.find_spec("anthropic")
        if spec is None or spec.loader is None:  # not installed: the import below says so
            return
        package = importlib.util.module_from_spec(spec)
        state = {"done": False}

        def complete(name: str) -> Any:
            if not state["done"] and importlib.util.find_spec(f"anthropic.{name}") is not None:
                # a submodule (`from . import _exceptions` in the SDK asks for it this way): itself
                return importlib.import_module(f"anthropic.{name}")
            with _lock:
                if not state["done"]:
                    state["done"] = True
                    del package.__dict__["__getattr__"]  # the real names now, not this hook again
                    assert spec.loader is not None
                    spec.loader.exec_module(package)
            try:
                return package.__dict__[name]
            except KeyError:
                raise AttributeError(f"module 'anthropic' has no attribute {name!r}") from None

        package.__getattr__ = complete  # type: ignore[method-assign]  # PEP 562: only for missing names
        sys.modules["anthropic"] = package


_enter_package()

from anthropic._base_client import DefaultAsyncHttpxClient, get_platform
from anthropic._client import AsyncAnthropic
from anthropic._exceptions import (
    AnthropicError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
)
from anthropic._streaming import AsyncStream
from anthropic._types import omit

__all__ = ["APIConnectionError", "APIStatusError", "APITimeoutError", "AnthropicError", "AsyncAnthropic",
           "AsyncStream", "DefaultAsyncHttpxClient", "get_platform", "omit"]
