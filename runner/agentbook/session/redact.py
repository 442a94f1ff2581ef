"""The session's redactor is `agentbook.redaction` (kept light: the CLI's printing uses it too)."""

from agentbook.redaction import KEY_SHAPES, REDACTED, Redactor

__all__ = ["KEY_SHAPES", "REDACTED", "Redactor"]
