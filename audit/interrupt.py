"""Ending a run on SIGINT, SIGTERM or SIGHUP the same way: unwinding, so cleanup runs.

Python turns only SIGINT into an exception; SIGTERM and SIGHUP would kill the process on the
spot and leave an unpacked image behind in the temporary directory. ``signals_unwind`` makes
all three raise ``Interrupted`` in the main thread, so every ``finally`` and context manager
runs. ``deferred`` marks a short section (creating or removing the temporary root) that a
signal must not cut in half: the signal is held and raised when the section ends.
``stop_children`` ends the commands probes left running (an nmap sweep would otherwise go
on for minutes after a SIGTERM that only reached hostaudit).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

UNWOUND_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_state = threading.local()


class Interrupted(KeyboardInterrupt):
    """A signal ended the run. A KeyboardInterrupt, so code that handles Ctrl-C handles all
    three; ``exit_code`` is the shell's convention for a signal, 128 + its number."""

    def __init__(self, signo: int):
        super().__init__(f"interrupted by {signal.Signals(signo).name}")
        self.signo = signo

    @property
    def exit_code(self) -> int:
        return 128 + self.signo


def _held() -> list:
    if not hasattr(_state, "held"):
        _state.depth, _state.held = 0, []
    return _state.held


def _handler(signo, _frame) -> None:
    held = _held()
    if _state.depth:
        held.append(signo)
        return
    raise Interrupted(signo)


@contextlib.contextmanager
def signals_unwind() -> Iterator[None]:
    """While the block runs (main thread only), SIGINT/SIGTERM/SIGHUP raise ``Interrupted``.

    The previous handlers are restored afterwards. Outside the main thread signals cannot be
    handled by Python, and the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signo: signal.getsignal(signo) for signo in UNWOUND_SIGNALS}
    try:
        for signo in UNWOUND_SIGNALS:
            signal.signal(signo, _handler)
        yield
    finally:
        for signo, handler in previous.items():
            signal.signal(signo, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold signals ``signals_unwind`` handles until the block ends, then raise the first.

    Python runs signal handlers in the main thread only, so holding them there is enough.
    Without ``signals_unwind`` (library use) Ctrl-C keeps Python's default behaviour.
    """
    held = _held()
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if not _state.depth and held:
            signo = held[0]
            held.clear()
            raise Interrupted(signo)


def stop_children(signo: int = signal.SIGTERM) -> list[int]:
    """Send ``signo`` to every child process of hostaudit; returns their PIDs.

    Children are found through /proc (each process's parent PID); a pidfd is opened before
    the parent is checked again and the signal sent, so a PID reused in between is never hit.
    """
    me, stopped = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or _parent_of(entry) != me:
            continue
        try:
            fd = os.pidfd_open(int(entry))
        except OSError:  # gone already
            continue
        try:
            if _parent_of(entry) == me:
                signal.pidfd_send_signal(fd, signo)
                stopped.append(int(entry))
        except OSError:
            pass
        finally:
            os.close(fd)
    return stopped


def _parent_of(pid: str) -> int | None:
    """The parent PID in /proc/PID/stat (after the command name, which may hold ')')."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
