"""The Containerfile, read statically: it matches the package and the manifests."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import yaml

from enricher.conf import prometheus

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "Containerfile"
DAEMONSET = REPO / "deploy" / "kubernetes" / "base" / "daemonset.yaml"
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|make|[a-z0-9.+-]+-dev|build-essential)\b")


def stages() -> list[list[str]]:
    """The instructions of each stage (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    out: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


def instruction(stage: list[str], name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in stage if line.split(None, 1)[0].upper() == name]


def test_final_stage_runs_the_console_script_as_non_root() -> None:
    final = stages()[-1]
    entry = json.loads(instruction(final, "ENTRYPOINT")[0])
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    script = re.search(r"^(\S+) = enricher.cmd.enricher:main$",
                       setup["entry_points"]["console_scripts"], re.M)
    assert script and entry == ["/opt/enricher/bin/%s" % script.group(1)]
    user, = instruction(final, "USER")
    uid, _, gid = user.partition(":")
    assert int(uid) >= 1000 and int(gid) >= 1000
    pod = yaml.safe_load(DAEMONSET.read_text())["spec"]["template"]["spec"]
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
        int(uid), int(gid))
    assert instruction(final, "EXPOSE") == [str(prometheus.DEFAULT_PORT)]


def test_config_in_the_image_is_the_shipped_sample() -> None:
    final = stages()[-1]
    copies = [c.split() for c in instruction(final, "COPY") if not c.startswith("--from")]
    assert copies == [["etc/enricher/enricher.conf.sample", "/etc/enricher/enricher.conf"]]
    assert (REPO / copies[0][0]).is_file()
    assert json.loads(instruction(final, "CMD")[0]) == [
        "--config-file", "/etc/enricher/enricher.conf"]


def test_no_compilers_in_the_final_stage() -> None:
    builder, final = stages()
    assert any(COMPILERS.search(run) for run in instruction(builder, "RUN"))
    for run in instruction(final, "RUN"):
        assert not COMPILERS.search(run), run
    assert "libvirt0" in " ".join(instruction(final, "RUN"))
    assert instruction(final, "COPY")[0].startswith("--from=builder /opt/enricher ")


def test_build_context_leaves_out_local_state() -> None:
    ignored = (REPO / ".containerignore").read_text().split()
    assert {".git", ".venv", ".tox"} <= set(ignored)
