"""Synthetic suites in promptfoo's style, for benchmarks and tests: big captured logs per case."""

from __future__ import annotations


def synthetic_suite(n: int, *, case_bytes: int = 400, ids: bool = True) -> str:
    """A single-file suite with `n` cases of roughly `case_bytes` bytes each (mostly a `logs` block)."""
    out = ["# generated suite: incident triage cases captured from production\n",
           "description: Incident triage\nprompts:\n  - file://prompts/triage.txt\n",
           "providers:\n  - anthropic:messages:claude-sonnet-4-5\ntests:\n"]
    for i in range(n):
        lines, size, j = [], 0, 0
        while size < case_bytes - 330:
            line = (f"        2026-01-01T00:{j // 60 % 60:02d}:{j % 60:02d}Z svc-{(i * 7 + j) % 23:02d} "
                    f"level=info msg=\"request handled\" case={i} latency_ms={(i * 31 + j * 17) % 997}\n")
            lines.append(line)
            size += len(line)
            j += 1
        head = f"  - id: case-{i:05d}\n    description: 'triage incident {i}'\n" if ids else \
            f"  - description: 'triage incident {i}'\n"
        out.append(f"  # case {i}: captured from INC-{1000 + i}\n{head}"
                   f"    vars:\n      question: \"What failed in incident {i}?\"\n      logs: |\n"
                   f"{''.join(lines)}    assert:\n      - type: icontains\n        value: svc-{i % 23:02d}\n"
                   f"      - type: llm-rubric\n        value: Names the failing service\n"
                   f"    metadata:\n      source: prod\n")
    return "".join(out)
