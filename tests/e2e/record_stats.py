"""Record the bulk stats of the two e2e guests, for the replayed golden exposition.

``python -m tests.e2e.record_stats`` (as root, with tools/e2e-host-setup.sh
run) boots the guests the e2e session boots, lets them run a few seconds,
writes every stats group libvirt gives for them, with their domain XML, to
tests/fixtures/golden/e2e-guests-stats.json, and removes them again. Then
regenerate the golden file that renders it (tests/unit/test_golden_replay.py).
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time

from enricher.libvirt import stats
from tests import fixtures
from tests.e2e.harness import domains, libvirtd

OUT = fixtures.GOLDEN / "e2e-guests-stats.json"


def main() -> int:
    host = libvirtd.start_libvirt()
    conn = libvirtd.wait_for_connection(host.uri, 30)
    run_id = secrets.token_hex(3)
    workdir = domains.make_workdir(run_id)
    specs = [domains.make_spec(run_id, "a", "1.1", workdir),
             domains.make_spec(run_id, "b", "1.0", workdir)]
    try:
        for spec in specs:
            domains.boot(conn, spec, host.domain_type)
        time.sleep(5)  # a few balloon reports and CPU seconds
        doms = [conn.lookupByName(spec.name) for spec in specs]
        flags = stats.group_flags(stats.DEFAULT_GROUPS)
        records = [{"name": dom.name(), "uuid": dom.UUIDString(), "id": dom.ID(),
                    "stats": raw, "xml": dom.XMLDesc(0)}
                   for dom, raw in conn.domainListGetStats(doms, flags)]
        OUT.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
        print("wrote %s (%s guests)" % (OUT, host.domain_type))
    finally:
        domains.remove_specs(conn, specs)
        shutil.rmtree(workdir, ignore_errors=True)
        conn.close()
        libvirtd.stop_libvirt(host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
