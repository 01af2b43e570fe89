"""The compiled kernel tier: numba kernels for what NumPy does in many passes over memory
(depthwise convolutions, conv epilogues, activation chains, LayerNorm, Softmax, the recurrent
time loops). Optional: without numba (the ``fast`` extra) or with the tier switched off, every
caller runs its NumPy code, which stays the reference.

- Lazy: ``kernels("conv_kernels")`` imports numba and that kernel module on first use only;
  numba compiles each kernel on its first call with a given signature, so a session pays only
  for the kernels its graph actually reaches.
- Cached on disk (``cache=True``, see cache.py): a second process loads machine code instead
  of compiling it.
- Switch: ``AI_ENGINE_COMPILED=0`` in the environment, :func:`set_enabled`, or the
  :func:`disabled` context manager (tests use it to run the NumPy fallbacks).
- Threads: ``parallel()`` sizes numba's pool to the session's ``intra_op_num_threads`` (see
  engine/threads.py) before a parallel kernel runs; OpenMP threads sleep instead of spinning
  (see :func:`_configure_threads`) so they do not steal the cores BLAS's threads need next.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading

_ENV_SWITCH = "AI_ENGINE_COMPILED"
_enabled = os.environ.get(_ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")
_numba = None          # the numba module once imported; False when it cannot be
_modules: dict = {}
_setup_lock = threading.RLock()
_threads = 0           # the intra-op thread count asked for (0: numba's default, all cores)
_local = threading.local()
_launch_lock = None    # a Lock under numba's workqueue layer, which is not thread-safe


def available() -> bool:
    """Whether numba can be imported (imports it)."""
    return _import_numba() is not None


def enabled() -> bool:
    """Whether compiled kernels are used now: switched on and numba importable."""
    return _enabled and available()


def set_enabled(flag: bool) -> None:
    """Switch the compiled tier on or off for the whole process."""
    global _enabled
    _enabled = bool(flag)


@contextlib.contextmanager
def disabled():
    """Run the enclosed code with the NumPy kernels only (restores the previous switch)."""
    global _enabled
    before = _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = before


def kernels(name: str):
    """The kernel module ``ai_engine.engine.compiled.<name>``, or ``None`` when the tier is
    off or numba is missing (the caller then runs its NumPy path)."""
    if not _enabled:
        return None
    module = _modules.get(name)
    if module is None:
        if _import_numba() is None:
            return None
        with _setup_lock:
            module = _modules.get(name)
            if module is None:
                module = _modules[name] = importlib.import_module(f"{__name__}.{name}")
    return module


def _import_numba():
    global _numba, _launch_lock
    if _numba is None:
        with _setup_lock:
            if _numba is None:
                _configure_threads()
                try:
                    import numba
                except ImportError:
                    _numba = False
                else:
                    from ai_engine.engine.compiled.cache import install_locator

                    install_locator()
                    _launch_lock = threading.Lock() if _needs_launch_lock(numba) else None
                    _numba = numba
    return _numba or None


def _configure_threads() -> None:
    """Before numba loads: prefer the OpenMP layer (launching a parallel region costs ~2 us
    there, ~20 us in numba's workqueue, and it is safe from several threads at once), and make
    its idle threads sleep (OMP_WAIT_POLICY=PASSIVE) unless the user chose otherwise. Measured
    here: with libgomp's default spinning, alternating GEMMs and parallel kernels on 2 cores
    ran 10-30x slower than with passive waiting, because each pool's spinning threads take the
    cores the other needs."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if "NUMBA_THREADING_LAYER_PRIORITY" not in os.environ:
        os.environ["NUMBA_THREADING_LAYER_PRIORITY"] = "omp tbb workqueue"


def set_threads(count: int) -> None:
    """Use at most ``count`` threads in parallel kernels (0: numba's default, all cores)."""
    global _threads
    _threads = int(count)


def threads() -> int:
    """The thread count parallel kernels run with."""
    numba = _import_numba()
    if numba is None:
        return 1
    top = numba.config.NUMBA_NUM_THREADS
    return top if _threads <= 0 else min(_threads, top)


def parallel():
    """Context for a parallel kernel launch from this thread: numba's thread count is per
    launching thread, so it is set here (only when it changed); under the workqueue layer,
    which aborts on concurrent launches, launches are serialized."""
    want = threads()
    if getattr(_local, "threads", None) != want:
        _numba.set_num_threads(want)
        _local.threads = want
    return _launch_lock or _NO_LOCK


_NO_LOCK = contextlib.nullcontext()

# A kernel goes parallel from this much work (elements, or multiply-adds for convolutions):
# below it, waking the other threads costs more than they save, and on a busy 2-core machine a
# thread that is not scheduled stalls the whole parallel region.
PARALLEL_MIN_WORK = 1 << 18


def launch(module, name: str, work: int, *args):
    """Run ``module.<name>_parallel`` under :func:`parallel` when ``work`` is large enough and
    more than one thread is allowed, else ``module.<name>_serial`` (no launch cost)."""
    if work >= PARALLEL_MIN_WORK and threads() > 1:
        with parallel():
            return getattr(module, name + "_parallel")(*args)
    return getattr(module, name + "_serial")(*args)


def _needs_launch_lock(numba) -> bool:
    """Whether the threading layer numba will pick is workqueue (the only unsafe one)."""
    layer = numba.config.THREADING_LAYER
    if layer != "default":
        return layer == "workqueue"
    for pool in ("omppool", "tbbpool"):
        try:
            importlib.import_module(f"numba.np.ufunc.{pool}")
            return False
        except ImportError:
            continue
    return True


def describe() -> str:
    """One line for ``ai-engine info``: whether the tier is active, and how."""
    if not available():
        return "numpy only (numba not installed; install the 'fast' extra for compiled kernels)"
    state = "on" if _enabled else f"off ({_ENV_SWITCH}=0 or set_enabled(False))"
    from ai_engine.engine.compiled.cache import cache_dir

    return (f"numba {_numba.__version__} {state}, threads={threads()}, "
            f"cache={cache_dir()}")
