"""Finding libregulars: an explicit path, then $REGULARS_PLUGIN, then the system loader; clear errors."""

from __future__ import annotations

import ctypes.util

import pytest

import regulars
from regulars._native import SYSTEM_NAME, find_library_path


def test_a_bad_library_path_says_which_path_and_where_it_came_from(tmp_path: object) -> None:
    missing = f"{tmp_path}/no-such/libregulars.so.0"
    with pytest.raises(regulars.LibraryError) as caught:
        regulars.Client({}, library=missing)
    assert missing in str(caught.value)
    assert "the library argument" in str(caught.value)
    assert isinstance(caught.value, OSError)


def test_a_bad_plugin_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    missing = f"{tmp_path}/gone.so"
    monkeypatch.setenv("REGULARS_PLUGIN", missing)
    with pytest.raises(regulars.LibraryError, match=r"\$REGULARS_PLUGIN"):
        regulars.version()


def test_a_library_that_is_not_libregulars_is_refused() -> None:
    libm = ctypes.util.find_library("m")
    assert libm is not None
    with pytest.raises(regulars.LibraryError, match="is not libregulars"):
        regulars.version(libm)


def test_an_explicit_path_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch, plugin_path: str) -> None:
    monkeypatch.setenv("REGULARS_PLUGIN", "/nonexistent/libregulars.so.0")
    assert regulars.version(plugin_path)


def test_without_path_or_variable_the_system_name_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGULARS_PLUGIN", raising=False)
    where = find_library_path()
    assert where.path == SYSTEM_NAME == "libregulars.so.0"
    assert find_library_path("/opt/x.so").path == "/opt/x.so"
