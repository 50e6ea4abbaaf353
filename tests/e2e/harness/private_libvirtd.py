"""A system-mode libvirtd in a mount namespace of its own, its socket in our directory.

Other runs' enrichers (and the host's libvirtd) never see its guests, and it
can be killed, stopped and restarted at will. Which directories it gets of
its own is the caller's choice: ``own_state`` bind-mounts directories of ours
over every libvirt state directory (they outlive the daemon, so a restart
finds its guests again); the benchmark mounts tmpfs over the QEMU driver's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import libvirt

from tests.e2e.harness import bootsector, domains, libvirtd, procs

LOG = logging.getLogger(__name__)

# Directories a system libvirtd writes to, by the name of ours bind-mounted there.
STATE_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
    "log": "/var/log/libvirt",
}
CAPS_CACHE = Path("/var/cache/libvirt/qemu/capabilities")


def unsupported() -> str | None:
    """Why a private libvirtd cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    if not shutil.which("unshare"):
        return "unshare (util-linux) is not installed"
    result = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        return "cannot create a mount namespace: %s" % result.stderr.strip()
    return None


def bind_mounts(root: Path, dirs: Mapping[str, str]) -> list[str]:
    """Shell commands mounting ``root/<name>`` on each target of ``dirs``."""
    return ["mkdir -p %s && mount --bind %s %s" % (target, root / name, target)
            for name, target in dirs.items()]


class PrivateLibvirtd:
    """libvirtd run by ``unshare --mount`` after ``mounts`` (shell commands) are done.

    Its configuration is ``root/libvirtd.conf`` (the socket directory, no
    authentication, then ``conf``), its output ``root/daemon.out``.
    """

    def __init__(self, root: Path, mounts: Sequence[str], conf: str = "",
                 binary: str = libvirtd.LIBVIRTD) -> None:
        self.root = root
        self.mounts = list(mounts)
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(
            'unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n%s'
            % (self.socket.parent, conf))

    @property
    def socket(self) -> Path:
        return self.root / "sock" / "libvirt-sock"

    @property
    def conf_path(self) -> Path:
        return self.root / "libvirtd.conf"

    @property
    def uri(self) -> str:
        return "qemu:///system?socket=%s" % self.socket

    @property
    def qemu_pid_dir(self) -> Path:
        """Where an ``own_state`` daemon's QEMU pid files are, seen from outside."""
        return self.root / "run" / "qemu"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def output(self) -> str:
        return procs.tail(self.root / "daemon.out")

    def start(self, timeout: float = 60.0) -> None:
        """Run the daemon (again) and wait until its socket answers."""
        script = "set -e\n%s\nexec %s -f %s -p %s\n" % (
            "\n".join(self.mounts), self.binary, self.conf_path, self.root / "libvirtd.pid")
        with (self.root / "daemon.out").open("ab") as out:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        procs.wait_until(self._answers, timeout, what="the private libvirtd at %s" % self.uri,
                         details=self.output)

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError("private libvirtd exited %s\n%s"
                               % (self.proc.returncode, self.output()))
        return libvirtd.socket_answers(str(self.socket))

    def signal(self, signum: int) -> None:
        """Send ``signum`` (e.g. SIGSTOP, SIGCONT) to the running daemon."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL the daemon, as a crash would; its guests keep running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is not None:
            self.signal(signal.SIGCONT)  # in case a test left it stopped
            procs.stop_process(self.proc, timeout=timeout)


def own_state(root: Path) -> PrivateLibvirtd:
    """A private libvirtd whose state directories are ours, under ``root``.

    QEMU logs go to files (no virtlogd). Killing it and starting it again
    works like a libvirtd restart: guests keep running and the new daemon
    reattaches to them.
    """
    for name in STATE_DIRS:
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "etc" / "qemu.conf").write_text(
        'user = "root"\ngroup = "root"\nstdio_handler = "file"\n')
    caps = root / "cache" / "qemu" / "capabilities"
    caps.mkdir(parents=True, exist_ok=True)
    if CAPS_CACHE.is_dir():  # skip the ~8 s QEMU probe when the host has one
        for cached in CAPS_CACHE.glob("*.xml"):
            shutil.copy(cached, caps)
    return PrivateLibvirtd(root, bind_mounts(root, STATE_DIRS))


def kill_guests(pid_dir: Path) -> None:
    """Last resort: SIGKILL the QEMU processes whose pid files are in ``pid_dir``."""
    for pid_file in pid_dir.glob("*.pid"):
        pid = procs.read_pid_file(pid_file)
        if pid and procs.pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running(prefix: str, conf: str = "", reachable: bool = False
            ) -> Iterator[PrivateLibvirtd]:
    """An ``own_state`` daemon under a new temporary directory, for a ``with`` block.

    ``conf`` is appended to its libvirtd.conf; with ``reachable`` its root and
    socket directory are mode 0755 (for a client that is not root). On exit
    it is stopped, its guests are killed by pid and the directory removed.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix + "libvirtd-"))
    if reachable:
        root.chmod(0o755)
    private = own_state(root)
    if conf:
        with private.conf_path.open("a") as file:
            file.write(conf)
    if reachable:
        private.socket.parent.chmod(0o755)
    try:
        private.start()
        yield private
    finally:
        private.stop()
        kill_guests(private.qemu_pid_dir)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def idle_guest(private: PrivateLibvirtd, prefix: str, key: str,
               domain_type: str | None = None) -> Iterator[domains.E2EDomain]:
    """A transient idle guest without a NIC on ``private``, removed on exit.

    Removal reconnects first: the test may have killed or restarted the
    daemon meanwhile (if it is gone, ``running`` kills its guests by pid).
    """
    run_id = secrets.token_hex(3)
    workdir = domains.make_workdir(run_id, prefix)
    spec = domains.make_spec(run_id, key, "1.1", workdir, prefix=prefix, nic=False)
    bootsector.write_image(spec.disk_path, bootsector.IDLE)
    conn = libvirtd.wait_for_connection(private.uri, 30)
    try:
        domains.start(conn, domains.small_xml(spec, domain_type
                                              or libvirtd.detect_domain_type(conn)),
                      transient=True)
        yield spec
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()
        try:
            cleanup = libvirtd.wait_for_connection(private.uri, 10)
        except AssertionError:
            LOG.warning("the private libvirtd is gone; its guests are killed by pid")
        else:
            domains.remove_spec(cleanup, spec)
            cleanup.close()
        shutil.rmtree(workdir, ignore_errors=True)
