"""External programs some tests run: skipped where missing, required in CI.

With ``CI`` or ``ENRICHER_REQUIRE_TOOLS`` set (tools/test.sh sets the
latter: it installs them all), a missing program fails the test instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE = ("CI", "ENRICHER_REQUIRE_TOOLS")


def required() -> bool:
    """True if a missing program must fail the tests that need it."""
    return any(os.environ.get(name, "").lower() not in ("", "0", "false", "no")
               for name in REQUIRE)


def find(program: str, package: str) -> str:
    """The path of ``program``; skips the test without it, or fails it (see above)."""
    found = shutil.which(program) or shutil.which(program, path="/usr/bin:/usr/sbin")
    if found:
        return found
    message = "%s is not installed (apt-get install %s)" % (program, package)
    if required():
        pytest.fail("%s; it is required when %s is set" % (message, " or ".join(REQUIRE)),
                    pytrace=False)
    pytest.skip(message)
