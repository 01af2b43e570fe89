import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from hypothesis import settings  # noqa: E402

# Property tests draw the same examples on every run, so CI cannot fail on a case no one has
# seen before; HYPOTHESIS_PROFILE=explore draws fresh ones when hunting for bugs.
settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
