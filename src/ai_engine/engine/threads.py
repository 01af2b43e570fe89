"""The BLAS thread count a session asks for (``SessionOptions.intra_op_num_threads``)."""

from __future__ import annotations


def apply_intra_op_threads(count: int) -> None:
    """Limit the BLAS thread pools to ``count`` threads when it is set (> 0).

    BLAS thread pools are process-wide, so the last session that sets this wins.
    """
    if isinstance(count, bool) or int(count) != count or count < 0:
        raise ValueError(f"intra_op_num_threads must be an int >= 0, got {count!r}")
    if count > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=int(count), user_api="blas")
