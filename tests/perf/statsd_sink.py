"""A StatsD target for the benchmarks: a UDP socket that counts what arrives."""

from __future__ import annotations

import socket
import threading


class StatsdSink:
    """Receives datagrams on 127.0.0.1 (an ephemeral port) and counts them."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.datagrams = self.bytes = self.lines = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="statsd-sink", daemon=True)

    def __enter__(self) -> StatsdSink:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65535)
            except TimeoutError:
                continue
            self.datagrams += 1
            self.bytes += len(data)
            self.lines += data.count(b"\n") + 1

    def config(self, tag_format: str = "dogstatsd") -> str:
        """The enricher's [statsd] section sending here."""
        return (f"[statsd]\nenabled = true\nhost = 127.0.0.1\nport = {self.port}\n"
                f"tag_format = {tag_format}\n")
