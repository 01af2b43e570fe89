"""BLAS threads: how many a session uses, and how many cores the process may really use.

``SessionOptions.intra_op_num_threads = n > 0`` sets the BLAS pools to ``n`` threads. With the
default 0, the pools are capped once per process at :func:`usable_cores`: the CPUs of the
process's affinity mask (``taskset``, ``docker --cpuset-cpus``), limited by its cgroup CPU
quota (``docker --cpus``, a Kubernetes CPU limit), since BLAS libraries size their pools from
the machine's core count and a pool larger than the quota gets throttled mid-GEMM, with every
thread waiting for the slowest. The cap only lowers a pool: a smaller size set before (by
the server, by the user with threadpoolctl or ``OPENBLAS_NUM_THREADS``) stays.

BLAS pools are process-wide, so the last session that sets a count wins.
"""

from __future__ import annotations

import math
import os

CGROUP_ROOT = "/sys/fs/cgroup"
_capped = False


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
    global _capped
    if isinstance(count, bool) or int(count) != count or count < 0:
        raise ValueError(f"intra_op_num_threads must be an int >= 0, got {count!r}")
    from threadpoolctl import threadpool_info, threadpool_limits

    if count > 0:
        threadpool_limits(limits=int(count), user_api="blas")
        return
    if _capped:
        return
    _capped = True
    cores = usable_cores()
    if any(pool.get("num_threads", 0) > cores for pool in threadpool_info()
           if pool.get("user_api") == "blas"):
        threadpool_limits(limits=cores, user_api="blas")
