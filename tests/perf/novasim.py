"""The Keystone+Nova simulator set up for benchmarks: servers for metadata-less domains."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable

from tests.simulators.keystone_nova import KeystoneNovaSimulator, ServerRecord, make_servers

PASSWORD = "Bench-Pa55w0rd!"
HOST = "bench-compute"


def start(max_limit: int = 1000) -> KeystoneNovaSimulator:
    return KeystoneNovaSimulator(password=PASSWORD, max_limit=max_limit).start()


def register(sim: KeystoneNovaSimulator, uuids: Iterable[str], host: str = HOST,
             others: int = 0) -> int:
    """Add a server for each domain UUID on ``host`` (+ ``others`` on another host)."""
    count = 0
    for n, uuid in enumerate(uuids):
        sim.add_server(ServerRecord(
            id=uuid, name=f"bench-vm-{n}", tenant_id="%032x" % (0xC000 + n % 40),
            user_id="%032x" % (0xD000 + n % 90), host=host,
            instance_name="instance-%08x" % (n + 1), flavor_id=str(1 + n % 3),
            flavor_name=f"m1.bench{1 + n % 3}"))
        count += 1
    for record in make_servers(others, f"{host}-other", start=900000):
        sim.add_server(record)
    return count


def credentials(sim: KeystoneNovaSimulator, host: str = HOST, **nova: object) -> str:
    """[service_credentials] and [nova] sections pointing the enricher at ``sim``."""
    lines = ["[service_credentials]", "auth_type = password", f"auth_url = {sim.auth_url}",
             f"username = {sim.username}", f"password = {PASSWORD}",
             "project_name = service", "user_domain_name = Default",
             "project_domain_name = Default", "[nova]", f"host = {host}", "timeout = 5"]
    lines += [f"{k} = {v}" for k, v in nova.items()]
    return "\n".join(lines) + "\n"


class RequestClock:
    """Times at which the simulator's request count grew (polled in a thread)."""

    def __init__(self, sim: KeystoneNovaSimulator, step: float = 0.02) -> None:
        self._sim = sim
        self._step = step
        self.times: list[float] = []
        self._seen = sim.count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nova-clock", daemon=True)

    def __enter__(self) -> RequestClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()

    def _poll(self) -> None:
        count = self._sim.count()
        now = time.monotonic()
        self.times += [now] * (count - self._seen)
        self._seen = max(self._seen, count)

    def _run(self) -> None:
        while not self._stop.wait(self._step):
            self._poll()

    def between(self, start: float, end: float) -> int:
        """Requests seen in [start, end)."""
        return bisect.bisect_left(self.times, end) - bisect.bisect_left(self.times, start)
