"""The release build, installed the way a user installs it: `make dist`'s build (sdist, then the wheel
from the sdist) of a snapshot of this checkout, the wheel pip-installed with its dependencies into a
fresh virtual environment outside the checkout, and its CLI run from there with a clean environment:
version, catalog, validate, and the fix-prompt runbook on the example system to a branch with trailers
(the scripted model, no network)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.packaging.conftest import (
    REPO_ROOT,
    Snapshot,
    clean_env,
    fresh_venv,
    git,
    pip_install,
    repository_url,
)

from agentbook import __version__
from agentbook.workflows.fixture import make_repo

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    snapshot: Snapshot
    wheel: Path
    sdist: Path
    venv: Path
    work: Path  # outside the checkout and the snapshot: where the CLI runs

    def agentbook(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "agentbook"), *args], cwd=cwd or self.work,
                              env=clean_env(self.work / "home", self.venv / "bin"), capture_output=True, text=True,
                              check=False, timeout=600)


@pytest.fixture(scope="module")
def installed(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Built and installed once per test session: pytest-xdist workers share one base temp folder,
    and a lock there makes the second worker wait for the first one's release and reuse it."""
    pytest.importorskip("build", reason="the build frontend comes with the dev extra (make .venv/.installed)")
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this session's folder, above each worker's own
    with (shared / "agentbook-release.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = shared / "agentbook-release"
        if not (base / "installed").is_file():
            shutil.rmtree(base, ignore_errors=True)
            _build_and_install(snapshot, base)
            (base / "installed").write_text(snapshot.commit)
    built = Snapshot(snapshot.root, (base / "installed").read_text())  # the commit the shared build names
    (wheel,) = (base / "dist").glob("agentbook-*.whl")
    (sdist,) = (base / "dist").glob("agentbook-*.tar.gz")
    work = tmp_path_factory.mktemp("work")
    return Installed(built, wheel, sdist, base / "venv", work)


def _build_and_install(snapshot: Snapshot, base: Path) -> None:
    base.mkdir(parents=True)
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(base / "dist"),
                            str(snapshot.root)], capture_output=True, text=True, check=False, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (base / "dist").glob("agentbook-*.whl")
    pip_install(fresh_venv(base / "venv"), str(wheel))


def test_the_wheel_and_sdist_carry_the_commit_and_the_catalog(installed: Installed) -> None:
    wheel = zipfile.ZipFile(installed.wheel)
    names = set(wheel.namelist())
    baked = wheel.read("agentbook/_version.py").decode()
    assert f'COMMIT = "{installed.snapshot.commit}"' in baked and f'VERSION = "{__version__}"' in baked
    assert "MODIFIED = False" in baked
    for kind, pattern in (("skills", "*/SKILL.md"), ("runbooks", "*.md"), ("schemas", "*.json")):
        for path in (REPO_ROOT / kind).glob(pattern):
            assert f"agentbook/_catalog/{path.relative_to(REPO_ROOT)}" in names, path
    metadata = wheel.read(f"agentbook-{__version__}.dist-info/METADATA").decode()
    assert f"Project-URL: Repository, {repository_url()}" in metadata
    assert "Requires-Dist: packaging" in metadata
    entry = wheel.read(f"agentbook-{__version__}.dist-info/entry_points.txt").decode()
    assert "agentbook = agentbook.launcher:main" in entry
    with tarfile.open(installed.sdist) as sdist:
        top = f"agentbook-{__version__}"
        members = set(sdist.getnames())
        assert {f"{top}/CHANGELOG.md", f"{top}/setup.py", f"{top}/skills/eval-tool/SKILL.md",
                f"{top}/runbooks/fix-prompt.md", f"{top}/runner/agentbook/_version.py"} <= members
        extracted = sdist.extractfile(f"{top}/runner/agentbook/_version.py")
        assert extracted is not None and installed.snapshot.commit in extracted.read().decode()


