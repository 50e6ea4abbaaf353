"""Escaping of tenant strings for StatsD names and tags.

StatsD has no quoting: ``.`` separates path segments, ``:`` the value,
``|`` the type, ``@`` the sample rate, ``#`` and ``,`` the DogStatsD tags,
``,`` and ``=`` the InfluxDB-style tags, and a newline the lines. A tenant
name (any Unicode string a Keystone or Nova user typed) is therefore written
percent-encoded, as in a URL: every character outside a small ASCII set
becomes ``%XX`` per byte of its UTF-8 form (``%`` itself is ``%25``).
The mapping is one to one, so ``unescape_segment`` and ``unescape_tag`` give the name back, and the
result is plain ASCII that every StatsD server and Graphite accept.

* name segments keep ``A-Z a-z 0-9 _ -``; an empty value is ``_`` (unknown)
  and a value of just ``_`` is ``%5F``, so ``_`` always means unknown;
* tag values keep those plus ``.`` and ``/`` (flavors such as ``m1.small``).
"""

from __future__ import annotations

import functools
import string
import urllib.parse

_WORD = frozenset(string.ascii_letters + string.digits + "_-")
SEGMENT_SAFE = _WORD
TAG_SAFE = _WORD | frozenset("./")
UNKNOWN = "_"
CACHE_SIZE = 8192  # distinct strings kept escaped (names, devices, ids)


def _escape(value: str, safe: frozenset[str]) -> str:
    if all(c in safe for c in value):
        return value
    out = []
    for char in value:
        if char in safe:
            out.append(char)
        else:
            out.extend("%%%02X" % b for b in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


@functools.lru_cache(maxsize=CACHE_SIZE)
def segment(value: str) -> str:
    """``value`` as one path segment of a name: never empty, never a separator."""
    if value == "":
        return UNKNOWN
    if value == UNKNOWN:
        return "%5F"
    return _escape(value, SEGMENT_SAFE)


@functools.lru_cache(maxsize=CACHE_SIZE)
def tag(value: str) -> str:
    """``value`` as a tag value (callers leave empty values out)."""
    return _escape(value, TAG_SAFE)


def unescape_tag(text: str) -> str:
    """The original of ``tag()`` output."""
    return urllib.parse.unquote(text, errors="surrogatepass")


def unescape_segment(text: str) -> str:
    """The original of ``segment()`` output (``_`` gives "")."""
    return "" if text == UNKNOWN else unescape_tag(text)
