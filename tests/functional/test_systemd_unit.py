"""etc/systemd/enricher.service: `systemd-analyze verify` clean, hardened, matches the package."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

from tests import tools

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "etc" / "systemd" / "enricher.service"
EXEC_START = "/opt/enricher/bin/enricher --config-file /etc/enricher/enricher.conf"
# The exposure score `systemd-analyze security` gives the unit (doc/source/install.rst).
MAX_EXPOSURE = 2.0
HARDENING = {
    "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "ProtectSystem": "strict",
    "ProtectHome": "yes", "PrivateTmp": "yes", "ReadOnlyPaths": "/etc/enricher",
    "User": "enricher", "SupplementaryGroups": "libvirt",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
}


def unit_for_verify(tmp_path: Path, text: str | None = None) -> Path:
    """A copy of the unit whose ExecStart binary exists here (verify checks it)."""
    text = UNIT.read_text() if text is None else text
    assert EXEC_START in text
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("/opt/enricher/bin/enricher", "/bin/true"))
    return copy


def service_section() -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return dict(parser["Service"])


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    analyze = tools.find("systemd-analyze", "systemd")
    return subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_unit_verifies_clean(tmp_path: Path) -> None:
    result = verify(unit_for_verify(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a misspelt directive makes verify complain."""
    broken = UNIT.read_text().replace("ProtectHome=yes", "ProtectHom=yes")
    result = verify(unit_for_verify(tmp_path, broken))
    assert "Unknown key 'ProtectHom'" in result.stderr


def test_hardening_directives() -> None:
    section = service_section()
    for key, value in HARDENING.items():
        assert section.get(key) == value, key
    assert section["ExecStart"] == EXEC_START


def test_exposure_score(tmp_path: Path) -> None:
    analyze = tools.find("systemd-analyze", "systemd")
    result = subprocess.run([analyze, "security", "--offline=yes",
                             str(unit_for_verify(tmp_path))],
                            capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r"Overall exposure level for enricher.service: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE


def test_entry_point_and_config_path_match_the_package() -> None:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    scripts = setup["entry_points"]["console_scripts"]
    assert re.search(r"^enricher = ", scripts, re.M)
    assert "share/enricher/systemd = etc/systemd/*" in setup["files"]["data_files"]
