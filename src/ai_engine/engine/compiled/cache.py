"""Where the compiled tier's machine code is cached on disk, so a second process loads it
instead of compiling (numba ``cache=True``).

The directory, first that applies:
1. ``AI_ENGINE_CACHE_DIR`` (then ``<it>/numba``);
2. numba's own ``NUMBA_CACHE_DIR``, when the user set one;
3. the package's ``compiled/__pycache__`` when it is writable (an editable install, a
   user-writable virtual environment);
4. the user cache directory, ``$XDG_CACHE_HOME/ai-engine/numba`` (``~/.cache/...``): a
   read-only site-packages.

Only this package's kernels are affected (a cache locator that answers for files of this
folder alone; the user's own numba functions keep numba's rules). Entries are stamped with a
hash of every source file of this folder plus numba's version, not just the kernel's own file:
kernels inline helpers from mathf.py, and numba alone would not notice that a helper changed.
"""

from __future__ import annotations

import hashlib
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_stamp = None


def cache_dir() -> str:
    """The directory compiled kernels are cached in (see the module docstring)."""
    explicit = os.environ.get("AI_ENGINE_CACHE_DIR")
    if explicit:
        return os.path.join(os.path.abspath(os.path.expanduser(explicit)), "numba")
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir:
        return os.path.abspath(os.path.expanduser(numba_dir))
    in_tree = os.path.join(_HERE, "__pycache__")
    if _writable(in_tree):
        return in_tree
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ai-engine", "numba")


def _writable(path: str) -> bool:
    if os.path.isdir(path):
        return os.access(path, os.W_OK | os.X_OK)
    parent = os.path.dirname(path)
    return os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK)


def source_stamp() -> str:
    """Hash of this folder's sources and numba's version: any change invalidates every
    cached kernel of the tier."""
    global _stamp
    if _stamp is None:
        import numba

        h = hashlib.sha256(numba.__version__.encode())
        for name in sorted(os.listdir(_HERE)):
            if name.endswith(".py"):
                with open(os.path.join(_HERE, name), "rb") as f:
                    h.update(name.encode() + b"\0" + f.read())
        _stamp = h.hexdigest()
    return _stamp


def install_locator() -> None:
    """Put this tier's cache locator first in numba's list (a no-op if numba's internals
    changed: caching then follows numba's default locators)."""
    try:
        from numba.core import caching
    except ImportError:
        return
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    base = getattr(caching, "_CacheLocator", None)
    if impl is None or base is None or not isinstance(getattr(impl, "_locator_classes", None),
                                                       list):
        return
    if any(getattr(c, "ai_engine_tier", False) for c in impl._locator_classes):
        return

    class TierCacheLocator(base):
        """numba cache locator for the kernels of ai_engine's compiled tier."""

        ai_engine_tier = True

        def __init__(self, py_func, py_file):
            self._lineno = py_func.__code__.co_firstlineno
            self._path = os.path.join(cache_dir(), source_stamp()[:16])

        def get_cache_path(self):
            return self._path

        def get_source_stamp(self):
            return source_stamp()

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _HERE:
                return None
            self = cls(py_func, py_file)
            try:
                self.ensure_cache_path()
            except OSError:
                return None     # not writable: numba's own locators decide
            return self

    impl._locator_classes.insert(0, TierCacheLocator)
