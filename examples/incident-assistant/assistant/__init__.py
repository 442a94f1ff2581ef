"""The incident assistant: three prompts an on-call bot uses, called through agentbook's model layer.

This is the "production AI system" the agentbook workflows practise on. It is deliberately small:
the interesting part is the prompts in `prompts/` and the eval suites in `evals/` that pin them down.
"""

from assistant.harness import PROMPTS, ask, render

__all__ = ["PROMPTS", "ask", "render"]
