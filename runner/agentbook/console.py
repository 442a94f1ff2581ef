"""Printing without click: what `agentbook.cli.main` and the commands the launcher answers before click
loads (`agentbook.launcher`) both use, so the two print the same bytes.

`echo` writes as `click.echo` does (one write of the text and a newline, then a flush).
`redacted_output` puts every write through the process's redactor, and shows every character a
terminal would act on as its escape (`fence.visible`): agentbook itself prints no escape sequence, so
any is a ticket's, a trace's or a model's, and must not drive the reader's terminal.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator

from agentbook.errors import FatalError
from agentbook.fence import visible
from agentbook.redaction import StreamRedactor, process_redactor

TYPE_CHECKING = False  # typing's own constant would import `typing`, which the fast path does not need
if TYPE_CHECKING:
    from typing import Any


def echo(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def json_text(obj: Any) -> str:
    """What `--json` prints for a command's result."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


def report_fatal(err: FatalError, as_json: bool) -> int:
    """A user error: its message on stderr (and as a JSON object on stdout with --json); its exit code."""
    echo(f"agentbook: error: {err.render()}", err=True)
    if as_json:
        json_error(err.to_json())
    return err.exit_code


def json_error(obj: dict[str, object]) -> None:
    """With --json, an error is one JSON object on stdout (the text stays on stderr for people)."""
    try:
        echo(json.dumps(obj, ensure_ascii=False, default=str))
    except BrokenPipeError:
        pass


class _RedactingStream:
    """A text stream that passes every write through the redactor: nothing the CLI prints (a model's
    reply, a ticket title, a traceback) shows a secret this process holds, in any of its forms, or
    drives the terminal it is shown on."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._stream = StreamRedactor()  # a key printed in two writes is replaced whole

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")  # how click tells text streams from binary
        self._inner.write(visible(self._stream.feed(text, process_redactor())))
        return len(text)

    def close_stream(self) -> None:
        """Write what was held back as the possible start of a secret (the command has printed its last)."""
        rest = self._stream.close(process_redactor())
        if rest:
            self._inner.write(visible(rest))
            self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # writing bytes past the redactor is not offered
            raise AttributeError(name)
        return getattr(self._inner, name)


def unredacted(stream: Any) -> Any:
    """The stream under the redactor, for a writer whose escape codes are its own (a progress bar
    that draws only counts and a label agentbook chose); any other stream as it is."""
    return stream._inner if isinstance(stream, _RedactingStream) else stream


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """stdout and stderr redacted for the duration (the CLI's `main` runs every command inside)."""
    out, err = sys.stdout, sys.stderr
    redacting = _RedactingStream(out), _RedactingStream(err)
    sys.stdout, sys.stderr = redacting
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        for stream in redacting:
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more reaches the reader
                stream.close_stream()
