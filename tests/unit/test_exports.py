"""The public API: every name in an ``__all__`` exists, and every exported class says what its
parameters are in its docstring, one entry per parameter in the form ``name (type): meaning``, with
``Default:`` for those that have one."""

from __future__ import annotations

import enum
import inspect
import re
from types import ModuleType

import pytest

#: the library packages whose ``__all__`` is the public API (the command line has none)
LIBRARY = ("compressor", "streaming", "producers", "consumers")


def _library(modules: list[ModuleType]) -> list[ModuleType]:
    return [m for m in modules if m.__name__.split(".")[0] in LIBRARY]


def _exported_classes(modules: list[ModuleType]) -> dict[str, type]:
    """Each class named in some ``__all__`` and defined in the project, by its qualified name."""
    classes = {}
    for module in _library(modules):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and obj.__module__.split(".")[0] in LIBRARY:
                classes[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return classes


def _parameters(cls: type) -> list[inspect.Parameter]:
    """What a caller passes to make one: the ``__init__`` parameters (none for enums and for exceptions
    that keep ``Exception``'s)."""
    if issubclass(cls, enum.Enum):
        return []
    if issubclass(cls, BaseException) and not any(
        "__init__" in vars(k) for k in cls.__mro__ if k.__module__ != "builtins"
    ):
        return []
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p for p in inspect.signature(cls).parameters.values() if p.kind not in kinds]


def _undocumented(cls: type) -> list[str]:
    """The parameters of ``cls`` its docstring does not describe as ``name (type): ...``, with
    ``Default:`` in the entry when the parameter has a default."""
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    entries = {
        m.group(1): m.group(0)
        for m in re.finditer(r"^ +(\w+) \([^)\n]+\): .*(?:\n {5,}.*)*", doc, flags=re.MULTILINE)
    }
    missing = []
    for p in _parameters(cls):
        entry = entries.get(p.name)
        if entry is None or (p.default is not inspect.Parameter.empty and "Default:" not in entry):
            missing.append(p.name)
    return missing


def test_every_name_in_an_all_exists(project_modules: list[ModuleType]) -> None:
    listed = 0
    for module in _library(project_modules):
        names = list(getattr(module, "__all__", ()))
        assert len(set(names)) == len(names), f"{module.__name__}.__all__ repeats a name"
        assert [n for n in names if not hasattr(module, n)] == [], module.__name__
        listed += len(names)
    assert listed > 50, "the module walk found too few exports"


def test_exported_classes_include_the_kafka_adapters(project_modules: list[ModuleType]) -> None:
    names = {qualified.rsplit(".", 1)[1] for qualified in _exported_classes(project_modules)}
    adapters = {
        "BatchingProducer",
        "BatchingConsumer",
        "ModelResolver",
        "LatentSerializer",
        "LatentDeserializer",
    }
    assert adapters <= names


def test_every_exported_class_documents_each_parameter(project_modules: list[ModuleType]) -> None:
    problems = {}
    for qualified, cls in sorted(_exported_classes(project_modules).items()):
        if not (cls.__dict__.get("__doc__") or "").strip():
            problems[qualified] = "no class docstring"
        elif missing := _undocumented(cls):
            problems[qualified] = f"no 'name (type): ...' entry (with 'Default:' if it has one) for {missing}"
    assert problems == {}


@pytest.mark.parametrize(
    ("doc", "missing"),
    [
        ("A thing.\n\nArguments:\n    size (int): how many.\n    name (str): what. Default: 'x'.", []),
        ("A thing.\n\nArguments:\n    size (int): how many.\n    name (str): what.", ["name"]),
        ("A thing of a given size and name.", ["size", "name"]),
        (
            "A thing.\n\nArguments:\n    size (int): how many.\n    name (str): what it is\n        called. Default: 'x'.",
            [],
        ),
    ],
)
def test_the_docstring_check_reads_entries(doc: str, missing: list[str]) -> None:
    class Thing:
        __doc__ = doc

        def __init__(self, size: int, name: str = "x") -> None:
            pass

    assert _undocumented(Thing) == missing
