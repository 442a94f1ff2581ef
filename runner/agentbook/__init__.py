"""agentbook: skills, runbooks and a headless runner for debugging production AI systems.

The library is the API; `agentbook.cli` is a thin layer that parses arguments and prints.
"""

__version__ = "0.1.0"
