"""`python -m assistant PROMPT --var k=v ... --model SPEC`: call one prompt from the shell."""

from __future__ import annotations

import argparse
import asyncio
import sys

from assistant.harness import PROMPTS, ask, render


def main(argv: list[str] | None = None) -> int:
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
