"""allocator.py's promises, observed through glibc's own counters in a fresh process.

``mallinfo2()`` (glibc >= 2.33) reports ``hblkhd`` (bytes in mmap'ed blocks) and ``arena``
(bytes of the sbrk heap); ``/proc/self/status`` gives the resident set. A 64 MiB block is
above glibc's largest dynamic mmap threshold (32 MiB on 64-bit), so untuned it is always
mmap'ed; tuned (threshold 1 GiB) it must come from the heap, which grows by the top pad as
well, stay there after ``free`` (trim threshold 1 GiB), and go back to the OS only on
:func:`release_free_memory`.
"""

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

import pytest

from ai_engine.memory import allocator

PROBE = r"""
import ctypes, ctypes.util, json, os, sys
import numpy as np
from ai_engine.memory import allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2

def snap():
    m = libc.mallinfo2()
    with open("/proc/self/status") as f:
        rss = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))
    return {"mmapped": m.hblkhd, "heap": m.arena, "in_use": m.uordblks, "rss": rss}

BLOCK = 64 << 20
out = {"start": snap()}
a = np.ones(BLOCK // 8); out["untuned_alloc"] = snap(); del a
out["tuned"] = allocator.tune_malloc()
out["tuned_again"] = allocator.tune_malloc()
a = np.ones(BLOCK // 8); out["tuned_alloc"] = snap(); del a
out["after_free"] = snap()
out["trimmed"] = allocator.release_free_memory()
out["after_trim"] = snap()
json.dump(out, sys.stdout)
"""

BLOCK = 64 << 20


def _probe(**env):
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("not glibc >= 2.33: allocator.py is a no-op here and has no counters")
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "AI_ENGINE_MALLOC"))}
    done = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _grew(out, before, after, key):
    return out[after][key] - out[before][key]


def test_tuning_moves_big_blocks_to_the_heap_and_trim_returns_them():
    out = _probe()
    # untuned: glibc's default mmaps the block
    assert _grew(out, "start", "untuned_alloc", "mmapped") >= BLOCK
    assert out["tuned"] is True and out["tuned_again"] is True  # applied once, idempotent
    # tuned: the same block comes from the heap, none of it mmap'ed
    assert _grew(out, "start", "tuned_alloc", "mmapped") < BLOCK // 2
    assert _grew(out, "start", "tuned_alloc", "in_use") >= BLOCK
    # the heap grew by the block plus the top pad (less what was free at its top already)
    assert _grew(out, "start", "tuned_alloc", "heap") >= BLOCK + allocator.TOP_PAD // 2
    # freed, it stays in the process (the next run reuses it without page faults)...
    assert out["after_free"]["heap"] - out["start"]["heap"] >= BLOCK
    assert out["after_free"]["rss"] - out["start"]["rss"] >= BLOCK * 3 // 4
    # ...until release_free_memory hands it back to the OS
    assert out["trimmed"] is True
    assert out["after_free"]["rss"] - out["after_trim"]["rss"] >= BLOCK * 3 // 4
    assert out["after_free"]["heap"] - out["after_trim"]["heap"] >= BLOCK


def test_opt_out_leaves_malloc_alone():
    out = _probe(AI_ENGINE_MALLOC_TUNING="0")
    assert out["tuned"] is False
    assert _grew(out, "start", "tuned_alloc", "mmapped") >= BLOCK  # still mmap'ed
