"""The exception tree: every error of the project is in ``compressor/errors.py``, drawn in its docstring,
with a unique ``kind``; the kinds listed from the tree are the labels metrics and dead letters use."""

from __future__ import annotations

import inspect
import re
from types import ModuleType

import pytest

import compressor.errors as errors
from compressor.errors import (
    DataError,
    DeserializationError,
    LatentwireError,
    NonFiniteError,
    RejectedRecordsError,
    TruncatedError,
    error_kinds,
)
from compressor.validation import RejectedRecord


def _tree(root: type[LatentwireError] = LatentwireError) -> list[type[LatentwireError]]:
    """The project's error classes, depth first (subclasses defined outside errors.py left out)."""
    out = [root]
    for sub in root.__subclasses__():
        if sub.__module__ == errors.__name__:
            out.extend(_tree(sub))
    return out


def _drawn_tree() -> list[tuple[str, int, str]]:
    """(class name, depth, what its parentheses say) for each line of the tree in the module docstring."""
    drawing = errors.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in drawing.splitlines():
        match = re.match(r"^ {4}((?:[│ ] {3})*)(?:[├└]── )?(\w+)(?: \((\w+)\))?", line)
        assert match, f"cannot read the tree line {line!r}"
        rows.append(
            (match.group(2), len(match.group(1)) // 4 + (1 if "──" in line else 0), match.group(3) or "")
        )
    return rows


def test_every_exception_class_of_the_project_is_in_the_tree(project_modules: list[ModuleType]) -> None:
    prefixes = tuple(f"{m.__name__.split('.')[0]}." for m in project_modules)
    found = {
        obj
        for module in project_modules
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BaseException) and obj.__module__.startswith(prefixes)
    }
    assert found, "no exception class found: the module walk is broken"
    outside = sorted(f"{c.__module__}.{c.__name__}" for c in found if c.__module__ != errors.__name__)
    assert not outside, f"exceptions defined outside compressor/errors.py: {outside}"
    assert all(issubclass(c, LatentwireError) for c in found)
    assert set(_tree()) == {getattr(errors, name) for name in errors.__all__ if name[0].isupper()}


def test_every_error_class_has_its_own_unique_kind() -> None:
    tree = _tree()
    assert all("kind" in cls.__dict__ for cls in tree), [c.__name__ for c in tree if "kind" not in c.__dict__]
    kinds = [cls.kind for cls in tree]
    assert len(set(kinds)) == len(kinds), sorted(k for k in kinds if kinds.count(k) > 1)
    assert all(re.fullmatch(r"[a-z_]+", kind) for kind in kinds)


def test_the_drawn_tree_is_the_class_tree() -> None:
    drawn = _drawn_tree()
    assert [name for name, _, _ in drawn] == [cls.__name__ for cls in _tree()]
    parents: list[str] = []
    for name, depth, also in drawn:
        cls = getattr(errors, name)
        del parents[depth:]
        bases = [b for b in cls.__bases__ if b is not Exception]
        expected = ([parents[-1]] if parents else []) + ([also] if also else [])
        assert [b.__name__ for b in bases] == expected, name
        parents.append(name)


def test_error_kinds_lists_the_tree_in_drawn_order_without_wrappers() -> None:
    drawn = [getattr(errors, name) for name, _, _ in _drawn_tree()]
    assert error_kinds() == tuple(cls.kind for cls in drawn if not cls.wraps)
    assert error_kinds(DataError) == ("bad_data", "wrong_shape", "non_finite", "not_numeric")
    assert error_kinds(TruncatedError) == ("truncated",)
    assert {cls for cls in drawn if cls.wraps} == {RejectedRecordsError, DeserializationError}


def test_wrappers_report_the_kind_of_what_they_wrap() -> None:
    rejected = RejectedRecordsError(
        [RejectedRecord(3, NonFiniteError("nan")), RejectedRecord(5, DataError("x"))]
    )
    assert rejected.kind == "non_finite" and isinstance(rejected, ValueError)
    failed = DeserializationError("cannot decode", TruncatedError("short"), b"\xc1")
    assert failed.kind == "truncated" and isinstance(failed, ValueError) and failed.data == b"\xc1"


def test_bridge_dead_letter_kinds_keep_their_metric_labels() -> None:
    from streaming.bridge_loop import DEAD_LETTER_KINDS

    assert sorted(DEAD_LETTER_KINDS) == sorted(
        [
            "bad_data",
            "wrong_shape",
            "non_finite",
            "not_numeric",
            "bad_envelope",
            "bad_magic",
            "unsupported_version",
            "truncated",
            "unknown_model",
            "bad_bundle",
            "model_mismatch",
        ]
    )


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("producers.batching", "RejectedRecordsError"),
        ("producers.batching", "SendFailedError"),
        ("consumers.deserializer", "DeserializationError"),
        ("streaming.registry.topic", "RegistryError"),
    ],
)
def test_errors_still_import_from_where_they_used_to_live(module: str, name: str) -> None:
    imported = __import__(module, fromlist=[name])
    assert name in imported.__all__ and getattr(imported, name) is getattr(errors, name)