def test_the_installed_cli_names_its_commit_and_reads_nothing_from_a_checkout(installed: Installed) -> None:
    version = installed.agentbook("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"agentbook {__version__} (commit {installed.snapshot.commit[:12]})"
    info = installed.agentbook("version", "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    site = installed.venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert data["source"] == "wheel" and data["commit"] == installed.snapshot.commit
    assert data["package"] == str(site / "agentbook")
    assert data["catalog"] == str(site / "agentbook" / "_catalog")


def test_the_installed_catalog_lists_and_validates(installed: Installed) -> None:
    runbooks = installed.agentbook("runbooks", "list", "--json")
    assert runbooks.returncode == 0, runbooks.stderr
    listed = json.loads(runbooks.stdout)
    rows = listed if isinstance(listed, list) else listed.get("runbooks", [])
    assert sorted(r["name"] for r in rows) == sorted(p.stem for p in (REPO_ROOT / "runbooks").glob("*.md"))
    assert {r["source"] for r in rows} == {"agentbook"}
    skills = installed.agentbook("skills", "list", "--json")
    assert skills.returncode == 0, skills.stderr
    listed = json.loads(skills.stdout)
    rows = listed if isinstance(listed, list) else listed.get("skills", [])
    assert sorted(s["name"] for s in rows) == sorted(p.parent.name for p in (REPO_ROOT / "skills").glob("*/SKILL.md"))
    catalog = json.loads(installed.agentbook("version", "--json").stdout)["catalog"]
    shipped = installed.agentbook("validate", f"{catalog}/skills", f"{catalog}/runbooks")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert shipped.stdout.startswith(f"checked {len(rows)} skills, {len(list((REPO_ROOT / 'runbooks').glob('*.md')))} "
                                     "runbooks"), shipped.stdout
    bad = installed.work / "runbooks" / "newer.md"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('---\nname: newer\ndescription: Needs a later agentbook.\nrequires: ">=99"\n---\n## Step\n\nDo.\n')
    refused = installed.agentbook("validate", str(bad))
    assert refused.returncode == 1
    assert f"this runbook needs agentbook >=99, but this is agentbook {__version__}" in refused.stdout


def test_the_installed_wheel_runs_fix_prompt_to_a_branch_with_trailers(installed: Installed) -> None:
    """The example system copied out as its own repository, and the scripted agent of the demo copied
    next to it: everything the run reads is either there or in the installed package."""
    repo = make_repo(installed.snapshot.root / "examples" / "incident-assistant", installed.work / "example",
                     ["python scripts/generate.py --big"], "incident-assistant")
    agent = installed.work / "agent.script.yaml"
    shutil.copy2(installed.snapshot.root / "tests" / "runbooks" / "fix-prompt.yaml", agent)
    run = installed.agentbook("run", "fix-prompt", "--repo", str(repo), "--ticket",
                              "tickets/INC-142-logql-error-case.md", "--model", f"scripted:{agent}", "--json",
                              cwd=repo)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    record = json.loads(run.stdout)
    branch = record["branch"]
    assert branch == "agentbook/fix-prompt/inc-142"
    log = git(repo, "log", "--reverse", "--format=%s%n%(trailers:only,unfold)%x00", f"main..{branch}")
    commits = [c.strip() for c in log.split("\0") if c.strip()]
    assert len(commits) == 2, log
    runbook_blob = git(installed.snapshot.root, "hash-object", "runbooks/fix-prompt.md").strip()
    for text in commits:
        assert f"Agentbook-Run: {record['run_id']}" in text
        assert f"Agentbook-Runbook: fix-prompt@{runbook_blob}" in text
        assert "Agentbook-Step: " in text
    assert "Agentbook-Step: 3/6 Change the prompt" in commits[1]
    prompt = git(repo, "show", f"{branch}:prompts/logql.md")
    assert '|~ "(?i)error"' in prompt


def test_the_installed_wheel_runs_the_demo(installed: Installed) -> None:
    """`agentbook demo` read the example and its scripted agents from the source checkout: an installed wheel
    said "the example system 'incident-assistant' is not available". The wheel carries them (less the backtest's
    generated traces, which the demo's copy regenerates byte for byte); act 2 needs the `demo` extra, which the
    plain wheel lacks, and says so."""
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    demo = "agentbook/_demo/"
    assert {f"{demo}examples/incident-assistant/tickets/INC-142-logql-error-case.md",
            f"{demo}examples/incident-assistant/backtest/generate.py", f"{demo}tests/runbooks/fix-prompt.yaml",
            f"{demo}tests/loop/data/example-fixer-good.script.yaml"} <= names
    assert not [n for n in names if n.startswith(f"{demo}examples/incident-assistant/backtest/traces/")]
    ran = installed.agentbook("demo", "--workdir", str(installed.work / "demo"), "--json")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    result = json.loads(ran.stdout)
    assert (result["outcome"], result["branch"], len(result["commits"])) == ("completed", "agentbook/fix-prompt/inc-142", 2)
    assert (result["eval"]["before"]["passed"], result["eval"]["after"]["passed"]) == (5, 6)
    assert result["loop"]["skipped"].startswith("needs scikit-learn: pip install")
    copy = Path(result["repo"])
    example = installed.snapshot.root / "examples" / "incident-assistant"
    for made in ("backtest/manifest.jsonl", "backtest/traces/inv-0070.json", "evals/sut.script.yaml"):
        assert (copy / made).read_bytes() == (example / made).read_bytes(), made
    assert sorted(git(copy, "ls-files", "backtest").split()) == sorted(
        git(installed.snapshot.root, "ls-files", "examples/incident-assistant/backtest").replace(
            "examples/incident-assistant/", "").split())


def test_a_missing_extra_is_named_with_the_install_line_not_the_bare_name(installed: Installed) -> None:
    """analyze-backtest's cluster step on the plain wheel (no `backtest` extra): the hint was `pip install
    'agentbook[backtest]'`, which installs the index's `agentbook`, another project (README, Install), and
    then the project's repository URL, which a wheel handed round cannot reach; it names the wheel pip
    installed from (PEP 610's direct_url.json)."""
    repo = make_repo(installed.snapshot.root / "examples" / "incident-assistant", installed.work / "bt-example",
                     [], "incident-assistant")
    assert installed.agentbook("backtest", "import", "backtest/manifest.jsonl", "backtests/2026-11",
                               cwd=repo).returncode == 0
    analyzed = installed.agentbook("backtest", "analyze", "backtests/2026-11", "--model",
                                   "scripted:backtest/analyst.script.yaml", "--code", ".", cwd=repo)
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
    cluster = installed.agentbook("backtest", "cluster", "backtests/2026-11", cwd=repo)
    assert cluster.returncode == 3
    assert cluster.stderr == (
        "agentbook: error: clustering needs numpy, which is not installed (pip install "
        f'"agentbook[backtest] @ {installed.wheel.resolve().as_uri()}" into the environment agentbook runs in '
        "(or uv tool install / pipx install --force with the same requirement))\n")


def test_the_meaning_hint_of_a_wheel_names_no_makefile(installed: Installed) -> None:
    """`make meaning` exists only in agentbook's checkout: a wheel's user was told to run it (in the
    error of a named encoder and in the note cluster prints and report.md keeps). The installed agentbook
    names the requirement of the wheel it came from, once; the note report.md keeps names no install line."""
    script = ("from agentbook.backtest import embeddings\n"
              "print(embeddings.embedder('auto')[1].note)\n"
              "try:\n"
              "    embeddings.embedder('wordllama')\n"
              "except embeddings.MeaningUnavailable as e:\n"
              "    print(e.exit_code, e.message, '|', e.hint)\n")
    done = subprocess.run([str(installed.venv / "bin" / "python"), "-c", script], cwd=installed.work,
                          env=clean_env(installed.work / "home", installed.venv / "bin"), capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    note, error = done.stdout.splitlines()
    requirement = f'pip install "agentbook[meaning] @ {installed.wheel.resolve().as_uri()}"'
    assert note == "words only: wordllama is not installed", note  # kept in report.md: no path of this machine
    assert error.startswith("3 --meaning wordllama: wordllama is not installed | ") and requirement in error, error
    assert "make meaning" not in done.stdout and error.count(requirement) == 1, done.stdout
