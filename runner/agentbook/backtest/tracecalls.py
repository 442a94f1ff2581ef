"""What a failure's trace did, beyond its errors: the calls it made and the identifiers their arguments name.

Some causes leave no error in the trace but leave a mark in what the run did: the SQL a text-to-SQL
assistant ran selects a renamed column (`i.amount` where runs that went right select `i.amount_net`),
joins a table the right runs never join (`invoice_lines`), a coding agent calls a tool the others do
not. The exported trace (`agentbook trace export`, the same layout whatever the input format) lists
every span in `index.tsv` (folder, kind, name) and each tool span's arguments in `tool/args.json`. Per
investigation this reads:

- per span in index.tsv, its kind and name, as `call_<kind>_<name>` (numbers, ids and quoted values
  masked as in error text: `GET /users/8812` is `call_tool_get_users_n`);
- per tool span (at most TOOL_SPANS), the identifiers its arguments name (`arg_<identifier>`): words of
  letters, digits, `_`, `.`, `/` and `-` that hold no digit (a number, id, hash, date or size varies
  per run and is never evidence), with every quoted literal inside a value ('nordhavn', "Q3") left out:
  it is the run's data (a customer, a user's words), not what the run did.

- per model span (kind `llm`, at most SAID_SPANS), the words of what the model said (its `output.md`,
  `said_<word>`), and per tool span (at most TOOL_SPANS) the identifiers of what the tool returned (its
  `tool/result.txt`, `got_<identifier>`, a JSON true/false as `got_<key>_true`): some causes are
  recorded nowhere else (a model that states the calendar quarter it summed, a result flagged as cut).
  Words of at least 3 letters, no stop word, none holding a digit, quoted passages left out, at most
  SAID_TERMS per trace, after the calls and arguments (which the term budget serves first).

None of these is evidence alone: every run calls the same tools with mostly the same words. Which terms
count is decided against the runs that went right (`features.passing_contrast`): a term is kept only
when failures carry it clearly more often than passing runs (a one-sided Fisher exact test, corrected
for the many terms tested), so only what tells failures apart remains.

Bounded: INDEX_BYTES of each index.tsv, ARGS_BYTES of each args.json, result.txt and output.md, TOOL_SPANS
tool spans, SAID_SPANS model spans and
TERMS_PER_FAILURE distinct terms per investigation (TRACE_FILES traces when it holds several). Every file
is data from an attacker's trace: a folder named in index.tsv is used only if it is a plain relative
path the exporter could have written and stays inside the trace without a symlink; files are opened
without following symlinks, regular files only, and only become lower-cased tokens.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from agentbook.backtest.features import normalise_error
from agentbook.backtest.folder import TRACE_DIR
from agentbook.backtest.traceterms import TRACE_FILES, read_capped, trace_folders
from agentbook.fsutil import open_regular
from agentbook.traces.conservation import _all_strings as json_strings

INDEX_BYTES = 64_000  # of each index.tsv: ~600 spans' rows
ARGS_BYTES = 4_000  # of each tool span's args.json
TOOL_SPANS = 32  # tool spans whose arguments are read, per trace
TERMS_PER_FAILURE = 400  # distinct terms kept per investigation
SAID_SPANS = 16  # model spans whose output is read, per trace
SAID_TERMS = 200  # distinct words of model outputs and tool results kept per trace
OUTPUTS = True  # read model outputs and tool results (besides calls and arguments)? See ARCHITECTURE.md
_IDENT = re.compile(r"[a-z_][a-z0-9_./-]*[a-z0-9_]")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
# In prose a quote opens and closes at a word's edge (an apostrophe inside "account's" does not)
_PROSE_QUOTED = re.compile(r"(?<!\w)(?:'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`|“[^”\n]*”)(?!\w)")
# the lines traces/render.py writes around a model's words in output.md
_EXPORTER_LINE = re.compile(r"# output of span |\d+ message\(s\); |- `messages/|## \w+$|finish reason: ")
_PROSE_WORD = re.compile(r"[a-z][a-z_-]*[a-z]")
_FOLDER = re.compile(r"^(?:[a-z0-9_][a-z0-9._-]*/)+$")  # the exporter's folder names: a-z0-9._- only
_NAME = re.compile(r"[^a-z0-9_.]+")


def call_terms(investigation: Path, outputs: bool | None = None) -> list[str]:
    """The call and argument terms of an investigation's exported trace(s), then (with `outputs`, OUTPUTS
    by default) what its models said and its tools returned; each once, in order."""
    seen: dict[str, None] = {}
    for trace in trace_folders(investigation / TRACE_DIR)[:TRACE_FILES]:
        for term in _terms_of(trace, OUTPUTS if outputs is None else outputs):
            seen.setdefault(term, None)
            if len(seen) >= TERMS_PER_FAILURE:
                return list(seen)
    return list(seen)


def _terms_of(trace: Path, outputs: bool) -> list[str]:
    out: list[str] = []
    said: dict[str, None] = {}
    tools = models = 0
    for folder, kind, name in _rows(read_capped(trace / "index.tsv", INDEX_BYTES)):
        out.append(f"call_{_NAME.sub('_', normalise_error(f'{kind} {name}')).strip('_')}")
        if kind == "tool" and tools < TOOL_SPANS and _FOLDER.match(folder):
            tools += 1
            out += [f"arg_{t}" for t in argument_identifiers(_read_inside(trace, folder + "tool/args.json"))]
            if outputs:
                said.update((f"got_{t}", None) for t in result_identifiers(_read_inside(trace, folder + "tool/result.txt")))
        elif kind == "llm" and outputs and models < SAID_SPANS and _FOLDER.match(folder):
            models += 1
            said.update((f"said_{w}", None) for w in prose_words(model_said(_read_inside(trace, folder + "output.md"))))
    return out + list(said)[:SAID_TERMS]


def model_said(output_md: str) -> str:
    """What a model said, from its span's output.md: the exporter's own lines (the heading, the message
    list with its previews, each message's role heading, finish reasons) left out."""
    return "\n".join(line for line in output_md.splitlines() if not _EXPORTER_LINE.match(line))


def prose_words(text: str) -> list[str]:
    """The words of a model's output, each once, lower-cased: quoted passages (the run's data, a user's
    words) left out, and words under 3 letters, stop words and anything holding a digit."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    seen: dict[str, None] = {}
    for token in _PROSE_QUOTED.sub(" ", text.lower()).split():
        if any(c.isdigit() for c in token):
            continue
        for word in _PROSE_WORD.findall(token):
            if len(word) >= 3 and word not in ENGLISH_STOP_WORDS and len(word) <= 64:
                seen.setdefault(word, None)
    return list(seen)


def result_identifiers(text: str) -> list[str]:
    """The identifiers of what a tool returned: as `argument_identifiers` (keys and string values), plus
    each JSON true/false as `<key>_true` / `<key>_false` (a flag is the one value that is not the run's
    data); a result that is not JSON, as prose (`prose_words`)."""
    try:
        value = json.loads(text)
    except ValueError:  # plain text, or cut at ARGS_BYTES
        return prose_words(text)
    seen = dict.fromkeys(argument_identifiers(text))
    for key, flag in _flags(value):
        if (ident := _NAME.sub("_", key.lower()).strip("_")) and not any(c.isdigit() for c in ident):
            seen.setdefault(f"{ident[:58]}_{str(flag).lower()}", None)
    return list(seen)


def _flags(value: object, key: str = "", depth: int = 0) -> list[tuple[str, bool]]:
    """(key, flag) for each JSON boolean under a key, walked to a bounded depth."""
    if isinstance(value, bool):
        return [(key, value)] if key else []
    if depth >= 8:
        return []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _flags(v, str(k), depth + 1)]
    if isinstance(value, list):
        return [f for v in value for f in _flags(v, key, depth + 1)]
    return []


def _rows(text: str) -> list[tuple[str, str, str]]:
    """(folder, kind, name) per span row of index.tsv; the header and malformed rows are skipped."""
    rows = []
    for line in text.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 3:
            rows.append((cols[0], cols[1], cols[2]))
    return rows


def _read_inside(trace: Path, rel: str) -> str:
    """A file under the trace folder, "" unless every folder on the way is a real folder (no symlink)."""
    path = trace
    for part in rel.split("/")[:-1]:
        if part in ("", ".", ".."):
            return ""
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return ""
    try:
        with open_regular(path / rel.split("/")[-1], follow=False) as fh:
            return fh.read(ARGS_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def argument_identifiers(text: str) -> list[str]:
    """The identifiers a tool call's arguments name (see the module doc), each once, lower-cased."""
    try:
        values = list(json_strings(json.loads(text)))  # every key and string value
    except ValueError:  # not JSON, or cut at ARGS_BYTES: the text as it is
        values = [text]
    seen: dict[str, None] = {}
    for value in values:
        for ident in _IDENT.findall(_QUOTED.sub(" ", value.lower())):
            if not any(c.isdigit() for c in ident) and len(ident) <= 64:
                seen.setdefault(ident, None)
    return list(seen)

