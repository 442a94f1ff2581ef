"""A minimal GitHub REST client: open one pull request for a pushed branch, read one issue.

The token comes from `GITHUB_TOKEN`; the API root from `GITHUB_API_URL` (set by GitHub Actions and
GitHub Enterprise; tests point it at a local server). The token never appears in errors or output.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from agentbook.errors import FatalError

DEFAULT_API_URL = "https://api.github.com"
_REMOTE_PATTERNS = (
    re.compile(r"^(?:https?|ssh|git)://(?:[^@/]+@)?[^/]+(?::\d+)?/(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$"),
    re.compile(r"^(?:[^@/]+@)?[^:/]+:(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$"),  # scp-like
)


_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", re.IGNORECASE)


@dataclass(frozen=True)
class GitHubRepo:
    owner: str
    name: str

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"


def repo_from_remote(url: str) -> GitHubRepo:
    """owner/name from a remote URL: https://host/o/r(.git), git@host:o/r.git, ssh://git@host/o/r."""
    for pattern in _REMOTE_PATTERNS:
        m = pattern.match(url.strip())
        if m:
            return GitHubRepo(m.group("owner"), m.group("name"))
    raise FatalError(f"cannot tell the GitHub repository from remote URL '{without_credentials(url)}'",
                     hint="the remote must look like https://github.com/OWNER/REPO.git")


def without_credentials(url: str) -> str:
    """`url` without the user and password a CI checkout keeps in it (`https://oauth2:TOKEN@host/...`),
    which an error message would print into a public log."""
    return _USERINFO.sub(r"\1", url)


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    draft: bool


class GitHubClient:
    def __init__(self, token: str | None = None, api_url: str | None = None, timeout: float = 30.0) -> None:
        token = token if token is not None else os.environ.get("GITHUB_TOKEN", "")
        if not token:
            raise FatalError("GITHUB_TOKEN is not set", hint="export a token that may open pull requests")
        self._token = token
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        self.timeout = timeout

    def open_pull_request(self, repo: GitHubRepo, *, head: str, base: str, title: str, body: str,
                          draft: bool) -> PullRequest:
        """POST /repos/{owner}/{repo}/pulls."""
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        data = self._request("POST", f"/repos/{repo.owner}/{repo.name}/pulls", payload)
        return PullRequest(int(data["number"]), str(data.get("html_url", "")), bool(data.get("draft", draft)))

    def issue(self, repo: GitHubRepo, number: int) -> dict[str, Any]:
        """GET /repos/{owner}/{repo}/issues/{number} (a pull request answers too, with `pull_request`)."""
        return self._request("GET", f"/repos/{repo.owner}/{repo.name}/issues/{number}", None)

    def _request(self, method: str, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        req = urllib.request.Request(
            self.api_url + path, method=method, data=None if payload is None else json.dumps(payload).encode("utf-8"),
            headers={"Accept": "application/vnd.github+json", "Authorization": f"Bearer {self._token}",
                     "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json",
                     "User-Agent": "agentbook"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                result: dict[str, Any] = json.loads(resp.read().decode("utf-8"))
                return result
        except urllib.error.HTTPError as err:
            raise FatalError(f"GitHub API {method} {path} failed: HTTP {err.code}: {_error_text(err)}",
                             hint=_hint_for(err.code)) from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise FatalError(f"cannot reach the GitHub API at {self.api_url}: {reason}") from None


def _error_text(err: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(err.read().decode("utf-8", "replace"))
    except (ValueError, OSError):
        return err.reason or ""
    msg = str(body.get("message", ""))
    details = [str(e.get("message") or e.get("code")) for e in body.get("errors", []) if isinstance(e, dict)]
    return "; ".join([msg, *details]) if details else msg


def _hint_for(code: int) -> str | None:
    return {401: "GITHUB_TOKEN was rejected", 403: "the token lacks pull-request write permission",
            404: "check the repository name and the token's access",
            422: "a pull request for this branch may already exist, or the branch was not pushed"}.get(code)
