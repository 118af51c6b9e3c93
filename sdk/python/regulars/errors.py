"""Status codes of regulars.h and the exceptions they become: one class per status."""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """regulars_status. Values are never renumbered; the library may append new ones."""

    OK = 0
    INVALID_INPUT = 1
    UNAVAILABLE = 2
    TIMEOUT = 3
    NOT_FOUND = 4
    DENIED = 5
    SPOOL_FULL = 6
    INTERNAL = 7
    INVALID_ARGUMENT = 8
    PROTOCOL = 9
    IO = 10


class RegularsError(Exception):
    """A call into libregulars returned a status other than OK.

    status       the numeric status (an int, also for a status newer than this binding)
    status_name  its name in regulars.h, e.g. "REGULARS_INVALID_INPUT"
    message      regulars_strerror's one-line description of the status
    detail       regulars_last_error's detail for this failure, e.g. "event.lines[0].qty: ..."
    """

    def __init__(self, status: int, message: str, detail: str) -> None:
        self.status = status
        self.status_name = status_name(status)
        self.message = message
        self.detail = detail
        text = f"{self.status_name} ({status}): {message}"
        super().__init__(f"{text}: {detail}" if detail else text)


class InvalidInputError(RegularsError):
    """The JSON given is malformed or breaks the schema; detail names the field."""


class UnavailableError(RegularsError):
    """regularsd cannot be reached right now (for hints: show none and carry on)."""


class TimeoutError(RegularsError):  # noqa: A001 - named after the status, as asyncio.TimeoutError
    """The daemon or the spool disk did not finish within the budget."""


class NotFoundError(RegularsError):
    """The thing asked for does not exist."""


class DeniedError(RegularsError):
    """Refused: authentication, role or consent."""


class SpoolFullError(RegularsError):
    """The daemon is unreachable and the spool reached its size bound."""


class InternalError(RegularsError):
    """An unexpected failure inside the library or the daemon."""


class InvalidArgumentError(RegularsError):
    """API misuse, such as a call on a closed client."""


class ProtocolError(RegularsError):
    """The daemon speaks an incompatible or corrupt protocol."""


class IoError(RegularsError):
    """The spool directory cannot be created, read or written."""


_ERROR_CLASSES: dict[int, type[RegularsError]] = {
    Status.INVALID_INPUT: InvalidInputError,
    Status.UNAVAILABLE: UnavailableError,
    Status.TIMEOUT: TimeoutError,
    Status.NOT_FOUND: NotFoundError,
    Status.DENIED: DeniedError,
    Status.SPOOL_FULL: SpoolFullError,
    Status.INTERNAL: InternalError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.PROTOCOL: ProtocolError,
    Status.IO: IoError,
}


def status_name(status: int) -> str:
    """The regulars.h name of a status; a status this binding does not know is named by number."""
    try:
        return f"REGULARS_{Status(status).name}"
    except ValueError:
        return f"REGULARS_STATUS_{status}"


def error_for_status(status: int, message: str, detail: str) -> RegularsError:
    """The exception for a non-OK status: its own subclass, or RegularsError for a newer status."""
    return _ERROR_CLASSES.get(status, RegularsError)(status, message, detail)
