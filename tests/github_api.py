"""A local server that answers pull-request creation (POST /repos/{owner}/{repo}/pulls) and reading an issue
(GET /repos/{owner}/{repo}/issues/{n}) as GitHub's REST API does, and with GitHub's 4xx error body when a request is malformed: what the runner's `--open-pr`
talks to in tests (the `github` fixture in tests/conftest.py points GITHUB_API_URL at it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.repos import git

TOKEN = "ghs_test_token_123"  # the GITHUB_TOKEN it accepts
REPO = "acme/widgets"  # the only repository it knows


class FakeGitHub(BaseHTTPRequestHandler):
    """Records every request (path, headers, JSON body) in `server.requests`; checks auth, headers and
    the body's fields like api.github.com."""

    server: GitHubServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        problems = []
        if self.path != f"/repos/{REPO}/pulls":
            return self._reply(404, {"message": "Not Found"})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._reply(401, {"message": "Bad credentials"})
        if self.headers.get("Accept") != "application/vnd.github+json":
            problems.append("accept")
        if self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
            problems.append("api version")
        for key, kind in (("title", str), ("head", str), ("base", str), ("body", str), ("draft", bool)):
            if not isinstance(body.get(key), kind):
                problems.append(key)
        if problems:
            return self._reply(422, {"message": "Validation Failed",
                                     "errors": [{"resource": "PullRequest", "code": "invalid", "field": p}
                                                for p in problems]})
        self._reply(201, {"number": 17, "html_url": f"https://github.com/{REPO}/pull/17",
                          "draft": body["draft"], "head": {"ref": body["head"]}, "base": {"ref": body["base"]}})

    def do_GET(self) -> None:
        """GET /repos/{REPO}/issues/{N}: the issues in `server.issues` (number -> the API's fields)."""
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._reply(401, {"message": "Bad credentials"})
        prefix = f"/repos/{REPO}/issues/"
        number = self.path.removeprefix(prefix)
        if not self.path.startswith(prefix) or not number.isdigit() or int(number) not in self.server.issues:
            return self._reply(404, {"message": "Not Found"})
        self._reply(200, {"number": int(number), "state": "open", **self.server.issues[int(number)]})

    def _reply(self, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


class GitHubServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeGitHub)
        self.requests: list[dict[str, Any]] = []
        self.issues: dict[int, dict[str, Any]] = {}  # what GET .../issues/N answers (title, body, state...)
        self.url = f"http://127.0.0.1:{self.server_port}"


@contextmanager
def serving() -> Iterator[GitHubServer]:
    server = GitHubServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def github_origin(repo: Path, bare: Path) -> Path:
    """Give `repo` an origin that names REPO on GitHub (where `--open-pr` reads owner/repo from) while its
    pushes go to `bare`, a new local bare repository; returns `bare`."""
    git(bare.parent, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", f"https://github.com/{REPO}.git")
    git(repo, "remote", "set-url", "--push", "origin", str(bare))
    return bare
