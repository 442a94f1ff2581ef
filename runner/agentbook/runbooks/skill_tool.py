"""The `skill` tool: progressive disclosure of Agent Skills. The system prompt lists each skill's
name and description; the agent calls `skill` to read one's full SKILL.md body, or a file inside
its folder (references/, scripts/, assets/) when the body points to one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentbook.catalog.skill import folder_files
from agentbook.fsutil import open_regular
from agentbook.session.paths import git_data_places
from agentbook.session.tools import ToolContext, ToolResult

MAX_CHARS = 40_000
MAX_LISTED = 50  # files of a skill's folder named when its body is read


class SkillTool:
    name = "skill"
    description = ("Read the full instructions of a skill listed in the system prompt, or one file "
                   "inside that skill's folder (e.g. references/guide.md).")
    read_only = True

    def __init__(self, skills: dict[str, tuple[Path, str]] | None = None) -> None:
        self.input_schema: dict[str, Any] = {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "The skill's name"},
                           "file": {"type": "string", "description": "Optional path inside the skill folder"}},
            "required": ["name"],
        }
        # name -> (SKILL.md path, body); None loads the catalog of the tool's root on first use
        self._skills = skills

    def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        skills = self._skills if self._skills is not None else _catalog_skills(ctx.root)
        name = str(args.get("name", ""))
        if name not in skills:
            return ToolResult(f"no skill named {name!r}; available: {', '.join(sorted(skills)) or 'none'}",
                              is_error=True)
        path, body = skills[name]
        rel = args.get("file")
        if not rel:
            files, more = folder_files(path.parent, path.name, MAX_LISTED)
            listing = ("\n\nFiles in this skill (read one with the `file` argument): " + ", ".join(files)
                       + (" and more (the body names the ones to read)" if more else "") if files else "")
            return ToolResult(_bounded(body.strip() + listing))
        folder = path.parent.resolve()
        target = (path.parent / str(rel)).resolve()
        if not target.is_relative_to(folder) or _git_data(folder, target):
            return ToolResult(f"no file {rel!r} in skill {name!r}", is_error=True)
        try:
            with open_regular(target) as handle:  # a fifo cannot block, a huge file is read no further
                raw = handle.read(MAX_CHARS * 4 + 1)
        except OSError:
            return ToolResult(f"no file {rel!r} in skill {name!r}", is_error=True)
        text = raw.decode("utf-8", errors="replace")
        return ToolResult(_bounded(text) if len(raw) <= MAX_CHARS * 4 else
                          text[:MAX_CHARS] + "\n[truncated: the file is longer]")


def _git_data(folder: Path, target: Path) -> bool:
    """A skill folder that is, or links to, a checkout's top holds its git data, whose `config` keeps
    the CI job's token: the tool runs outside the jail, so it refuses what the file tools refuse."""
    inside = target.relative_to(folder).parts
    return any(part.lower() == ".git" for part in inside) or any(
        target == place or place in target.parents for place in git_data_places(folder))


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + f"\n[truncated: {len(text) - MAX_CHARS} chars]"


def _catalog_skills(root: Path) -> dict[str, tuple[Path, str]]:
    from agentbook.catalog import load_catalog

    return {s.name: (s.path, s.body) for s in load_catalog(root).skills}

