"""Trace export: read any supported trace format into one span tree, write it as a folder.

Library API (the backtest pipeline imports these): `read_trace(path, format="auto") -> list[Trace]`
and `export_trace(trace, out_dir) -> ExportSummary`; `summarize(trace)` for a one-screen overview.
"""

from __future__ import annotations

from .export import ExportSummary, export_trace
from .model import Message, Span, ToolCall, Trace
from .read import FORMATS, read_trace
from .summary import summarize, summary_text

__all__ = ["FORMATS", "ExportSummary", "Message", "Span", "ToolCall", "Trace", "export_trace", "read_trace",
           "summarize", "summary_text"]
