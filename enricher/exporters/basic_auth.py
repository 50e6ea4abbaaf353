"""HTTP basic authentication against exporter-toolkit's ``basic_auth_users`` (bcrypt).

A bcrypt check costs tens of milliseconds of CPU by design (cost 10: about
50-70 ms), so a scraper presenting the same credentials every 15 s must not
pay it each time: outcomes are kept in a small LRU keyed by an HMAC (with a
key drawn at start-up) of user, password and stored hash, never the password
itself; a changed hash (a reloaded web config) is a new key. An unknown user
is checked against a dummy hash of the same cost, so that timing does not
tell which user names exist.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping

import bcrypt

CACHE_SIZE = 128


def credentials(header: str) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic`` value, or None."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class BasicAuth:
    """Checks ``Authorization`` headers against bcrypt hashes, with an outcome cache."""

    def __init__(self, users: Mapping[str, bytes], cache_size: int = CACHE_SIZE) -> None:
        self.users = dict(users)
        self._key = secrets.token_bytes(32)
        self._cache: collections.OrderedDict[bytes, bool] = collections.OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._dummy: bytes | None = None
        self.bcrypt_checks = 0  # for the tests and the benchmark

    def _digest(self, user: str, password: str, stored: bytes) -> bytes:
        message = b"\0".join((user.encode(), password.encode(), stored))
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _stored(self, user: str) -> bytes:
        stored = self.users.get(user)
        if stored is not None:
            return stored
        if self._dummy is None:
            cost = max(int(h.split(b"$")[2]) for h in self.users.values())
            self._dummy = bcrypt.hashpw(secrets.token_bytes(16).hex().encode(),
                                        bcrypt.gensalt(cost))
        return self._dummy

    def cached(self, header: str | None) -> bool | None:
        """The outcome without a bcrypt check: False for a missing or malformed
        header, the cached outcome, or None if a bcrypt check is needed."""
        pair = credentials(header) if header else None
        if pair is None:
            return False
        key = self._digest(pair[0], pair[1], self.users.get(pair[0], b""))
        with self._lock:
            outcome = self._cache.get(key)
            if outcome is not None:
                self._cache.move_to_end(key)
            return outcome

    def check(self, header: str | None) -> bool:
        """Whether ``header`` carries a configured user's password (may run bcrypt)."""
        outcome = self.cached(header)
        if outcome is not None:
            return outcome
        user, password = credentials(header or "") or ("", "")
        stored = self._stored(user)
        self.bcrypt_checks += 1
        try:
            ok = bcrypt.checkpw(password.encode(), stored)
        except ValueError:
            ok = False
        ok = ok and user in self.users
        key = self._digest(user, password, self.users.get(user, b""))
        with self._lock:
            self._cache[key] = ok
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return ok
