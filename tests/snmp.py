"""Debian's snmpd (as AgentX master), snmptrapd and the net-snmp tools, for the SNMP tests.

Each daemon runs on 127.0.0.1 with a free UDP port and its files (config,
AgentX socket, logs) in a temporary directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence

from tests import tools

REPO = pathlib.Path(__file__).resolve().parents[1]
MIB_DIR = REPO / "etc" / "enricher" / "mibs"
STUB_MIBS = REPO / "tests" / "fixtures" / "mibs"
IETF_MIBS = pathlib.Path("/usr/share/snmp/mibs/ietf")  # from snmp-mibs-downloader
COMMUNITY = "enricher-test"


def mib_path() -> str:
    """The -M path for our MIB: the real IETF modules where installed, else stand-ins."""
    base = IETF_MIBS if (IETF_MIBS / "SNMPv2-SMI").exists() else STUB_MIBS
    return "%s:%s" % (base, MIB_DIR)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict[str, str]:
    # No MIB loading in the daemons (Debian has none of the IETF ones: noise only).
    return {**os.environ, "MIBS": "", "MIBDIRS": str(STUB_MIBS)}


@dataclasses.dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    port: int
    log: pathlib.Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@dataclasses.dataclass
class Snmpd(Daemon):
    socket: pathlib.Path

    def wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("snmpd did not start:\n" + self.log_text())
            time.sleep(0.05)


def start_snmpd(workdir: pathlib.Path, trap_port: int | None = None,
                port: int | None = None, name: str = "snmpd") -> Snmpd:
    """snmpd as AgentX master with its socket in ``workdir``."""
    snmpd = tools.find("snmpd", "snmpd")
    port = port or free_udp_port()
    sock = workdir / "agentx.sock"
    conf = workdir / ("%s.conf" % name)
    lines = [
        "agentAddress udp:127.0.0.1:%d" % port,
        "master agentx",
        "agentXSocket %s" % sock,
        "agentXPerms 0600 0700",
        "agentXTimeout 5",
        "rocommunity %s 127.0.0.1" % COMMUNITY,
        "dontLogTCPWrappersConnects yes",
    ]
    if trap_port is not None:
        lines.append("trap2sink 127.0.0.1:%d %s" % (trap_port, COMMUNITY))
    conf.write_text("\n".join(lines) + "\n")
    log = workdir / ("%s-%d.log" % (name, port))
    persistent = workdir / "snmp-persist"
    persistent.mkdir(exist_ok=True)
    env = {**_env(), "SNMP_PERSISTENT_DIR": str(persistent)}
    proc = subprocess.Popen([snmpd, "-f", "-C", "-c", str(conf), "-Lf", str(log),
                             "-p", str(workdir / ("%s.pid" % name))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    daemon = Snmpd(proc, port, log, sock)
    daemon.wait_listening()
    return daemon


def start_snmptrapd(workdir: pathlib.Path) -> Daemon:
    """snmptrapd logging every notification (numeric OIDs) to a file."""
    trapd = tools.find("snmptrapd", "snmptrapd")
    port = free_udp_port()
    conf = workdir / "snmptrapd.conf"
    conf.write_text("disableAuthorization yes\n")
    log = workdir / ("snmptrapd-%d.log" % port)
    persistent = workdir / "trapd-persist"
    persistent.mkdir(exist_ok=True)
    env = {**_env(), "SNMP_PERSISTENT_DIR": str(persistent)}
    proc = subprocess.Popen([trapd, "-f", "-C", "-c", str(conf), "-On", "-Lf", str(log),
                             "-p", str(workdir / "snmptrapd.pid"),
                             "udp:127.0.0.1:%d" % port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    daemon = Daemon(proc, port, log)
    deadline = time.monotonic() + 10
    while "NET-SNMP version" not in daemon.log_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("snmptrapd did not start:\n" + daemon.log_text())
        time.sleep(0.05)
    return daemon


@contextlib.contextmanager
def snmpd_running(workdir: pathlib.Path, trap_port: int | None = None) -> Iterator[Snmpd]:
    daemon = start_snmpd(workdir, trap_port)
    try:
        yield daemon
    finally:
        daemon.stop()


def tool(program: str, port: int, args: Sequence[str], timeout: float = 30.0,
         check: bool = True, mib: bool = True) -> str:
    """Run a net-snmp client (snmpwalk, snmptable, snmpget) against 127.0.0.1:port,
    with ENRICHER-MIB loaded (``mib``) or none (numeric OIDs, strings in hex)."""
    path = tools.find(program, "snmp")
    mibs = ["-M", mib_path(), "-m", "ENRICHER-MIB"] if mib else ["-m", "", "-On", "-Ox"]
    result = subprocess.run(
        [path, "-v2c", "-c", COMMUNITY, *mibs, "-r", "1", "-t", "5",
         "127.0.0.1:%d" % port, *args],
        capture_output=True, timeout=timeout, env=_env())
    if check and result.returncode != 0:
        raise AssertionError("%s %s failed (%d): %s" % (
            program, " ".join(args), result.returncode,
            result.stderr.decode(errors="replace")))
    return result.stdout.decode("utf-8", errors="replace")


def wait_registered(port: int, timeout: float = 30.0) -> float:
    """Seconds until the subagent answers ENRICHER-MIB::enrDomains.0 through snmpd."""
    started = time.monotonic()
    while True:
        out = tool("snmpget", port, ["-Oqv", "ENRICHER-MIB::enrDomains.0"], check=False)
        if out.strip() and "No Such" not in out:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError("the subagent did not register within %.0f s" % timeout)
        time.sleep(0.2)


def walk_raw(port: int, oid: str, program: str = "snmpwalk") -> dict[tuple[int, ...], object]:
    """Every instance under numeric ``oid``: {OID: bytes for strings, int otherwise}."""
    text = tool(program, port, [oid], mib=False)
    found: dict[tuple[int, ...], object] = {}
    current: tuple[int, ...] | None = None
    for line in text.splitlines():
        if line.startswith("."):
            name, _, value = line.partition(" = ")
            current = tuple(int(p) for p in name.strip(".").split("."))
            kind, _, data = value.partition(": ")
            if value == '""':
                found[current] = b""
            elif kind == "Hex-STRING":
                found[current] = bytes.fromhex(data)
            elif kind == "STRING":
                found[current] = data.strip('"').encode()
            elif kind in ("INTEGER", "Gauge32", "Counter64", "Counter32"):
                found[current] = int(data)
            else:
                found[current] = value
        elif current is not None and isinstance(found.get(current), bytes):
            found[current] += bytes.fromhex(line)  # a hex string's next line
    return found
