"""After a run: push its branch (only that ref) and open a pull request with the report as body.

A run with no commits pushes and opens nothing and says so. The PR is a draft unless the run
`completed` with every gate green. A run on a GitHub issue's ticket ends the body with the runner's own
`Closes #N` once the API confirms the issue is the ticket (issue_to_close).
"""

from __future__ import annotations

from typing import Any

from agentbook.errors import FatalError
from agentbook.fence import one_line, visible
from agentbook.gitops.github import GitHubClient, GitHubRepo, repo_from_remote
from agentbook.gitops.inert import inert
from agentbook.gitops.leaks import scan_push
from agentbook.gitops.push import push_branch
from agentbook.gitops.repo import Repo, remote_url
from agentbook.outcome import Outcome, OutcomeKind
from agentbook.redaction import process_redactor
from agentbook.runbooks.record import RunRecord
from agentbook.runbooks.tickets import text_sha256
from agentbook.secretscan import SecretScanner

PR_BODY_MAX = 60_000  # GitHub rejects bodies over 65,536 characters


def push_scan(repo: Repo, record: RunRecord, scanner: SecretScanner) -> Outcome | None:
    """Before a push, like GitHub push protection: every blob, commit message and the branch name the
    push would send, scanned for held secrets and key shapes. A hit: the push is off (recorded on
    the run) and the run ends `blocked` with file:line and the secret's name as evidence."""
    if not record.options.get("push") or not record.head or record.head == record.base_sha:
        return None
    hits = scan_push(repo.git, record.base_sha, record.head, record.branch, scanner)
    if not hits:
        return None
    findings = [h.to_json() for h in hits]
    record.push = {"pushed": False, "reason": "secret", "secrets": findings}
    shown = "; ".join(h.render() for h in hits[:5])
    return Outcome(OutcomeKind.BLOCKED, "secret", f"secrets in the branch, nothing pushed: {shown}",
                   {"secrets": findings})


def publish(repo: Repo, record: RunRecord, report: str) -> list[str]:
    """Push and open the PR the run asked for; human notes on what happened. Failures are recorded
    on the run and raised, so the exit code says the run's branch did not get out."""
    remote = record.options.get("push")
    open_pr = bool(record.options.get("open_pr"))
    if not remote:
        return []
    if record.push and record.push.get("reason") == "secret":  # push_scan found one: nothing goes out
        return [f"secrets in the branch: nothing pushed to {remote}"]
    if not record.head or record.head == record.base_sha:
        note = "no changes: nothing pushed" + (", no pull request opened" if open_pr else "")
        record.push = {"remote": remote, "pushed": False, "reason": "no changes"}
        return [note]
    try:
        url = push_branch(repo, remote, record.branch)
    except FatalError as err:
        record.push = {"remote": remote, "pushed": False, "error": err.message}
        raise
    record.push = {"remote": remote, "pushed": True, "branch": record.branch, "head": record.head}
    notes = [f"pushed {record.branch} to {remote}"]
    if open_pr:
        gh = GitHubRepo(*record.options["github"].split("/", 1)) if record.options.get("github") \
            else repo_from_remote(url or remote_url(repo, remote))
        draft = not (record.status == "completed" and _all_green(record))
        try:
            client = GitHubClient()
            closes, why = issue_to_close(client, gh, record.ticket)
            body = _body(report) + (f"\n\nCloses #{closes}\n" if closes else "")
            pr = client.open_pull_request(gh, head=record.branch, base=record.base, title=_title(record),
                                          body=body, draft=draft)
        except FatalError as err:
            record.pull_request = {"opened": False, "error": err.message}
            raise
        record.pull_request = {"opened": True, "number": pr.number, "url": pr.url, "draft": pr.draft,
                               "closes": closes}
        notes.append(f"opened {'draft ' if pr.draft else ''}pull request #{pr.number} {pr.url}".rstrip())
        notes += [why] if why else []
    return notes


def issue_to_close(client: GitHubClient, gh: GitHubRepo, ticket: dict[str, Any]) -> tuple[int | None, str | None]:
    """(the issue the pull request closes, or None; a note when a ticket's issue is not linked).

    Only a ticket read from a GitHub issue (`gh issue view --json`) names one, and only its number, never
    its text: every closing keyword in the ticket, the report and the agent's words is broken (inert).
    A ticket file can claim any number, so the runner reads that issue from the API, in the repository
    the pull request goes to, and links it only when it is an open issue (not a pull request) whose
    title and body are exactly the ticket's: a ticket can close no issue but the one it is."""
    given = ticket.get("issue")
    issue: dict[str, Any] = given if isinstance(given, dict) else {}
    number = issue.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        return None, None
    try:
        data = client.issue(gh, number)
    except FatalError as err:
        return None, f"issue #{number} not linked: {err.message}"
    same = (data.get("number") == number and "pull_request" not in data and data.get("state") == "open"
            and text_sha256(data.get("title")) == issue.get("title_sha256")
            and text_sha256(data.get("body")) == issue.get("body_sha256"))
    if not same:
        return None, (f"issue #{number} not linked: {gh.slug}#{number} is not an open issue with the "
                      "ticket's title and body")
    return number, None


def _all_green(record: RunRecord) -> bool:
    return all(g["exit_code"] == 0 for s in record.steps for g in s.gates)


def _title(record: RunRecord) -> str:
    """One line, no closing keyword or mention that acts, no secret, and no control character or
    bidirectional override (the ticket's author wrote the title: `ESC]52` sets the clipboard of whoever
    shows it in a terminal, U+202E shows `gpj.exe` as `exe.jpg`)."""
    what = record.ticket.get("title") or f"ticket {record.ticket.get('id')}"
    return inert(visible(process_redactor().text(one_line(f"{record.runbook}: {what}", 240))))


def _body(report: str) -> str:
    if len(report) <= PR_BODY_MAX:
        return report
    return report[:PR_BODY_MAX] + "\n\n[report cut; the full report is the git note on the branch head]\n"
