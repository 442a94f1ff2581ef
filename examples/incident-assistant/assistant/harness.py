"""Render a prompt from `prompts/` and send it to a model (any agentbook model spec)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from agentbook.models import load_model
from agentbook.models.base import ModelRequest

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = {"logql": "logql.md", "summarise-alert": "summarise-alert.md", "root-cause": "root-cause.md"}
# The same `{{var}}` syntax promptfoo (nunjucks) and `agentbook eval run` (Jinja2) render.
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render(prompt: str, variables: dict[str, str]) -> str:
    """The user message the production system sends for `prompt` with `variables` filled in."""
    if prompt not in PROMPTS:
        raise KeyError(f"unknown prompt {prompt!r}; known: {', '.join(PROMPTS)}")
    template = (ROOT / "prompts" / PROMPTS[prompt]).read_text(encoding="utf-8")
    return _ENV.from_string(template).render(**variables)


async def ask(prompt: str, variables: dict[str, str], model_spec: str, max_tokens: int = 1024) -> str:
    """One completion: the rendered prompt as a single user message, the model's text back."""
    model = load_model(model_spec)
    try:
        request = ModelRequest(messages=[{"role": "user", "content": render(prompt, variables)}],
                               max_tokens=max_tokens)
        response = await model.complete(request)
    finally:
        await model.aclose()
    return response.text().strip()
