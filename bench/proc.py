"""Child processes of the benchmark: JSON events on stdout, peak RSS from ``wait4`` of that child alone.

Every measured stage runs in its own process so its peak RSS is its own (``ru_maxrss`` of the bench process would
be the maximum over everything it ever ran). A child writes JSON lines on a private copy of its stdout; anything
else it prints goes to stderr, so a library's print cannot corrupt the channel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]


class ChildFailed(RuntimeError):
    """A stage's child process exited non-zero or without its result."""


def spawn(module: str, payload: dict[str, Any], *, stdin: bool = False) -> subprocess.Popen[str]:
    """``python -m <module> '<payload JSON>'`` in the repository root."""
    cmd = [sys.executable, "-m", module, json.dumps(payload, default=str)]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else None, stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, bufsize=1)


def events(proc: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip():
            yield json.loads(line)


def reap(proc: subprocess.Popen[str]) -> float:
    """Wait for ``proc``; return its peak RSS in MiB (Linux reports it in KiB; includes children it reaped)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    return usage.ru_maxrss / 1024


def run_child(module: str, payload: dict[str, Any], on_event: Any = None) -> dict[str, Any]:
    """Run one child to completion; return its ``done`` event plus ``peak_rss_mib``. Other events go to
    ``on_event``."""
    proc = spawn(module, payload)
    done: dict[str, Any] | None = None
    try:
        for event in events(proc):
            if event.get("event") == "done":
                done = event
            elif on_event is not None:
                on_event(event)
    finally:
        rss = reap(proc)
    if proc.returncode != 0 or done is None:
        raise ChildFailed(f"{module} {payload.get('kind', '')} exited with {proc.returncode}")
    return {**{k: v for k, v in done.items() if k != "event"}, "peak_rss_mib": rss}


def event_channel() -> TextIO:
    """In a child: the channel to the parent (a copy of stdout); ``sys.stdout`` is pointed at stderr."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # also catches output from C code and subprocesses
    return channel


def emit(channel: TextIO, **event: Any) -> None:
    channel.write(json.dumps(event, default=str) + "\n")
    channel.flush()
