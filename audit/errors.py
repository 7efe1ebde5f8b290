"""Typed errors and the exit codes they map to (mapped once, in the CLI)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of the ``hostaudit`` command (see README)."""

    OK = 0
    GATE_FAILED = 1
    BAD_INPUT = 2
    AUDIT_FAILED = 3


class HostauditError(Exception):
    """Base of every error hostaudit raises on purpose."""

    exit_code = ExitCode.AUDIT_FAILED

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        """``where: message (hint)``, fit for a terminal: messages quote paths and names
        of the target, so any control character in them is shown escaped (``\\x1b``)."""
        from hostaudit.visible import terminal_text

        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return terminal_text(text)


class InputError(HostauditError):
    """Bad input from the user: arguments, baseline, image or report file. Exit 2."""

    exit_code = ExitCode.BAD_INPUT


class AuditError(HostauditError):
    """The audit itself could not run. Exit 3."""

    exit_code = ExitCode.AUDIT_FAILED


class ProbeError(Exception):
    """A probe could not collect its fact; the message says why and reaches the report."""


class CommandUnavailable(ProbeError):
    """The host cannot run commands (image mode) or the program is missing."""
