"""RunOptions (onnxruntime's names) and the run control the executor checks between nodes.

``session.run(outputs, feeds, run_options)``: ``terminate`` (set from any thread) and
``timeout_s`` (ai-engine's own: a deadline for the whole run) stop a run between two nodes,
at every iteration of Loop/Scan/SequenceMap and at every time step of LSTM/GRU/RNN, with
:class:`RunTerminatedError` or :class:`RunTimeoutError`. The session stays usable.

How: ``session.run`` puts a :class:`RunControl` in a context variable for the duration of the
run (one per thread, so concurrent runs do not see each other's); the generated plan reads
it once per (sub)graph run and, when there is one, calls its hooks: ``enter(plan)``,
``step(plan, k)`` before each node, ``leave(plan)`` (codegen.py). Without run options the
per-node cost is one ``is not None`` test. The profiler and memory tracker are controls too
(instrumentation.py), so every run runs the same generated code.
"""

from __future__ import annotations

import contextvars
import time

from ai_engine.engine.options import MissingConfigEntry
from ai_engine.errors import RunTerminatedError, RunTimeoutError

_current: contextvars.ContextVar["RunControl | None"] = contextvars.ContextVar(
    "ai_engine_run_control", default=None)


class RunOptions:
    """Per-run options, as onnxruntime's ``RunOptions``.

    ``terminate``: set it (from another thread) to stop the runs that use these options.
    ``timeout_s``: stop the run once it has taken this many seconds (``None``: no deadline).
    ``log_severity_level`` / ``log_verbosity_level`` / ``logid``: the run's log lines (its
    start and end, at VERBOSE) carry ``logid`` and are emitted at or above that severity
    (0 verbose, 1 info, 2 warning, 3 error, 4 fatal). ``only_execute_path_to_fetches``:
    accepted for compatibility; ai-engine always runs only the nodes that the requested
    outputs need (a plan per set of requested outputs), so both values behave as ``True``.
    """

    __slots__ = ("terminate", "timeout_s", "log_severity_level", "log_verbosity_level",
                 "logid", "only_execute_path_to_fetches", "_config")

    def __init__(self, *, timeout_s: float | None = None):
        self.terminate = False
        self.timeout_s = timeout_s
        self.log_severity_level = 2
        self.log_verbosity_level = 0
        self.logid = ""
        self.only_execute_path_to_fetches = False
        self._config: dict[str, str] = {}

    def add_run_config_entry(self, key: str, value: str) -> None:
        self._config[str(key)] = str(value)

    def get_run_config_entry(self, key: str) -> str:
        if key not in self._config:
            raise MissingConfigEntry(f"RunOptions has no config entry {key!r}")
        return self._config[key]

    def __repr__(self) -> str:
        return (f"RunOptions(terminate={self.terminate}, timeout_s={self.timeout_s}, "
                f"logid={self.logid!r})")


class RunControl:
    """What one run checks: the options' ``terminate`` flag (read live) and a deadline."""

    __slots__ = ("options", "deadline", "start")

    def __init__(self, options: RunOptions | None, timeout_s: float | None = None):
        options = RunOptions() if options is None else options
        self.options = options
        self.start = time.monotonic()
        limit = options.timeout_s if timeout_s is None else timeout_s
        if limit is not None and (limit != limit or limit < 0):
            raise ValueError(f"RunOptions.timeout_s must be a number >= 0, got {limit!r}")
        self.deadline = None if limit is None else self.start + float(limit)

    def enter(self, plan) -> None:
        """A (sub)graph run starts."""

    def leave(self, plan) -> None:
        """A (sub)graph run ends."""

    def step(self, plan, k: int) -> None:
        """Step ``k`` of ``plan`` is about to run."""
        self.check(plan.step_names[k])

    def check(self, where: str = "") -> None:
        """Raise if the run was terminated or is past its deadline; ``where`` names the
        place (the next node) for the message."""
        if self.options.terminate:
            raise RunTerminatedError(f"run terminated by RunOptions.terminate"
                                     f"{' before ' + where if where else ''}")
        if self.deadline is not None:
            now = time.monotonic()
            if now > self.deadline:
                raise RunTimeoutError(
                    f"run exceeded its deadline of {self.deadline - self.start:.6g} s "
                    f"(stopped after {now - self.start:.6g} s"
                    f"{', before ' + where if where else ''})")


def current() -> RunControl | None:
    """The control of the run on this thread, or ``None``."""
    return _current.get()


def activate(control: RunControl | None):
    """Make ``control`` the current run's; returns the token for :func:`deactivate`."""
    return _current.set(control)


def deactivate(token) -> None:
    _current.reset(token)
