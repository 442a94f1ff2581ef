"""The parts of the `anthropic` SDK the Messages backend uses (client, errors, streams), imported
without the rest of the package.

`import anthropic` runs the package's `__init__`, which imports every client and helper the SDK ships
(AWS, Bedrock, Vertex, Foundry, Google Cloud, tools, middleware, the resources' proxy) before a request
is made, and the client module alone reaches `anthropic.types` (through the SDK's tracing helpers),
whose `__init__` imports every API type: ~1,500 pydantic classes, two thirds of the import's CPU, of
which a session that streams raw events uses none. Two deferrals keep that out:

- `anthropic` is entered in `sys.modules` as a module whose `__init__` has not run yet (its `__path__`
  is set, so its submodules import as usual). The first lookup of any other top-level name
  (`anthropic.X`, from any code) runs the package's `__init__` right then, in the same module object,
  and answers from it.
- Two functions the client module imports for rare paths (the OpenTelemetry span finisher, the
  typed status-error factory) are answered with a forwarder that loads the real one on its first
  call (CALL_THROUGH below).
- A package under `anthropic.types` or `anthropic.lib` whose `__init__` does nothing but re-export its
  submodules' names (`from .x import Y as Y`, checked by reading the file; any other statement and it
  imports as usual) is entered the same way, knowing where each name comes from: `from anthropic.types
  import Message` imports `anthropic.types.message` and what it needs, not the other 600 modules. A
  name the `__init__` does not re-export runs the `__init__` in place, as above.

Nothing ever sees a partial package: every name a package's `__init__` would define is answered with
the object it would hold (a forwarder: with one that calls it). A process that already imported `anthropic` just uses it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_lock = threading.RLock()
SCOPE = ("anthropic.types", "anthropic.lib")  # packages whose re-exports may be answered one by one
# Functions the client module imports for a rare path, from modules that import large type trees:
# answered with a function that loads the real one on its first call (same arguments, same result),
# so a process that never takes the path never loads them. The tracing finisher runs only with
# OpenTelemetry tracing on; the status-error factory (with ~100 typed error classes, each with its
# details model) only when the API answers with an error, which then pays the import once.
CALL_THROUGH = {"anthropic.lib._tracing": {"finish_api_call_span"}, "anthropic._error_classes": {"make_status_error"}}
Source = tuple[str, str | None]  # (absolute module, attribute in it; None: the module itself)


def _defer(package: ModuleType, run_init: Any, names: dict[str, Source]) -> None:
    """Give `package` (or a plain module) a PEP 562 hook: re-exported names from their own modules,
    submodules as submodules, CALL_THROUGH names as forwarders, anything else from the package's
    `__init__` (the module's code), run in place on first need."""
    state = {"done": False}
    prefix = package.__name__
    forwarded = CALL_THROUGH.get(prefix, set())

    def complete() -> None:
        with _lock:
            if not state["done"]:
                state["done"] = True
                del package.__dict__["__getattr__"]  # the real names now, not this hook again
                run_init(package)

    def lookup(name: str) -> Any:
        if not state["done"]:
            if name in forwarded:
                return _call_through(lambda: _resolve(*names[name]) if name in names else real(name), prefix, name)
            if name in names:
                value = _resolve(*names[name])
                package.__dict__[name] = value
                return value
            path = package.__dict__.get("__path__")
            if name == "__path__" and path is None:  # a plain module (the import system asks)
                raise AttributeError(f"module {prefix!r} has no attribute '__path__'")
            if not name.startswith("__") and path is not None and \
                    importlib.machinery.PathFinder.find_spec(f"{prefix}.{name}", path) is not None:
                # a submodule (`from . import _exceptions` in the SDK asks for it this way): itself
                return importlib.import_module(f"{prefix}.{name}")
        return real(name)

    def real(name: str) -> Any:
        complete()
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {prefix!r} has no attribute {name!r}") from None

    package.__getattr__ = lookup  # type: ignore[method-assign]  # only for names not yet in the module


def _call_through(target: Any, module: str, name: str) -> Any:
    """A function that calls `target()`'s result (the real function, loaded then) with its arguments."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return target()(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = module
    return call


def _resolve(module: str, attr: str | None) -> Any:
    loaded = importlib.import_module(module)
    if attr is None:
        return loaded
    try:
        return getattr(loaded, attr)
    except AttributeError:  # `from .x import y` with y a submodule of x that is not imported yet
        return importlib.import_module(f"{module}.{attr}")


def reexports(source: str, package: str) -> dict[str, Source] | None:
    """Name -> (module, attribute) for a package `__init__` that only re-exports its submodules' names;
    None when it does anything else (code, star imports, absolute imports other than __future__)."""
    names: dict[str, Source] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # a docstring
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "__future__":
            continue
        if not isinstance(node, ast.ImportFrom) or node.level == 0 or any(a.name == "*" for a in node.names):
            return None
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        for alias in node.names:
            bound = alias.asname or alias.name
            if node.module is None:  # `from . import x`: the submodule
                names[bound] = (f"{base}.{alias.name}", None)
            else:
                names[bound] = (f"{base}.{node.module}", alias.name)
    return names


class _ReexportFinder(importlib.abc.MetaPathFinder):
    """Finds the SDK's re-export-only packages in SCOPE and loads them deferred (see the module doc)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname in CALL_THROUGH and not any(fullname == s or fullname.startswith(s + ".") for s in SCOPE):
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)  # a plain module: deferred whole
            if spec is not None and spec.loader is not None and not spec.submodule_search_locations:
                spec.loader = _DeferredInit(spec.loader, {})
            return spec
        if not any(fullname == s or fullname.startswith(s + ".") for s in SCOPE):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not spec.submodule_search_locations or not spec.origin:
            return spec
        try:
            with open(spec.origin, encoding="utf-8") as fh:
                names = reexports(fh.read(), fullname)
        except (OSError, SyntaxError, ValueError):
            names = None
        if names is not None:
            spec.loader = _DeferredInit(spec.loader, names)
        return spec


class _DeferredInit(importlib.abc.Loader):
    def __init__(self, loader: Any, names: dict[str, Source]) -> None:
        self.loader, self.names = loader, names

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        _defer(module, self.loader.exec_module, self.names)

    def __getattr__(self, name: str) -> Any:  # get_data, get_source, ...: the file loader's own
        return getattr(self.loader, name)


def _enter_package() -> None:
    """`anthropic` in sys.modules, its `__init__` deferred to the first lookup of a name it defines."""
    with _lock:
        if "anthropic" in sys.modules:
            return
        spec = importlib.util.find_spec("anthropic")
        if spec is None or spec.loader is None:  # not installed: the import below says so
            return
        package = importlib.util.module_from_spec(spec)
        _defer(package, spec.loader.exec_module, {})
        sys.meta_path.insert(0, _ReexportFinder())
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
