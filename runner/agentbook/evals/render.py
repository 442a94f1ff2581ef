"""Prompts and variables as promptfoo reads them, rendered with Jinja2 into Messages API requests.

A prompt is a `file://` template (`.txt`/`.md`: one user message, or a chat when its rendered text is a
`- role:` YAML list or a JSON list, as promptfoo's providers read it; `.json`/`.yaml`: a chat list of
`{role, content}`), a bare path promptfoo reads as a file (`prompts/tutor.txt`), or an inline string. Variables come from `defaultTest.vars` then the case's `vars`;
a `file://` value is read relative to the suite's folder. Templates are untrusted data, so they render
in Jinja2's sandbox, and an undefined variable is an error rather than an empty string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from agentbook import confine, yamlsafe
from agentbook.errors import FatalError
from agentbook.evals import refs
from agentbook.evals.index import Loader
from agentbook.fsutil import max_bytes, open_regular


@dataclass
class Prompt:
    label: str
    chat: list[dict[str, Any]] | None  # role/content templates, or None for a single text template
    text: str = ""
    source: Path | None = None  # the file it was read from (None: written in the suite)
    item: int = -1  # its item of the suite's `prompts:` (0-based; a file of `---` parts gives several prompts)


def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                finalize=lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)


def read_ref(ref: str, base: Path, root: Path | None = None) -> tuple[Path, str]:
    """The file a `file://` reference names (relative to `base`) and its text; it must resolve inside
    `root` (default `confine.data_root(base)`), so a suite cannot read `/etc` or `../../secrets`."""
    path = Path(ref.removeprefix("file://"))
    path = path if path.is_absolute() else base / path
    refs.check(ref, path, root if root is not None else confine.data_root(base), "referenced file", base)
    # one descriptor, a regular file, bounded: a fifo the agent made in the root blocked the `eval` tool's
    # thread (in the runner's process) for ever, and a file of 1 GiB was read whole
    try:
        with open_regular(path) as fh:
            raw = fh.read(max_bytes() + 1)
        if len(raw) > max_bytes():
            raise FatalError(f"{ref} is more than the limit of {max_bytes():,} bytes", location=str(path))
        return path, raw.decode("utf-8")
    except OSError as err:
        raise FatalError(f"cannot read {ref}: {err.strerror or err}", location=str(path)) from None


def load_prompts(config: dict[str, Any], base: Path, root: Path | None = None) -> list[Prompt]:
    raw = config.get("prompts")
    if raw is None:
        raise FatalError("the suite has no `prompts`", hint="add prompts: [file://prompt.txt]")
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for n, item in enumerate(items):
        for prompt in item_prompts(item, base, root):
            prompt.item = n
            out.append(prompt)
    return out


_AT_LINE = re.compile(r"(?P<path>.+):(?P<line>[1-9]\d*)(?:-\d+)?")


def prompt_at_line(wanted: str, suite_path: Path) -> int | None:
    """`SUITE:LINE` (or `SUITE:FIRST-LAST`, the place `eval prompts` prints): the item of the suite's `prompts:`
    whose lines hold LINE, 0-based, so one prompt written inline among several can be named where a path
    goes (a ticket's `prompt`, `--prompt`): its first line stays put while its own text is edited.
    None when `wanted` does not name this suite so; a line in no prompt is an error."""
    m = _AT_LINE.fullmatch(wanted)
    if m is None or Path(wanted).exists() or not Path(m["path"]).is_file() or \
            Path(m["path"]).resolve() != suite_path.resolve():
        return None
    from agentbook.evals.prompts import item_lines  # (it reads prompts through this module)

    line = int(m["line"])
    places = item_lines(yamlsafe.read_bytes(suite_path))
    for n, (first, last) in enumerate(places):
        if first <= line <= last:
            return n
    raise FatalError(f"line {line} of {m['path']} is in none of its prompts", location=f"{m['path']}:{line}",
                     hint="its prompts are at lines " + ", ".join(f"{a}-{b}" for a, b in places)[:300]
                          + " (`agentbook eval prompts SUITE` shows them)")


_SEPARATOR = re.compile(r"^---[ \t]*$\n?", re.MULTILINE)
# promptfoo reads a one-line prompt that looks like a file path as that file (`prompts: [prompt1.txt]`,
# its guide's own example); without this the path itself was sent as the prompt and every case "passed"
_BARE_PATH = re.compile(r"[\w.@-]+(?:/[\w.@-]+)*\.(?:txt|md|json|jsonl|ya?ml|j2|jinja2?|prompt)")


# promptfoo's prompt functions: `file://prompts.mjs:name`, `file://build.py` (a file it runs, not reads)
_PROMPT_FUNCTION = re.compile(r"file://.+\.([cm]?js|ts|py)(?::[\w.$]+)?")


def prompt_ref(item: Any) -> Any:
    """`item` as a `file://` reference when promptfoo would read it as a file, else unchanged."""
    if isinstance(item, str) and not item.startswith("file://") and _BARE_PATH.fullmatch(item):
        return "file://" + item
    return item


def item_prompts(item: Any, base: Path, root: Path | None) -> list[Prompt]:
    """promptfoo: a `.txt` prompt file may hold several prompts separated by lines of `---`."""
    item = prompt_ref(item)
    if isinstance(item, str) and item.startswith("file://") and item.endswith(".txt"):
        _path, text = read_ref(item, base, root)
        parts = [p for p in _SEPARATOR.split(text) if p.strip()]
        if len(parts) > 1:
            return [Prompt(f"{item}#{n + 1}", None, part.rstrip("\n"), _path) for n, part in enumerate(parts)]
    return [_prompt(item, base, root)]


def _prompt(item: Any, base: Path, root: Path | None) -> Prompt:
    label = ""
    if isinstance(item, dict):
        label = str(item.get("label") or item.get("id") or "")
        item = prompt_ref(item.get("raw") or item.get("id") or "")
    if not isinstance(item, str) or not item:
        raise FatalError(f"cannot read prompt {item!r}", hint="use a string or file:// path")
    if not item.startswith("file://"):
        return Prompt(label or item[:40], None, item)
    function = _PROMPT_FUNCTION.fullmatch(item)
    if function:  # read as a file it was "No such file or directory", the `:name` taken as part of the name
        language = "Python" if function.group(1) == "py" else "JavaScript"
        raise FatalError(f"prompt {item} is a {language} prompt function (promptfoo runs it to build each prompt), "
                         "which agentbook eval does not run",
                         hint="write what it returns as a template (prompts/x.txt with {{var}}, or a .json chat "
                              "of {role, content}) and name that file in the suite's prompts")
    path, text = read_ref(item, base, root)
    if path.suffix in (".json", ".yaml", ".yml"):
        chat = _data(path, text)
        if not isinstance(chat, list) or not all(isinstance(m, dict) and "role" in m for m in chat):
            raise FatalError("a chat prompt must be a list of {role, content}", location=str(path))
        return Prompt(label or item, chat, source=path)
    return Prompt(label or item, None, text, path)


def only_prompts(prompts: list[Prompt], wanted: str | None, suite_path: Path) -> list[Prompt]:
    """The prompts `eval run --prompt P` runs: the one(s) read from file P (a path as the user gives it) or
    labelled P; all of them for no P, the suite itself (its inline prompts, as `baseline --prompt` reads it) or
    a file no prompt is read from (the suite may include it).
    A suite comparing prompt versions runs each case on each, and fix-prompt changes one of them."""
    if not wanted:
        return prompts
    at = prompt_at_line(wanted, suite_path)
    if at is not None:
        return [p for p in prompts if p.item == at]
    path = Path(wanted).resolve() if Path(wanted).exists() else None
    if path is not None and path == suite_path.resolve():
        return prompts
    keep = [p for p in prompts if p.label == wanted or (path is not None and p.source is not None
                                                         and p.source.resolve() == path)]
    if not keep and path is not None:
        return prompts  # a file the suite reads some other way (an include, a prompt function): all, as before
    if not keep and wanted.isdigit() and 1 <= int(wanted) <= len(prompts):
        # the number `eval prompts` prints ([3]): an inline prompt's label is its first 40 characters, which
        # nobody types (dogfood: kevinschaul/llm-evals' three inline prompts, one ending in a space)
        return [prompts[int(wanted) - 1]]
    if not keep:
        raise FatalError(f"no prompt of the suite is {wanted}", location=str(suite_path),
                         hint="its prompts: " + ", ".join(f"[{n}] {p.label}" for n, p in enumerate(prompts, 1))[:400]
                              + " (name one by its file, its label, its number or SUITE:LINE; the suite itself runs "
                                "them all)")
    return keep


def _data(path: Path, text: str) -> Any:
    """A referenced .json/.yaml file's content; a broken one is an error at its file:line:col."""
    if path.suffix != ".json":
        return yamlsafe.load(text, str(path), loader=Loader)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise FatalError(f"invalid JSON: {err.msg}", location=f"{path}:{err.lineno}:{err.colno}",
                         hint="fix the syntax, then retry") from None


def resolve_vars(defaults: dict[str, Any], case_vars: dict[str, Any], base: Path,
                 root: Path | None = None) -> dict[str, Any]:
    merged = {**(defaults or {}), **(case_vars or {})}
    out: dict[str, Any] = {}
    for name, value in merged.items():
        if isinstance(value, str) and value.startswith("file://"):
            path, text = read_ref(value, base, root)
            value = _data(path, text) if path.suffix in (".json", ".yaml", ".yml") else text
        out[str(name)] = value
    return out


def render(prompt: Prompt, variables: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system, messages) for the Messages API."""
    env = _env()
    try:
        if prompt.chat is None:
            text = env.from_string(prompt.text).render(variables)
            chat = _chat_text(text, prompt.label)
            if chat is None:
                return None, [{"role": "user", "content": text}]
            return _to_messages(chat, lambda content: content)
        return _to_messages(prompt.chat, lambda content: env.from_string(content).render(variables))
    except jinja2.UndefinedError as err:
        raise FatalError(f"prompt {prompt.label}: {err.message}",
                         hint="add the variable to the case's vars or to defaultTest.vars") from None
    except jinja2.TemplateError as err:
        raise FatalError(f"prompt {prompt.label}: template error: {err}") from None


def _chat_text(text: str, label: str) -> list[dict[str, Any]] | None:
    """A rendered text prompt that is a chat, as promptfoo's providers read it: one that starts with
    `- role:` is YAML (an error when it does not parse), one that parses as a JSON list of `{role,
    content}` is that list; any other text is one user message (None)."""
    head = text.lstrip()
    if head.startswith("- role:"):
        chat = yamlsafe.load(text, label)
    elif head.startswith("["):
        try:
            chat = json.loads(text)
        except json.JSONDecodeError:
            return None
    else:
        return None
    if isinstance(chat, list) and chat and all(isinstance(m, dict) and isinstance(m.get("role"), str)
                                               for m in chat):
        return chat
    if head.startswith("- role:"):
        raise FatalError(f"prompt {label}: a chat prompt must be a list of {{role, content}}",
                         hint="each item needs role: and content:")
    return None


def chat_template(prompt: Prompt) -> list[dict[str, Any]] | None:
    """The prompt's messages as templates: its chat, or a text prompt's own `- role:` / JSON list read
    before rendering (None when that does not parse: it is a chat only once rendered, or plain text)."""
    if prompt.chat is not None:
        return prompt.chat
    try:
        return _chat_text(prompt.text, prompt.label)
    except FatalError:
        return None


def _to_messages(chat: list[dict[str, Any]], fill: Callable[[str], str]) -> tuple[str | None, list[dict[str, Any]]]:
    """System messages joined into `system`, the rest as Messages API messages, each content `fill`ed."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for m in chat:
        content = fill(str(m.get("content", "")))
        if m["role"] == "system":
            system.append(content)
        else:
            messages.append({"role": m["role"], "content": content})
    return ("\n\n".join(system) or None), messages


def render_value(value: Any, variables: dict[str, Any]) -> Any:
    """promptfoo renders `{{var}}` inside assertion values too (`value: '{{expected}}'`)."""
    if not isinstance(value, str) or "{{" not in value:
        return value
    try:
        return _env().from_string(value).render(variables)
    except jinja2.UndefinedError as err:
        raise FatalError(f"assertion value {value!r}: {err.message}",
                         hint="add the variable to the case's vars or to defaultTest.vars") from None
    except jinja2.TemplateError as err:
        raise FatalError(f"assertion value {value!r}: template error: {err}") from None


# `{text}` (Python's str.format) where `{{text}}` was meant: Nunjucks leaves it as written
_SINGLE_BRACE = re.compile(r"(?<!\{)\{\s*([A-Za-z_]\w*)\s*\}(?!\})")


def literal_braces(prompt: Prompt) -> list[str]:
    """Names the prompt writes in single braces (`{text}`) and its template never reads: promptfoo's Nunjucks
    sends them as written, so a case's `vars.text` never reaches the model and every case gets the same
    prompt (a real suite's prompt files did this; its cases could not fail for what they held)."""
    from jinja2 import meta

    texts = [prompt.text] if prompt.chat is None else [str(m.get("content", "")) for m in prompt.chat
                                                        if isinstance(m, dict)]
    names: list[str] = []
    for text in texts:
        try:
            read = meta.find_undeclared_variables(_env().parse(text))
        except jinja2.TemplateSyntaxError:
            read = set()  # rendering names the error
        names += [n for n in _SINGLE_BRACE.findall(text) if n not in read and n not in names]
    return names
