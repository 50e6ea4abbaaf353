"""Keystone sessions for the Nova client: counted requests, secrets kept out of messages.

``Credentials`` says how to open a fresh openstacksdk ``Connection`` (from a
keystoneauth session, or from a clouds.yaml entry) and which configured
secrets no message may show. The ``[service_credentials]`` options are
loaded by ``enricher.cmd.nova``; nothing here reads the configuration.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import openstack.config
import openstack.connection
import requests
from keystoneauth1 import session as ks_session

APP_NAME = "enricher"
# clouds.yaml auth keys holding one of these words are secrets.
_SECRET_WORDS = ("password", "secret", "token")


class RequestCounters:
    """HTTP requests by (endpoint, status) and look-up timings; thread-safe.

    ``endpoint`` is what ``endpoint_of`` says; ``status`` is the HTTP status
    code as a string, or ``timeout`` / ``connection_error`` when no answer came.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lookups: collections.Counter[str] = collections.Counter()
        self._seconds_sum = 0.0

    def count_request(self, endpoint: str, status: str) -> None:
        with self._lock:
            self._requests[(endpoint, status)] += 1

    def observe_lookup(self, seconds: float, ok: bool) -> None:
        with self._lock:
            self._lookups["ok" if ok else "error"] += 1
            self._seconds_sum += seconds

    def requests(self) -> dict[tuple[str, str], int]:
        """A copy of the request counts by (endpoint, status)."""
        with self._lock:
            return dict(self._requests)

    def lookups(self) -> dict[str, int]:
        """Finished look-ups by result (``ok``, ``error``)."""
        with self._lock:
            return dict(self._lookups)

    @property
    def lookup_seconds_sum(self) -> float:
        with self._lock:
            return self._seconds_sum


def endpoint_of(url: str) -> str:
    """The counter label of a Keystone or Nova request URL.

    One of auth, discovery, servers, flavors, projects, users, hypervisors.
    """
    parts = [p for p in urllib.parse.urlsplit(url).path.split("/") if p]
    if parts[-2:] == ["auth", "tokens"]:
        return "auth"
    for part in reversed(parts):
        if part in ("servers", "flavors", "projects", "users"):
            return part
        if part == "os-hypervisors":
            return "hypervisors"
    return "discovery"


class _CountingAdapter(ks_session.TCPKeepAliveAdapter):
    """keystoneauth's transport adapter, counting every request it sends."""

    def __init__(self, counters: RequestCounters, **kwargs: Any) -> None:
        self._counters = counters
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        endpoint = endpoint_of(request.url or "")
        try:
            response = super().send(request, *args, **kwargs)
        except requests.Timeout:
            self._counters.count_request(endpoint, "timeout")
            raise
        except requests.ConnectionError:
            self._counters.count_request(endpoint, "connection_error")
            raise
        self._counters.count_request(endpoint, str(response.status_code))
        return response


def count_requests(conn: openstack.connection.Connection, counters: RequestCounters
                   ) -> openstack.connection.Connection:
    """Count every request ``conn`` sends in ``counters``; returns ``conn``."""
    for scheme in ("https://", "http://"):
        conn.session.session.mount(scheme, _CountingAdapter(counters))
    return conn


def close(conn: openstack.connection.Connection) -> None:
    """Close the HTTP connection pool of ``conn``."""
    conn.session.session.close()


@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    """How to open a fresh connection, and the secrets no message may show."""

    connect: Callable[[], openstack.connection.Connection]
    secrets: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        """``text`` with every configured secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def _secrets(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(v for v in values if isinstance(v, str) and v)


def from_session(session: Callable[[], ks_session.Session], *, region_name: str | None,
                 interfaces: Sequence[str], secrets: Iterable[Any] = ()) -> Credentials:
    """Connections over a new keystoneauth session from ``session()`` each time."""
    def connect() -> openstack.connection.Connection:
        return openstack.connection.Connection(
            session=session(), region_name=region_name, interface=list(interfaces),
            app_name=APP_NAME)
    return Credentials(connect, _secrets(secrets))


def from_cloud(cloud: str, timeout: float) -> Credentials:
    """Connections for a clouds.yaml entry; ``timeout`` unless it sets api_timeout.

    Raises openstack.exceptions.ConfigException when the entry is unusable.
    """
    region = openstack.config.OpenStackConfig().get_one(cloud=cloud)
    secrets = [value for key, value in (region.auth or {}).items()
               if any(word in key for word in _SECRET_WORDS)]
    if region.config.get("api_timeout") is None:
        region.config["api_timeout"] = timeout
    return Credentials(lambda: openstack.connection.Connection(config=region,
                                                               app_name=APP_NAME),
                       _secrets(secrets))
