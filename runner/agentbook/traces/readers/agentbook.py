"""agentbook's own session transcripts (`transcript.jsonl`)."""

from __future__ import annotations

from ..load import Documents
from ..model import Trace
from ..transcript import is_transcript, read_transcript
from . import Reader


def _read(docs: Documents, source: str) -> list[Trace]:
    return read_transcript((d for d in docs.iterate() if isinstance(d, dict)), source)


READER = Reader(name="agentbook", priority=10, detect=is_transcript, read=_read,
                expects="agentbook transcript (JSON Lines with `event` and `session` on each line)")
