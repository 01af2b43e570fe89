import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
# Every optimizer pass is followed by a graph consistency check in tests (also in the server
# subprocesses the tests start, which inherit the environment).
os.environ.setdefault("AI_ENGINE_CHECK_PASSES", "1")

from hypothesis import settings  # noqa: E402

# Property tests draw the same examples on every run, so CI cannot fail on a case no one has
# seen before; HYPOTHESIS_PROFILE=explore draws fresh ones when hunting for bugs.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
