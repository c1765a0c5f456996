"""Crash on purpose at a named point of the code, for fault-injection runs.

With ``LATENTWIRE_FAILPOINTS=<dir>`` in its environment, a process that reaches ``hit(name)`` while a
file ``<dir>/<name>`` exists removes that file and SIGKILLs itself on the spot: no ``finally``, no
flush, no offset commit, exactly as an OOM kill or a lost node would leave it. A fault-injection driver
arms a point by creating the file and watches the process die there. Unset (the default), ``hit`` costs
one environment lookup.

Points: ``bridge-before-commit`` (:mod:`streaming.bridge_loop`, at least once: the batch's outputs are
flushed and acknowledged, its input offsets not yet committed, so the batch is read and written again).
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

__all__ = ["ENV", "arm", "hit"]

log = logging.getLogger(__name__)

ENV = "LATENTWIRE_FAILPOINTS"


def hit(name: str) -> None:
    """SIGKILL this process if the point ``name`` is armed (see the module docstring)."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    armed = Path(folder) / name
    try:
        armed.unlink()
    except FileNotFoundError:
        return
    log.warning("failpoint %s: killing this process (pid %d)", name, os.getpid())
    os.kill(os.getpid(), signal.SIGKILL)


def arm(folder: Path, name: str) -> None:
    """Make the next process with ``LATENTWIRE_FAILPOINTS=folder`` that reaches ``name`` kill itself."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()
