"""Bash allow-lists: a command line parsed into simple commands, each matched word by word.

A pattern is a command line whose words are fnmatch patterns (`agentbook eval *`, `git diff*`); a
last word ending in `*` also takes any further words (`git log*` allows `git log --oneline -5`). A
command line is allowed when every simple command in it matches a pattern. How much shell syntax
may join them depends on where the line runs:

- under bubblewrap (`shell=True`) the line goes to bash: pipes, `&&`, `||`, `;`, newlines,
  redirections and here-documents are fine (the sandbox confines what they write);
- without it (`shell=False`) the line is run without a shell, so only one plain command is allowed.

Either way, anything that would run a command the parser cannot see is refused: command and process
substitution (`$(...)`, backticks, `<(...)`), subshells and groups, background jobs, and expanding
here-documents that contain a substitution. The session (bash tool) and the runbooks (plan checks and
the skill/runbook agreement test) share this module.
"""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import dataclass, field

OPERATORS = ("&&", "||", ";;", "|&", "|", ";", "&")  # longest first
REDIRECTS = ("<<-", "<<<", "<<", "&>>", "&>", ">>", ">&", "<&", ">|", "<>", ">", "<")


class Refused(ValueError):
    """A command line the allow-list cannot accept; `str()` is a sentence for the agent."""


@dataclass
class Command:
    """One simple command: its words (quotes removed), whether a redirection or here-doc came with it,
    and the operator that joins it to the next command (`|`, `&&`, `;`, a newline as `\\n`)."""

    words: list[str] = field(default_factory=list)
    redirected: bool = False
    heredoc: bool = False
    after: str | None = None

    def text(self) -> str:
        return shlex.join(self.words)


@dataclass
class Parsed:
    commands: list[Command]
    shell_syntax: str | None  # the first operator or redirection seen, if any


def parse(line: str) -> Parsed:
    """Split `line` into simple commands. Refused for syntax that hides a command from the parser."""
    return _Parser(line).run()


def matches(words: list[str], pattern: str) -> bool:
    """True when one simple command's words match `pattern` (see the module doc)."""
    try:
        pat = shlex.split(pattern)
    except ValueError:
        return False
    if not pat:
        return False
    last = pat[-1]
    if last.endswith("*"):
        head = pat[:-1]
        if len(words) < len(head) + (0 if last == "*" else 1):
            return False
        if last != "*" and not fnmatch.fnmatchcase(words[len(head)], last):
            return False
    elif len(words) != len(pat):
        return False
    else:
        head = pat
    return all(fnmatch.fnmatchcase(w, p) for w, p in zip(words, head, strict=False))


