"""`python -m assistant PROMPT --var k=v ... --model SPEC`: call one prompt from the shell.

`python -m assistant investigate [--model SPEC] < incident.json`: one whole investigation (the entry
point `agentbook backtest run backtest/run/run.yaml OUT` calls), its answer as JSON on stdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from assistant.harness import PROMPTS, ask, render


def investigate_main(argv: list[str]) -> int:
    from assistant.investigate import investigate

    parser = argparse.ArgumentParser(prog="python -m assistant investigate",
                                     description="One investigation: the incident JSON on stdin, the answer on stdout.")
    parser.add_argument("--model", help="agentbook model spec (default: $AGENTBOOK_MODEL, else the scripted stand-in)")
    args = parser.parse_args(argv)
    incident = json.load(sys.stdin)
    print(json.dumps(asyncio.run(investigate(incident, args.model)), ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["investigate"]:
        return investigate_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m assistant", description=__doc__)
    parser.add_argument("prompt", choices=sorted(PROMPTS))
    parser.add_argument("--var", action="append", default=[], metavar="K=V", help="a prompt variable")
    parser.add_argument("--model", default="scripted:evals/sut.script.yaml",
                        help="agentbook model spec (default: the scripted stand-in, no API key)")
    parser.add_argument("--render-only", action="store_true", help="print the rendered prompt and stop")
    args = parser.parse_args(argv)
    variables = dict(pair.split("=", 1) for pair in args.var if "=" in pair)
    if args.render_only:
        print(render(args.prompt, variables))
        return 0
    print(asyncio.run(ask(args.prompt, variables, args.model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
