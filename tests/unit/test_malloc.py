"""The malloc arena cap holds on glibc and never overrides the operator's."""

from __future__ import annotations

import os
import subprocess
import sys

# Six threads allocate at once (100 kB buffers: glibc, not pymalloc, below the
# mmap threshold); malloc_info() then lists one <heap> per arena in use.
CODE = """
import ctypes, sys, tempfile, threading
from enricher import malloc
applied = malloc.limit_arenas() if sys.argv[1] == "cap" else None
barrier = threading.Barrier(6)
def work():
    kept = [bytearray(100_000)]
    barrier.wait()
    kept += [bytearray(100_000) for _ in range(20)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
libc.fclose.argtypes = (ctypes.c_void_p,)
with tempfile.NamedTemporaryFile() as out:
    fp = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    print(applied, open(out.name).read().count("<heap nr="))
"""


def _run(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", CODE, mode], env=dict(environ, **env),
                         check=True, capture_output=True, text=True).stdout.split()
    return out[0], int(out[1])


def test_threads_share_two_arenas_with_the_cap() -> None:
    applied, heaps = _run("cap")
    assert applied == "True"
    assert heaps <= 2
    _, uncapped = _run("none")
    assert uncapped > 2  # the same threads spread over more arenas without it


def test_an_operators_malloc_arena_max_wins() -> None:
    applied, heaps = _run("cap", MALLOC_ARENA_MAX="4")
    assert applied == "False"
    assert 2 < heaps <= 4