def check_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot be an allow-list entry, or None."""
    try:
        words = shlex.split(pattern)
    except ValueError as err:
        return f"allow-list pattern {pattern!r} does not parse: {err}"
    if not words:
        return "an allow-list pattern is empty"
    if any(ch in pattern for ch in ";|&<>`$()\n"):
        return f"allow-list pattern {pattern!r} contains shell syntax; list each command as its own pattern"
    return None


def check(line: str, allow: list[str], shell: bool) -> str | None:
    """Why `line` may not run under `allow` (a sentence that says what is allowed), or None."""
    allowed = f"allowed: {', '.join(allow) or 'nothing'}"
    try:
        parsed = parse(line.strip())
    except Refused as err:
        return f"{err} ({allowed})"
    if not parsed.commands:
        return "empty command"
    if not shell and parsed.shell_syntax is not None:
        return (f"command uses shell syntax {parsed.shell_syntax!r}; without bubblewrap only single plain "
                f"commands run, without a shell ({allowed})")
    for command in parsed.commands:
        if not any(matches(command.words, p) for p in allow):
            which = "" if len(parsed.commands) == 1 else f" {command.text()!r}"
            return f"command{which} not in the allow-list ({allowed})"
    return None


def argv(line: str) -> list[str]:
    """The words of a line that `check(..., shell=False)` accepted: one plain command."""
    parsed = parse(line.strip())
    if len(parsed.commands) != 1 or parsed.shell_syntax is not None:
        raise Refused("not a single plain command")
    return parsed.commands[0].words


class _Parser:
    """A small POSIX-shell lexer: enough to find every command a line would run, refusing the rest."""

    def __init__(self, line: str) -> None:
        self.s, self.i = line, 0
        self.commands: list[Command] = []
        self.current = Command()
        self.word: list[str] | None = None  # the word being read, None between words
        self.syntax: str | None = None
        self.heredocs: list[tuple[str, bool, bool]] = []  # (delimiter, quoted, strip tabs)
        self.want_target: str | None = None  # a redirection waiting for its word

    def run(self) -> Parsed:
        while self.i < len(self.s):
            self._step()
        self._end_word()
        if self.want_target is not None:
            raise Refused(f"redirection {self.want_target!r} has no target")
        if self.heredocs:
            raise Refused("here-document without its body")
        self._end_command()
        return Parsed(self.commands, self.syntax)

    # -- one character (or operator) at a time ----------------------------------------------------

    def _step(self) -> None:
        s, ch = self.s, self.s[self.i]
        if ch in " \t":
            self._end_word()
            self.i += 1
        elif ch == "\n":
            self._end_word()
            self._separator("\\n")
            self.i += 1
            self._read_heredoc_bodies()
        elif ch == "#" and self.word is None:
            while self.i < len(s) and s[self.i] != "\n":
                self.i += 1
        elif ch == "\\":
            if self.i + 1 < len(s) and s[self.i + 1] == "\n":  # a line continuation
                self.i += 2
            else:
                self._char(s[self.i + 1: self.i + 2])
                self.i += 2
        elif ch == "'":
            end = s.find("'", self.i + 1)
            if end < 0:
                raise Refused("unclosed single quote")
            self._char(s[self.i + 1:end])
            self.i = end + 1
        elif ch == '"':
            self._double_quoted()
        elif ch == "`":
            raise Refused("command substitution (`...`) is not allowed")
        elif ch == "$" and s[self.i + 1: self.i + 2] == "(":
            raise Refused("command substitution $(...) is not allowed")
        elif ch in "<>" and s[self.i + 1: self.i + 2] == "(":
            raise Refused(f"process substitution {ch}(...) is not allowed")
        elif ch in "()":
            raise Refused("subshells (...) are not allowed")
        elif ch in "{}" and self.word is None and self._standalone(1):
            raise Refused("command groups { ...; } are not allowed")
        elif ch in "<>&|;" or (ch.isdigit() and self.word is None and self._fd_redirect()):
            self._operator()
        else:
            self._char(ch)
            self.i += 1

    def _standalone(self, width: int) -> bool:
        nxt = self.s[self.i + width: self.i + width + 1]
        return nxt == "" or nxt in " \t\n;&|"

    def _fd_redirect(self) -> bool:
        j = self.i
        while j < len(self.s) and self.s[j].isdigit():
            j += 1
        return j < len(self.s) and self.s[j] in "<>"

    def _double_quoted(self) -> None:
        s, j, out = self.s, self.i + 1, []
        while j < len(s) and s[j] != '"':
            if s[j] == "\\" and j + 1 < len(s) and s[j + 1] in '"\\$`\n':
                out.append(s[j + 1])
                j += 2
                continue
            if s[j] == "`" or s[j:j + 2] == "$(":
                raise Refused("command substitution inside double quotes is not allowed")
            out.append(s[j])
            j += 1
        if j >= len(s):
            raise Refused("unclosed double quote")
        self._char("".join(out))
        self.i = j + 1

    def _operator(self) -> None:
        self._end_word()
        j = self.i
        while j < len(self.s) and self.s[j].isdigit():
            j += 1
        rest = self.s[j:]
        redirect = next((r for r in REDIRECTS if rest.startswith(r)), None)
        if redirect is not None:
            self.i = j + len(redirect)
            self.syntax = self.syntax or redirect
            self.current.redirected = True
            if redirect in (">&", "<&") and self._dup_target():
                return
            self.want_target = redirect
            return
        op = next(o for o in OPERATORS if rest.startswith(o))
        self.i = j + len(op)
        if op == "&":
            raise Refused("background jobs (&) are not allowed")
        if op == ";;":
            raise Refused("case statements are not allowed")
        self._separator(op)

    def _dup_target(self) -> bool:
        """`2>&1`, `>&-`: a file-descriptor duplication, no file name follows."""
        j = self.i
        while j < len(self.s) and (self.s[j].isdigit() or self.s[j] == "-"):
            j += 1
        if j > self.i and self._standalone_at(j):
            self.i = j
            return True
        return False

    def _standalone_at(self, j: int) -> bool:
        nxt = self.s[j: j + 1]
        return nxt == "" or nxt in " \t\n;&|<>"

    def _separator(self, op: str) -> None:
        if op != "\\n":
            self.syntax = self.syntax or op
            if not self.current.words and not self.current.redirected:
                raise Refused(f"{op!r} without a command before it")
        elif self.current.words or self.current.redirected:
            self.syntax = self.syntax or "\n"
        self.current.after = op if (self.current.words or self.current.redirected) else None
        self._end_command()

    # -- words -------------------------------------------------------------------------------------

    def _char(self, text: str) -> None:
        if self.word is None:
            self.word = []
        self.word.append(text)

    def _end_word(self) -> None:
        if self.word is None:
            return
        text, self.word = "".join(self.word), None
        if self.want_target is not None:
            if self.want_target in ("<<", "<<-"):
                raw = self._raw_word_before()
                quoted = any(q in raw for q in "'\"\\")
                self.heredocs.append((text, quoted, self.want_target == "<<-"))
                self.current.heredoc = True
            self.want_target = None
            return
        self.current.words.append(text)

    def _raw_word_before(self) -> str:
        """The source text of the word that just ended (to see whether a here-doc delimiter was quoted)."""
        j = self.i
        while j > 0 and self.s[j - 1] not in " \t\n<>;&|":
            j -= 1
        return self.s[j:self.i]

    def _end_command(self) -> None:
        if self.current.words or self.current.redirected:
            if not self.current.words:
                raise Refused("a redirection without a command")
            self.commands.append(self.current)
        self.current = Command()

    def _read_heredoc_bodies(self) -> None:
        for delimiter, quoted, strip in self.heredocs:
            while True:
                if self.i >= len(self.s):
                    raise Refused(f"here-document not closed by {delimiter!r}")
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                line = self.s[self.i:end]
                self.i = min(end + 1, len(self.s))
                if (line.lstrip("\t") if strip else line) == delimiter:
                    break
                if not quoted and ("`" in line or "$(" in line):
                    raise Refused("command substitution inside an unquoted here-document is not allowed; "
                                  "quote the delimiter (<<'EOF')")
        self.heredocs = []
