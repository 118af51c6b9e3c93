"""Client: one regulars_client handle, closed by `with`, by close(), or at the latest by the collector."""

from __future__ import annotations

import ctypes
import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeAlias

from ._native import Library, load_library
from .answer import HintsAnswer
from .errors import RegularsError, Status, error_for_status

JsonDocument: TypeAlias = Mapping[str, Any] | str
"""A JSON object given as a mapping (serialised here) or as JSON text (passed on as it is)."""


class Client:
    """A connection to regularsd through libregulars, safe to share between threads.

    options: the regulars_open options (endpoint, spool_dir, budget_ms, terminal, store, cashier,
    ...; see regulars.h) as a mapping or JSON text; None means the library's defaults.
    library: the path of libregulars to load; without it $REGULARS_PLUGIN, then libregulars.so.0.
    """

    def __init__(self, options: JsonDocument | None = None, *, library: str | os.PathLike[str] | None = None) -> None:
        self._lib: Library = load_library(library)
        options_text = None if options is None else self._json_bytes(options, "options")
        handle = ctypes.c_void_p()
        status = self._lib.regulars_open(options_text, ctypes.byref(handle))
        if status != Status.OK:
            raise self._error(status)
        self._handle = _Handle(self._lib, handle)

    def record(self, event: JsonDocument) -> None:
        """Records one event; returns only once it is durable (committed by regularsd or in the spool).

        TimeoutError means "durable or not recorded": recording the same event_id again is safe.
        """
        text = self._json_bytes(event, "event")
        with self._handle.borrow() as handle:
            status = self._lib.regulars_record(handle, text)
            if status != Status.OK:
                raise self._error(status)

    def hints(self, request: JsonDocument) -> HintsAnswer:
        """Hints for the customer at the till, parsed, with the raw JSON text in .raw.

        UnavailableError and TimeoutError mean "show no hints now"; the till carries on.
        """
        raw = self.hints_json(request)
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise self._local_error(Status.PROTOCOL, f"the hints answer is not JSON: {e}") from e
        if not isinstance(data, dict):
            raise self._local_error(Status.PROTOCOL, "the hints answer is not a JSON object")
        return HintsAnswer(raw=raw, data=data)

    def hints_json(self, request: JsonDocument) -> str:
        """The hints answer as the JSON text the library returned, unparsed."""
        text = self._json_bytes(request, "request")
        answer = ctypes.c_void_p()
        with self._handle.borrow() as handle:
            status = self._lib.regulars_hints(handle, text, ctypes.byref(answer))
            if status != Status.OK:
                raise self._error(status)
        if answer.value is None:
            raise self._local_error(Status.PROTOCOL, "regulars_hints returned OK without an answer")
        try:
            raw = ctypes.string_at(answer.value)
        finally:
            self._lib.regulars_free(answer)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self._local_error(Status.PROTOCOL, f"the hints answer is not UTF-8: {e}") from e

    def close(self) -> None:
        """Closes the client, after calls under way on other threads have returned. Idempotent."""
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    @property
    def closed(self) -> bool:
        return self._handle.closed

    @property
    def library_version(self) -> str:
        """The loaded libregulars' version, "MAJOR.MINOR.PATCH"."""
        return self._lib.version()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _error(self, status: int) -> RegularsError:
        # regulars_last_error is per thread and valid until the next call on this thread: this runs
        # right after the failing call, on its thread, before anything else reaches the library.
        detail = self._lib.last_error()
        return error_for_status(status, self._lib.strerror(status), detail)

    def _local_error(self, status: Status, detail: str) -> RegularsError:
        """An error found on this side of the boundary, typed as the status the library would give."""
        return error_for_status(status, self._lib.strerror(status), detail)

    def _json_bytes(self, document: JsonDocument, what: str) -> bytes:
        if isinstance(document, str):
            text = document
        elif isinstance(document, Mapping):
            try:
                text = json.dumps(dict(document), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise self._local_error(Status.INVALID_INPUT, f"{what}: cannot be written as JSON: {e}") from e
        else:
            raise TypeError(f"{what} must be a mapping or JSON text, not {type(document).__name__}")
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise self._local_error(Status.INVALID_INPUT, f"{what}: not valid Unicode text: {e.reason}") from e
        if b"\0" in encoded:
            # C would see the text end at the NUL and judge a different document.
            raise self._local_error(Status.INVALID_INPUT, f"{what}: contains a NUL character")
        return encoded


class _Handle:
    """The native handle, and how many calls are using it, so that close() never frees it under a call."""

    def __init__(self, lib: Library, handle: ctypes.c_void_p) -> None:
        self._lib = lib
        self._handle: ctypes.c_void_p | None = handle
        self._calls = 0
        self._idle = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._handle is None

    @contextmanager
    def borrow(self) -> Iterator[ctypes.c_void_p]:
        with self._idle:
            handle = self._handle
            if handle is None:
                status = Status.INVALID_ARGUMENT
                raise error_for_status(status, self._lib.strerror(status), "the client is closed")
            self._calls += 1
        try:
            yield handle
        finally:
            with self._idle:
                self._calls -= 1
                if self._calls == 0:
                    self._idle.notify_all()

    def close(self) -> None:
        with self._idle:
            handle, self._handle = self._handle, None
            while self._calls > 0:
                self._idle.wait()
        if handle is not None:
            self._lib.regulars_close(handle)


def version(library: str | os.PathLike[str] | None = None) -> str:
    """The version of libregulars ("MAJOR.MINOR.PATCH"), found as Client finds it."""
    return load_library(library).version()
