"""A runbook test's `fixture: setup:` commands are the spec's, a repository file a pull request writes, and
CI runs `agentbook test-runbook` on pull requests: they run in the gates' jail with the gates' clean
environment, never with the runner's keys or its file system."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import needs_jail

from agentbook.errors import FatalError
from agentbook.workflows.fixture import make_repo
from agentbook.workflows.runbook_test import load_spec

KEY = "sk-ant-api03-setupleak0123456789abcdefXYZ"
TOKEN = "ghp_setupleak0123456789abcdefghijklmnopq"


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    src = tmp_path / "src"
    src.mkdir()
    (src / "README.md").write_text("fixture\n", encoding="utf-8")
    return src


def _attack(outside: Path) -> list[str]:
    # each half may fail in the jail; the command as a whole must not, or the test would prove nothing
    return [f"sh -c 'env > env.txt; printenv ANTHROPIC_API_KEY >> env.txt; echo pwned > {outside}; true'",
            "python -c \"import os; open('py.txt', 'w').write(repr(dict(os.environ)))\""]


@needs_jail
def test_setup_sees_no_key_and_writes_nothing_outside(source: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    repo = make_repo(source, tmp_path / "repo", _attack(outside))
    seen = (repo / "env.txt").read_text(encoding="utf-8") + (repo / "py.txt").read_text(encoding="utf-8")
    assert "HOME=" in seen  # the commands did run
    assert KEY not in seen and TOKEN not in seen
    assert "ANTHROPIC_API_KEY" not in seen and "GITHUB_TOKEN" not in seen
    assert not outside.exists()


@needs_jail
def test_setup_cannot_write_the_system_or_the_runners_home(source: Path, tmp_path: Path) -> None:
    marker = Path.home() / "agentbook-setup-escape"
    repo = make_repo(source, tmp_path / "repo", [f"sh -c 'echo x > {marker}; echo x > /etc/agentbook-x; true'"])
    assert repo.is_dir()
    assert not marker.exists() and not Path("/etc/agentbook-x").exists()


def test_opt_out_runs_unconfined_still_without_keys(source: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    repo = make_repo(source, tmp_path / "repo", _attack(outside), sandbox="none-i-accept-the-risk")
    seen = (repo / "env.txt").read_text(encoding="utf-8")
    assert outside.exists()  # unconfined, as the flag's name says
    assert KEY not in seen and TOKEN not in seen


@needs_jail
def test_failing_setup_is_a_fatal_error_with_its_output(source: Path, tmp_path: Path) -> None:
    with pytest.raises(FatalError) as err:
        make_repo(source, tmp_path / "repo", ["sh -c 'echo broken-generator >&2; exit 3'"])
    assert "exit 3" in err.value.message and "broken-generator" in (err.value.hint or "")


@needs_jail
@pytest.mark.parametrize("where", [".git", "sub/.git", "sub/.GIT"])
def test_setup_leaving_a_repository_with_a_filter_is_refused(source: Path, tmp_path: Path, where: str) -> None:
    # the runner's `git add` on the copy would run the clean filter the jailed setup wrote, on the host
    ran = tmp_path / "filter-ran"
    plant = (f"mkdir -p {where} && git init -q {where.rsplit('/', 1)[0] if '/' in where else '.'} 2>/dev/null; "
             f"mkdir -p {where} && printf '[filter \\\"x\\\"]\\n\\tclean = touch {ran}\\n' >> {where}/config; "
             "echo '* filter=x' > .gitattributes; true")
    with pytest.raises(FatalError) as err:
        make_repo(source, tmp_path / "repo", [f"sh -c \"{plant}\""])
    assert "git repository" in err.value.message
    assert not ran.exists()


@needs_jail
def test_gitignore_left_as_a_link_is_not_written_through(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "host-file"
    target.write_text("/README.md\nkeep\n", encoding="utf-8")
    (source / "target-path").write_text(str(target), encoding="utf-8")
    make_repo(source, tmp_path / "repo", [f"ln -sf {target} .gitignore"])
    assert target.read_text(encoding="utf-8") == "/README.md\nkeep\n"


def test_a_link_in_the_fixture_is_copied_as_a_link(source: Path, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text(f"{KEY}\n", encoding="utf-8")
    (source / "id_rsa").symlink_to(secret)
    repo = make_repo(source, tmp_path / "repo")
    assert (repo / "id_rsa").is_symlink()
    blob = subprocess.run(["git", "-C", str(repo), "show", "HEAD:id_rsa"], capture_output=True, text=True,
                          check=True).stdout
    assert KEY not in blob


@pytest.mark.parametrize("copy", ["/etc", "../../../outside", "link-out"])
def test_a_fixture_out_of_the_specs_repository_is_refused(copy: str, tmp_path: Path) -> None:
    repo = tmp_path / "work" / "repo"
    specs = repo / "tests" / "runbooks"
    specs.mkdir(parents=True)
    (repo / ".git").mkdir()
    (tmp_path / "work" / "outside").mkdir()
    (specs / "link-out").symlink_to("/root")
    (specs / "x.yaml").write_text("turns: []\n", encoding="utf-8")
    spec = specs / "x.test.yaml"
    spec.write_text(f"runbook: add-eval\nfixture: {{copy: '{copy}'}}\n", encoding="utf-8")
    with pytest.raises(FatalError) as err:
        load_spec(spec)
    assert "leads out of the spec's repository" in err.value.message and err.value.location == str(spec)


def test_a_fixture_in_the_specs_repository_is_taken(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    specs = repo / "tests" / "runbooks"
    (repo / "fixtures" / "small").mkdir(parents=True)
    specs.mkdir(parents=True)
    (repo / ".git").mkdir()
    (specs / "x.yaml").write_text("turns: []\n", encoding="utf-8")
    spec = specs / "x.test.yaml"
    spec.write_text("runbook: add-eval\nfixture: {copy: ../../fixtures/small}\n", encoding="utf-8")
    assert load_spec(spec).fixture == (repo / "fixtures" / "small").resolve()
