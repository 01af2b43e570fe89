"""BLAS threads: how many a session uses, and how many cores the process may really use.

``SessionOptions.intra_op_num_threads = n > 0`` sets the BLAS pools to ``n`` threads. With the
default 0, the pools are capped once per process at :func:`usable_cores`: the CPUs of the
process's affinity mask (``taskset``, ``docker --cpuset-cpus``), limited by its cgroup CPU
quota (``docker --cpus``, a Kubernetes CPU limit), since BLAS libraries size their pools from
the machine's core count and a pool larger than the quota gets throttled mid-GEMM, with every
thread waiting for the slowest. The cap only lowers a pool: a smaller size set before (by
the server, by the user with threadpoolctl or ``OPENBLAS_NUM_THREADS``) stays. A pool this
module sized is "owned": thread_tuner.py may then resize it between runs (all usable cores
or one, whichever the session measures faster); a count set any other way ends that.

The same count governs the compiled (numba) kernels (engine/compiled/): every tier obeys
``intra_op_num_threads``. BLAS pools are process-wide, so the last session that sets a count
wins.
"""

from __future__ import annotations

import math
import os

CGROUP_ROOT = "/sys/fs/cgroup"
# Environment variables through which a user fixes the BLAS pool size himself.
USER_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
                         "MKL_NUM_THREADS")
_capped = False
_owned_size: int | None = None   # the pool size this module set, while nobody else set one
_pools: list | None = None       # threadpoolctl's controllers of the BLAS libraries


def usable_cores(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = "/proc/self/cgroup"
                 ) -> int:
    """CPUs this process may run on: its affinity mask, capped by its cgroup CPU quota
    (rounded down: 1.5 CPUs of quota run one thread without throttling, not two)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores)


def cgroup_cpu_quota(cgroup_root: str = CGROUP_ROOT, proc_cgroup: str = "/proc/self/cgroup"
                     ) -> float | None:
    """The CPU quota (in CPUs) of this process's cgroup and its ancestors, or ``None``.

    cgroup v2: ``cpu.max`` holds ``"<quota> <period>"`` or ``"max <period>"``; cgroup v1:
    ``cpu.cfs_quota_us`` (-1: none) over ``cpu.cfs_period_us``. The smallest quota on the
    path to the root applies. Inside a container the process's path is usually ``/``, so
    the container's own limit is read at the root of its cgroup mount.
    """
    try:
        with open(proc_cgroup, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2 unified hierarchy
            quotas += [_v2_quota(os.path.join(cgroup_root, d)) for d in _ancestors(path)]
        elif "cpu" in controllers.split(","):
            for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                base = os.path.join(cgroup_root, mount)
                if os.path.isdir(base):
                    quotas += [_v1_quota(os.path.join(base, d)) for d in _ancestors(path)]
                    break
    found = [q for q in quotas if q is not None]
    return min(found) if found else None


def _ancestors(path: str) -> list[str]:
    """``/a/b`` -> ``["a/b", "a", ""]``: the directories from the cgroup up to the root."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return None


def _v2_quota(directory: str) -> float | None:
    text = _read(os.path.join(directory, "cpu.max"))
    if not text:
        return None
    fields = text.split()
    if fields[0] == "max" or len(fields) < 2:
        return None
    return int(fields[0]) / int(fields[1])


def _v1_quota(directory: str) -> float | None:
    quota = _read(os.path.join(directory, "cpu.cfs_quota_us"))
    period = _read(os.path.join(directory, "cpu.cfs_period_us"))
    if quota is None or period is None or int(quota) <= 0 or int(period) <= 0:
        return None
    return int(quota) / int(period)


def apply_intra_op_threads(count: int) -> None:
    """Limit the BLAS pools to ``count`` threads (> 0), or, for 0, cap them once per process
    at :func:`usable_cores`."""
    global _capped, _owned_size
    if isinstance(count, bool) or int(count) != count or count < 0:
        raise ValueError(f"intra_op_num_threads must be an int >= 0, got {count!r}")
    _rescan_pools()   # a BLAS loaded since the last session (SciPy's own OpenBLAS) counts too
    from ai_engine.engine import compiled

    if count > 0:
        _owned_size = None  # the user's count: never resized behind his back
        _set_pools(int(count))
        compiled.set_threads(int(count))
        return
    if _capped:
        return
    _capped = True
    cores = usable_cores()
    compiled.set_threads(cores)
    sizes = [pool.get_num_threads() for pool in _blas_pools()]
    if any(size > cores for size in sizes):
        _set_pools(cores)
        sizes = [cores]
    if sizes and set(sizes) == {cores} and not any(os.environ.get(v)
                                                   for v in USER_THREAD_VARIABLES):
        _owned_size = cores


def resize_owned_pool(count: int) -> bool:
    """Resize the BLAS pools to ``count`` if this module owns them; ``False`` if not.
    The caller makes sure no BLAS call is in flight (thread_tuner.py)."""
    global _owned_size
    if _owned_size is None:
        return False
    pools = _blas_pools()
    if any(pool.get_num_threads() != _owned_size for pool in pools):
        _owned_size = None  # someone else resized them since: theirs now
        return False
    if count != _owned_size:
        _set_pools(count)
        _owned_size = count
    return True


def _blas_pools() -> list:
    global _pools
    if _pools is None:
        from threadpoolctl import ThreadpoolController

        _pools = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _pools


def _rescan_pools() -> None:
    """Forget the cached pool list: a session's creation (not its runs) looks again."""
    global _pools
    _pools = None


def _set_pools(count: int) -> None:
    for pool in _blas_pools():
        pool.set_num_threads(count)
