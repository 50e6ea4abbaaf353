"""Guests and processes for the extra-statistics end-to-end tests.

Tiny guests whose whole software is one 512-byte boot sector, written here as
bytes so that no assembler is needed: one spins, one halts, one writes its
disk until the host file system is full. Each carries Nova metadata (so its
series have tenant labels), a ``<cputune>`` pinning, and a name starting with
``enr-extra-`` so that the other e2e tests' leftover cleanup never touches it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import libvirt
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import domains, procs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import MODULE, REPO_ROOT, EnricherProcess
from tests.e2e.harness.prometheus import PROMETHEUS, PrometheusServer

LOG = logging.getLogger(__name__)

NAME_PREFIX = "enr-extra-"
QEMU_RUN_DIR = Path("/run/libvirt/qemu")
DISK_BYTES = 16 * 1024 * 1024
FULL_TMPFS_BYTES = 256 * 1024

# 16-bit real mode, loaded at 0x7c00 by SeaBIOS.
SPIN = bytes.fromhex("ebfe")  # jmp $
HALT = bytes.fromhex("faf4ebfd")  # cli; hlt; jmp back to hlt
# Write 64 sectors from 0x1000:0000 to LBA 1, 65, 129, ... with INT 13h AH=43h
# (extended write) for ever; the disk address packet is at 0x7c28:
#   cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7c00; sti; mov [0x7c27],dl
#   again: mov dl,[0x7c27]; mov si,0x7c28; mov ax,0x4300; int 0x13
#          add word [0x7c30],64; adc word [0x7c32],0; jmp again
#   drive: db 0;  dap: db 16,0; dw 64, 0x0000, 0x1000; dq 1
WRITER = bytes.fromhex(
    "fa31c08ed88ed0bc007cfb8816277c8a"
    "16277cbe287cb80043cd138306307c40"
    "8316327c00ebe8001000400000000010"
    "0100000000000000")


def boot_sector(code: bytes) -> bytes:
    """``code`` padded to a 512-byte MBR with the 0x55AA signature."""
    if len(code) > 510:
        raise ValueError("boot code longer than 510 bytes")
    return code + bytes(510 - len(code)) + b"\x55\xaa"


@dataclasses.dataclass(frozen=True)
class Guest:
    """One extra-statistics test guest and the tenancy its metadata claims."""

    spec: E2EDomain
    cpuset: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def uuid(self) -> str:
        return self.spec.uuid

    @property
    def labels(self) -> dict[str, str]:
        return self.spec.labels


def make_guest(run_id: str, suffix: str, disk_dir: Path, cpuset: str) -> Guest:
    """A guest spec named ``enr-extra-<run>-<suffix>`` with fresh tenancy."""
    spec = domains.make_spec(run_id, suffix, "1.1", disk_dir)
    spec = dataclasses.replace(spec, name="%s%s-%s" % (NAME_PREFIX, run_id, suffix),
                      disk_path=disk_dir / ("%s-%s.raw" % (run_id, suffix)))
    return Guest(spec, cpuset)


def domain_xml(guest: Guest, domain_type: str) -> str:
    """A 64 MiB, 1 vCPU guest pinned to ``guest.cpuset``, booting its disk."""
    return domains.guest_xml(
        guest.spec, domain_type, nic=False,
        cputune="<vcpupin vcpu='0' cpuset=%s/>" % quoteattr(guest.cpuset))


def boot(conn: libvirt.virConnect, guest: Guest, code: bytes, domain_type: str
         ) -> libvirt.virDomain:
    """Write the boot sector to a sparse disk and start a transient guest."""
    with guest.spec.disk_path.open("wb") as disk:
        disk.write(boot_sector(code))
        disk.truncate(DISK_BYTES)
    dom = conn.createXML(domain_xml(guest, domain_type), 0)
    LOG.info("started %s (%s, pinned to %s)", guest.name, domain_type, guest.cpuset)
    return dom


def destroy(conn: libvirt.virConnect, name: str) -> None:
    """Destroy the guest called ``name`` if it still runs."""
    try:
        conn.lookupByName(name).destroy()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise


def cleanup_leftovers(conn: libvirt.virConnect) -> list[str]:
    """Destroy ``enr-extra-*`` guests an earlier crashed run left behind."""
    removed = []
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(NAME_PREFIX):
            destroy(conn, dom.name())
            removed.append(dom.name())
    return removed


def host_cpus(conn: libvirt.virConnect) -> int:
    return int(conn.getInfo()[2])


def qemu_pid(name: str) -> int:
    """The QEMU process of a running guest, from libvirt's pid file."""
    pid = procs.read_pid_file(QEMU_RUN_DIR / ("%s.pid" % name))
    if pid is None:
        raise RuntimeError("no QEMU pid file for %s" % name)
    return pid


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """Stop a QEMU process (its monitor stops answering); continue it on exit."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def full_tmpfs(size: int = FULL_TMPFS_BYTES) -> Iterator[Path]:
    """A private tmpfs of ``size`` bytes: a disk file on it hits ENOSPC quickly."""
    mountpoint = Path(tempfile.mkdtemp(prefix=NAME_PREFIX + "full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size,
                    "enr-extra-full", str(mountpoint)], check=True, capture_output=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False, capture_output=True)
        mountpoint.rmdir()


@contextlib.contextmanager
def slow_memory_dump(dom: libvirt.virDomain, workdir: Path,
                     chunk: int = 512 * 1024, pause: float = 0.05) -> Iterator[None]:
    """A memory-only dump into a FIFO read slowly: a background job while inside.

    On exit the reader drains the FIFO at full speed and the dump completes.
    """
    fifo = workdir / ("%s.fifo" % dom.name())
    os.mkfifo(fifo)
    fast = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        with fifo.open("rb") as pipe:
            while pipe.read(chunk):
                if not fast.is_set():
                    time.sleep(pause)

    def dump() -> None:
        try:
            dom.coreDumpWithFormat(str(fifo), libvirt.VIR_DOMAIN_CORE_DUMP_FORMAT_RAW,
                                   libvirt.VIR_DUMP_MEMORY_ONLY)
        except libvirt.libvirtError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, name="dump-reader", daemon=True)
    dumper = threading.Thread(target=dump, name="dump", daemon=True)
    reader.start()
    dumper.start()
    try:
        yield
    finally:
        fast.set()
        dumper.join(60)
        reader.join(10)
        fifo.unlink()
    if errors:
        raise errors[0]


@contextlib.contextmanager
def launch_enricher(workdir: Path, port: int, config: Mapping[str, Mapping[str, object]],
                    timeout: float = 30.0) -> Iterator[EnricherProcess]:
    """``python -m enricher.cmd.enricher`` with ``config`` ({section: {option: value}})."""
    workdir.mkdir(parents=True, exist_ok=True)
    sections = {"prometheus": {"host": "127.0.0.1", "port": port}}
    for section, options in config.items():
        sections.setdefault(section, {}).update(options)
    path = workdir / "enricher.conf"
    path.write_text("".join(
        "[%s]\n%s" % (section, "".join("%s = %s\n" % kv for kv in options.items()))
        for section, options in sections.items()))
    log_path = workdir / "enricher.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH"))
                                        if p)
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", MODULE, "--config-file", str(path)],
                                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    enricher = EnricherProcess(proc=proc, port=port, config_path=path, log_path=log_path)

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("enricher exited %s\n%s" % (proc.returncode,
                                                           enricher.log_tail()))
        return procs.http_get(enricher.metrics_url, timeout=10.0)[0] == 200

    try:
        procs.wait_until(answers, timeout, what=enricher.metrics_url,
                         details=enricher.log_tail)
        yield enricher
    finally:
        procs.stop_process(proc)


PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: enricher
    static_configs:
      - targets: ['{target}']
"""


