"""Run several commands at once and collect what each printed (each ``latentwire`` process spends seconds
importing TensorFlow: started together, those seconds overlap)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

__all__ = ["run_side_by_side"]


def run_side_by_side(
    commands: Sequence[Sequence[str]], env: Mapping[str, str] | None = None, timeout: float = 600
) -> list[subprocess.CompletedProcess[str]]:
    """Start every command, then wait for each in turn (``timeout`` seconds at most each); their exit
    status, stdout and stderr, in the order given. A process still running when this returns early (an
    error, a timeout) is killed."""
    procs = [
        subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=None if env is None else dict(env),
        )
        for cmd in commands
    ]
    done = []
    try:
        for cmd, proc in zip(commands, procs, strict=True):
            out, err = proc.communicate(timeout=timeout)
            done.append(subprocess.CompletedProcess(list(cmd), proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return done
