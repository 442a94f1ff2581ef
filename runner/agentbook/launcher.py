"""The `agentbook` console script. `agentbook --version` is answered here, before the CLI (click, and
whatever the command imports) is loaded: a bot or a skill checking which agentbook it has pays for
the standard library and one `git rev-parse` in a checkout, nothing more."""

from __future__ import annotations

import sys

VERSION_FLAGS = (["--version"], ["-V"])


def main() -> None:
    if sys.argv[1:] in VERSION_FLAGS:
        from agentbook.version import version_info

        print(version_info().line())
        sys.exit(0)
    from agentbook.cli import console_main

    console_main()
