"""sdist and wheel: `python -m build`, the wheel in a clean venv, `enricher --help`, the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.e2e.harness import procs

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
# Where setup.cfg [files] data_files puts each source directory, under the prefix.
DATA_DIRS = {
    "etc/enricher": "share/enricher",
    "etc/grafana": "share/enricher/grafana",
    "etc/systemd": "share/enricher/systemd",
    "deploy/kubernetes": "share/enricher/kubernetes",
}


def run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                            timeout=600, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, "%s\n%s\n%s" % (argv, result.stdout[-3000:],
                                                   result.stderr[-3000:])
    return result


def tracked(directory: str) -> list[str]:
    """Files git tracks under ``directory`` (what pbr puts in the sdist)."""
    out = run(["git", "-C", REPO, "ls-files", directory]).stdout
    return [line for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", out, REPO])
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site packages) with only the wheel and its dependencies."""
    root = tmp_path_factory.mktemp("venv")
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", root])
    wheel, = dist.glob("enricher-*.whl")
    run([root / "bin" / "pip", "install", "-q", wheel])
    return root


def test_sdist_and_wheel_share_a_pep440_version(dist: Path) -> None:
    sdist, = dist.glob("enricher-*.tar.gz")
    wheel, = dist.glob("enricher-*.whl")
    version = sdist.name[len("enricher-"):-len(".tar.gz")]
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", version), version
    assert wheel.name.startswith("enricher-%s-py3-none-any" % version)
    with tarfile.open(sdist) as tar:
        names = set(tar.getnames())
    for directory in DATA_DIRS:
        for path in tracked(directory):
            assert "enricher-%s/%s" % (version, path) in names


def test_wheel_installs_a_working_enricher(venv: Path) -> None:
    result = run([venv / "bin" / "enricher", "--help"])
    assert "--config-file" in result.stdout


def test_data_files_land_where_the_docs_say(venv: Path) -> None:
    installed = 0
    for source, target in DATA_DIRS.items():
        for path in tracked(source):
            relative = Path(path).relative_to(source)
            assert (venv / target / relative).is_file(), venv / target / relative
            installed += 1
    assert (venv / "share/enricher/enricher.conf.sample").is_file()
    assert (venv / "share/enricher/systemd/enricher.service").is_file()
    assert installed >= 10


def test_demo_runs_from_the_installed_wheel(venv: Path) -> None:
    env = dict(os.environ, ENRICHER_BIN=str(venv / "bin" / "enricher"),
               ENRICHER_DEMO_PORT=str(procs.free_port()))
    result = run([REPO / "tools" / "demo.sh", "--check"], env=env)
    assert 'project_name="webshop"' in result.stdout
