"""The shipped ENRICHER-MIB through Debian's smilint and net-snmp's snmptranslate."""

from __future__ import annotations

import os
import subprocess

from enricher.exporters.snmp import mib
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
