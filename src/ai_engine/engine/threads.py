"""The thread count a session asks for (``SessionOptions.intra_op_num_threads``): it governs
every kernel tier, BLAS and the compiled (numba) kernels alike."""

from __future__ import annotations


def apply_intra_op_threads(count: int) -> None:
    """Limit the BLAS thread pools and the compiled kernels to ``count`` threads when it is
    set (> 0).

    Both are process-wide, so the last session that sets this wins.
    """
    if isinstance(count, bool) or int(count) != count or count < 0:
        raise ValueError(f"intra_op_num_threads must be an int >= 0, got {count!r}")
    if count > 0:
        from threadpoolctl import threadpool_limits

        from ai_engine.engine import compiled

        threadpool_limits(limits=int(count), user_api="blas")
        compiled.set_threads(int(count))
