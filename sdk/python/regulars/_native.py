"""The C ABI of libregulars, declared once for ctypes (every prototype of regulars.h is here).

Nothing outside this module touches ctypes function objects directly; the rest of the package
calls through a Library, which also finds the shared object (see find_library_path).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from dataclasses import dataclass
from typing import Final

PLUGIN_ENV: Final = "REGULARS_PLUGIN"
"""Environment variable naming the library to load, as the till simulator reads it."""

SYSTEM_NAME: Final = "regulars.dll" if sys.platform == "win32" else "libregulars.so.0"
"""The name handed to the system loader when neither a path nor REGULARS_PLUGIN is given."""


class LibraryError(OSError):
    """libregulars could not be loaded, or what was loaded is not libregulars.

    Not a RegularsError: no library means no status code. The message names the path, where
    that path came from (argument, REGULARS_PLUGIN or the system loader) and the loader's reason.
    """


@dataclass(frozen=True)
class LibraryPath:
    """Which library to load and why that one, so that a failure can say where the name came from."""

    path: str
    source: str


def find_library_path(path: str | os.PathLike[str] | None = None) -> LibraryPath:
    """An explicit path wins; then $REGULARS_PLUGIN; then the system loader's name."""
    if path is not None:
        return LibraryPath(os.fspath(path), "the library argument")
    from_env = os.environ.get(PLUGIN_ENV, "")
    if from_env:
        return LibraryPath(from_env, f"${PLUGIN_ENV}")
    return LibraryPath(SYSTEM_NAME, "the system loader's search path")


class Library:
    """One loaded libregulars with its prototypes declared. Use load_library() to get one."""

    def __init__(self, where: LibraryPath) -> None:
        self.path = where.path
        try:
            self._dll = ctypes.CDLL(where.path)
        except OSError as e:
            raise LibraryError(f"cannot load libregulars from {where.path!r} (given by {where.source}): {e}") from e
        try:
            self._declare()
        except AttributeError as e:
            raise LibraryError(
                f"{where.path!r} (given by {where.source}) is not libregulars: {e}"
            ) from e

    def _declare(self) -> None:
        d = self._dll
        client_p = ctypes.c_void_p
        self.regulars_version = d.regulars_version
        self.regulars_version.argtypes = []
        self.regulars_version.restype = ctypes.c_char_p
        self.regulars_strerror = d.regulars_strerror
        self.regulars_strerror.argtypes = [ctypes.c_int]
        self.regulars_strerror.restype = ctypes.c_char_p
        self.regulars_last_error = d.regulars_last_error
        self.regulars_last_error.argtypes = []
        self.regulars_last_error.restype = ctypes.c_char_p
        self.regulars_open = d.regulars_open
        self.regulars_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(client_p)]
        self.regulars_open.restype = ctypes.c_int
        self.regulars_close = d.regulars_close
        self.regulars_close.argtypes = [client_p]
        self.regulars_close.restype = None
        # The answer is a library-owned pointer (c_void_p, not c_char_p, which would copy it and
        # lose the address that regulars_free needs).
        self.regulars_hints = d.regulars_hints
        self.regulars_hints.argtypes = [client_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        self.regulars_hints.restype = ctypes.c_int
        self.regulars_record = d.regulars_record
        self.regulars_record.argtypes = [client_p, ctypes.c_char_p]
        self.regulars_record.restype = ctypes.c_int
        self.regulars_free = d.regulars_free
        self.regulars_free.argtypes = [ctypes.c_void_p]
        self.regulars_free.restype = None

    def version(self) -> str:
        return _text(self.regulars_version())

    def strerror(self, status: int) -> str:
        return _text(self.regulars_strerror(status))

    def last_error(self) -> str:
        """The detail of the last failure on the calling thread; read it right after the call."""
        return _text(self.regulars_last_error())


def _text(raw: bytes | None) -> str:
    return "" if raw is None else raw.decode("utf-8", errors="replace")


_loaded: dict[str, Library] = {}
_loaded_lock = threading.Lock()


def load_library(path: str | os.PathLike[str] | None = None) -> Library:
    """The Library for path (see find_library_path), loaded once per process and path."""
    where = find_library_path(path)
    with _loaded_lock:
        library = _loaded.get(where.path)
        if library is None:
            library = Library(where)
            _loaded[where.path] = library
        return library