@contextlib.contextmanager
def launch_prometheus_with_rules(workdir: Path, target: str, rules: Path,
                                 timeout: float = 30.0) -> Iterator[PrometheusServer]:
    """A Prometheus scraping ``target`` every second and evaluating ``rules``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG.format(rules=rules, target=target))
    port = procs.free_port()
    argv = [PROMETHEUS, "--config.file=%s" % config,
            "--storage.tsdb.path=%s" % (workdir / "data"),
            "--web.listen-address=127.0.0.1:%d" % port]
    with (workdir / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = PrometheusServer(proc=proc, port=port, workdir=workdir)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("prometheus exited %s:\n%s"
                               % (proc.returncode, procs.tail(server.log_path)))
        return procs.http_get("%s/-/ready" % server.url, timeout=1.0)[0] == 200

    try:
        procs.wait_until(ready, timeout, what="prometheus /-/ready")
        yield server
    finally:
        procs.stop_process(proc)


# Reading the exposition -------------------------------------------------------

Samples = dict[str, list[Any]]


def parse(text: str) -> Samples:
    """Exposition text -> {sample name: [Sample, ...]}."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def of(samples: Samples, name: str, guest: Guest, **labels: str) -> list[Any]:
    """Series of ``name`` for ``guest`` whose labels include ``labels``."""
    return [s for s in samples.get(name, []) if s.labels.get("uuid") == guest.uuid
            and all(s.labels.get(k) == v for k, v in labels.items())]


def calls(samples: Samples, selector: str) -> dict[str, float]:
    """enricher_extra_calls_total of one selector, by outcome."""
    return {s.labels["outcome"]: s.value for s in samples.get("enricher_extra_calls_total", [])
            if s.labels["selector"] == selector}


def assert_tenant_labels(series: Any, guest: Guest) -> None:
    """Fail naming every per-VM label that differs from what ``guest`` claims."""
    mismatched = {k: (series.labels.get(k), v) for k, v in guest.labels.items()
                  if series.labels.get(k) != v}
    assert not mismatched, "%s of %s: %s" % (series.name, guest.name, mismatched)
