"""The web config in force, re-read when it or its certificate files change.

A ``WebGuard`` holds one immutable state (the parsed file, its SSL context,
the basic-auth checker) and swaps it whole. The HTTP server asks for the
state on every connection and request; at most once a second
(``check_every``) that costs a ``stat()`` of the web config file and of the
certificate, key and client CA files, and a change there builds a new
state, so the next TLS handshake presents a rotated certificate without a
restart. SIGHUP forces a re-read. A file that no longer parses, or
certificates that no longer load, keep the previous state and log one
error per change; at start-up they are fatal (``WebConfigError``).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import ssl
import threading
import time
from collections.abc import Callable

from enricher.exporters import tls, web_config
from enricher.exporters.basic_auth import BasicAuth
from enricher.exporters.web_config import WebConfig, WebConfigError

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class GuardState:
    """One consistent web config: what the server applies to a connection."""

    config: WebConfig
    config_stamp: tls.Stamp
    tls_stamp: tls.Stamp
    context: ssl.SSLContext | None
    auth: BasicAuth | None

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return self.config.headers

    @property
    def allowed_sans(self) -> tuple[str, ...]:
        return self.config.tls.client_allowed_sans if self.config.tls else ()


class WebGuard:
    """TLS, basic auth and response headers from an exporter-toolkit web config file."""

    def __init__(self, path: str, check_every: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.check_every = check_every
        self._clock = clock
        self._lock = threading.Lock()
        self._failed: tuple[tls.Stamp, tls.Stamp] | None = None
        self._state = self._build(None, web_config.load(path), tls.stamp([path]))
        self._next_check = clock() + check_every
        # Counters for the self-metrics, written by the event loop or a reload.
        self.handshake_errors: collections.Counter[str] = collections.Counter()
        self.auth_failures = 0
        self.reloads: collections.Counter[str] = collections.Counter()
        self.last_reload_ok = True
        LOG.info("Web config %s: %s", path, self.describe())

    def describe(self) -> str:
        """One line for the log: TLS, client auth, users (never their hashes)."""
        config = self._state.config
        return "TLS %s, basic auth %s, %d extra response headers" % (
            "on (client_auth_type %s)" % config.tls.client_auth_type if config.tls else "off",
            "for %d users" % len(config.users) if config.users else "off",
            len(config.headers))

    @staticmethod
    def _build(previous: GuardState | None, config: WebConfig, config_stamp: tls.Stamp
               ) -> GuardState:
        files = config.tls.files if config.tls else ()
        tls_stamp = tls.stamp(files)
        context = tls.build_context(config.tls) if config.tls else None
        auth = None
        if config.users:
            if previous is not None and previous.auth is not None and \
                    previous.auth.users == dict(config.users):
                auth = previous.auth  # keep the verified-credentials cache
            else:
                auth = BasicAuth(config.users)
        return GuardState(config, config_stamp, tls_stamp, context, auth)

    def state(self) -> GuardState:
        """The state to apply now, re-read first if a file changed (checked at most
        once every ``check_every`` seconds)."""
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + self.check_every
            self._refresh(force=False)
        return self._state

    def reload(self) -> bool:
        """Re-read the web config and its files now (SIGHUP); whether it applied."""
        return self._refresh(force=True)

    def _refresh(self, force: bool) -> bool:
        with self._lock:
            old = self._state
            config_stamp = tls.stamp([self.path])
            tls_stamp = tls.stamp(old.config.tls.files if old.config.tls else ())
            changed = config_stamp != old.config_stamp or tls_stamp != old.tls_stamp
            if not force and (not changed or self._failed == (config_stamp, tls_stamp)):
                return True
            try:
                config = (web_config.load(self.path)
                          if force or config_stamp != old.config_stamp else old.config)
                self._state = self._build(old, config, config_stamp)
            except WebConfigError as exc:
                self._failed = (config_stamp, tls_stamp)
                self.reloads["failure"] += 1
                self.last_reload_ok = False
                LOG.error("Keeping the previous web config: %s", exc)
                return False
            self._failed = None
            self.reloads["success"] += 1
            self.last_reload_ok = True
            LOG.info("Web config %s reloaded: %s", self.path, self.describe())
            return True
