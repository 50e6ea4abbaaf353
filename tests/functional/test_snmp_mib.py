"""The shipped ENRICHER-MIB through Debian's smilint and net-snmp's snmptranslate."""

from __future__ import annotations

import os
import subprocess

from enricher.exporters.snmp import mib, mibgen
from tests import snmp, tools


def test_smilint_level_4_reports_nothing() -> None:
    smilint = tools.find("smilint", "smitools")
    path = snmp.mib_path()
    result = subprocess.run([smilint, "-l", "4", str(snmp.MIB_DIR / "ENRICHER-MIB.txt")],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "SMIPATH": path})
    assert result.returncode == 0 and result.stdout + result.stderr == "", \
        result.stdout + result.stderr


def test_snmptranslate_loads_the_mib_with_every_object_at_its_oid() -> None:
    translate = tools.find("snmptranslate", "snmp")
    env = {**os.environ, "MIBS": ""}
    tree = subprocess.run([translate, "-M", snmp.mib_path(), "-m", "ENRICHER-MIB", "-Tp"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert tree.returncode == 0 and tree.stderr == "", tree.stderr
    named = mib.Layout(mib.parse_oid(mib.DEFAULT_BASE_OID)).named()
    for name in named:
        assert "-- %s(" % name in tree.stdout or "+--%s(" % name in tree.stdout or \
            " %s(" % name in tree.stdout, name
    result = subprocess.run(
        [translate, "-M", snmp.mib_path(), "-m", "ENRICHER-MIB", "-On",
         *("ENRICHER-MIB::%s" % n for n in named)],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["." + ".".join(map(str, o)) for o in named.values()]


def test_the_mib_rendered_for_another_base_oid_places_every_object_under_it(tmp_path
                                                                           ) -> None:
    base = "1.3.6.1.4.1.99999.17"
    (tmp_path / "ENRICHER-MIB.txt").write_text(mibgen.render(base))
    path = "%s:%s" % (snmp.mib_path().split(":")[0], tmp_path)
    smilint = tools.find("smilint", "smitools")
    lint = subprocess.run([smilint, "-l", "4", str(tmp_path / "ENRICHER-MIB.txt")],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SMIPATH": path})
    assert lint.stdout + lint.stderr == ""
    translate = tools.find("snmptranslate", "snmp")
    named = mib.Layout(mib.parse_oid(base)).named()
    result = subprocess.run(
        [translate, "-M", path, "-m", "ENRICHER-MIB", "-On",
         *("ENRICHER-MIB::%s" % n for n in named)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "MIBS": ""})
    assert result.stdout.split() == ["." + ".".join(map(str, o)) for o in named.values()]
    assert all(o.startswith(".1.3.6.1.4.1.99999.17.") for o in result.stdout.split())
