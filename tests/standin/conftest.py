"""Stand-in fixtures: stand-in servers on loopback built from script text written by the test."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from agentbook.models.governor import GOVERNOR
from agentbook.standin import StandinServer, parse_script, running, stop_all


@pytest.fixture
def standin() -> Iterator[Callable[[str], StandinServer]]:
    with ExitStack() as stack:
        yield lambda text: stack.enter_context(running(parse_script(textwrap.dedent(text), "test.script.yaml")))
    stop_all()
    GOVERNOR.reset()
