"""Where the kernels' compiled machine code is cached: a per-user cache folder, never the install.

Numba's default for ``cache=True`` is the ``__pycache__`` folder beside the source file, i.e.
inside site-packages: pip's uninstall then leaves the files behind (the leftover folder shadows a
later editable install as a namespace package), and a read-only install cannot cache at all.
The folder is, in order of precedence:

* ``$GIBBSREG_CACHE_DIR`` when set;
* Numba's own ``$NUMBA_CACHE_DIR`` when set (laid out there as Numba lays out its own caches);
* the platform's user cache folder: ``$XDG_CACHE_HOME/gibbsreg/numba`` (``~/.cache/gibbsreg/numba``)
  on Linux, ``~/Library/Caches/gibbsreg/numba`` on macOS, ``%LOCALAPPDATA%\\gibbsreg\\numba`` on Windows;
* ``<tmp>/gibbsreg-<user>/numba`` when that folder cannot be written.

Numba keeps a function's entries in an index file named after its source file, function and line; it
keys each entry by the signature, the target and a hash of the function's own bytecode, and drops the
whole index when the source file's stamp (its modification time and size) changed.  A kernel's machine
code also holds the kernels it calls, which may live in other files (the hierarchical sweep in
kernels/hier/chains.py calls the stages in stages.py and the random numbers in draws.py), so here every
entry's stamp also covers every kernel source file: an edit or upgrade anywhere in the kernels recompiles
them all rather than leaving a caller cached with a callee's old code.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import sys
import tempfile
from pathlib import Path

from numba.core import caching, config

ENV_VAR = "GIBBSREG_CACHE_DIR"

# numba >= 0.61 names these without the underscore
_UserProvided = getattr(caching, "UserProvidedCacheLocator", None) or getattr(caching, "_UserProvidedCacheLocator")
_CacheImpl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")


def user_cache_dir() -> Path:
    """The per-user folder the compiled kernels are cached in (see the module docstring)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gibbsreg" / "numba"


def _fallback_dir() -> Path:
    try:
        user = getpass.getuser()
    except Exception:  # no user name (some containers): the uid still separates users
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"gibbsreg-{user}" / "numba"


def _package_roots() -> tuple[str, ...]:
    roots = {os.path.dirname(os.path.abspath(__file__))}
    package = sys.modules.get("gibbsreg")
    if package is not None and getattr(package, "__file__", None):
        roots.add(os.path.dirname(os.path.abspath(package.__file__)))
    return tuple(sorted(roots))


@functools.lru_cache(maxsize=None)
def kernels_digest(root: str) -> str:
    """sha256 over the names and contents of every Python file under ``root`` (once per process)."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


class GibbsregCacheLocator(_UserProvided):
    """Caches gibbsreg's own jitted functions in :func:`user_cache_dir`; declines every other file."""

    _base_dir: Path | None = None  # set on the per-folder subclasses made in from_function

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(str(self._base_dir), self.get_suitable_cache_subpath(py_file))

    def get_source_stamp(self):
        """The function's own file's stamp and the digest of all kernel sources (module docstring)."""
        return super().get_source_stamp(), kernels_digest(os.path.dirname(os.path.abspath(__file__)))

    @classmethod
    def from_function(cls, py_func, py_file):
        path = os.path.abspath(py_file)
        if not any(path.startswith(root + os.sep) for root in _package_roots()):
            return None
        # a folder the user chose for all of Numba is used as Numba would, with this stamp
        bases = (Path(config.CACHE_DIR),) if config.CACHE_DIR else (user_cache_dir(), _fallback_dir())
        for base in bases:
            located = type(f"{cls.__name__}At", (cls,), {"_base_dir": base})
            # the source-file mixin checks the folder can be created and written
            locator = super(_UserProvided, located).from_function(py_func, py_file)
            if locator is not None:
                return locator
        return None


def install() -> None:
    """Put the locator first in Numba's search order (idempotent)."""
    classes = _CacheImpl._locator_classes
    if not any(c is GibbsregCacheLocator for c in classes):
        classes.insert(0, GibbsregCacheLocator)
