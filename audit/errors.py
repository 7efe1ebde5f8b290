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
        of the target, so any control character in them is shown escaped (``\\x1b``), and
        a credential in them (an image member named ``--password=x``) is redacted."""
        from hostaudit.redact import redact_text
        from hostaudit.visible import terminal_text

        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return terminal_text(redact_text(text))


class InputError(HostauditError):
    """Bad input from the user: arguments, baseline, image or report file. Exit 2."""

    exit_code = ExitCode.BAD_INPUT


class AuditError(HostauditError):
    """The audit itself could not run. Exit 3."""

    exit_code = ExitCode.AUDIT_FAILED


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``: what a report says of a crash (the traceback
    goes to --debug)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class ProbeError(Exception):
    """A probe could not collect its fact; the message says why and reaches the report."""


class LineTooLong(ProbeError):
    """A line a verdict is read from is longer than a parser judges: refused, never judged
    from a part of it (a cut ``0...0999999999`` would read as ``99999``)."""


class CommandUnavailable(ProbeError):
    """The host cannot run commands (image mode) or the program is missing."""


class RefusedRead(OSError):
    """A target file hostaudit will not read (not a regular file, too large).

    An OSError whose ``filename`` is the target's path and ``strerror`` the reason, so the
    fact collector reports ``cannot read PATH: REASON`` like any other unreadable file, and
    code that treats a missing file as absent (FileNotFoundError) never mistakes it for one.
    """

    def __init__(self, path: str, reason: str):
        super().__init__(None, reason, path)

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class NotRegularFile(RefusedRead):
    """The path is a FIFO, device, socket or directory: opening or reading it could block,
    never end (``/dev/zero``) or have side effects, and it holds no configuration."""

    def __init__(self, path: str, kind: str):
        super().__init__(path, f"is a {kind}, not a regular file")
        self.kind = kind


class TooManyMatches(RefusedRead):
    """A glob that names more paths than the caller's limit: its answer is not known, and
    walking it would not end (links back to a directory multiply every wildcard)."""

    def __init__(self, pattern: str, limit: int):
        super().__init__(pattern, f"matches more than {limit} paths")
        self.limit = limit


class FileTooLarge(RefusedRead):
    """The file is larger than the caller's limit; a truncated read is never a whole file."""

    def __init__(self, path: str, size: int, limit: int, *, at_least: bool = False):
        shown = f"more than {size}" if at_least else str(size)
        super().__init__(path, f"too large ({shown} bytes, limit {limit})")
        self.size = size
        self.limit = limit


class NotMaterialised(RefusedRead):
    """An image file whose bytes hostaudit did not keep: only the files the probes may read
    (``hostaudit.probes.reads``) are written out of an archive. It exists; it is not absent."""

    def __init__(self, path: str):
        super().__init__(path, "not materialised (not among the image files hostaudit "
                         "keeps for its probes; see hostaudit/probes/reads.py)")


class NotCarried(RefusedRead):
    """What the target's format cannot carry (inode flags in a tar archive): the property is
    unknown, neither set nor unset; checks that need it are not_applicable."""

    def __init__(self, path: str, reason: str):
        super().__init__(path, reason)
