"""The verdict vocabulary shared by checks, the runner and the renderers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hostaudit.references import References


class Status(str, enum.Enum):
    """What a check concluded about one control."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    MANUAL = "manual"
    WAIVED = "waived"

    @property
    def decided(self) -> bool:
        """Pass and fail are verdicts; everything else is a reason for having none."""
        return self in (Status.PASS, Status.FAIL)


class Severity(str, enum.Enum):
    """How much a failed control matters; the weight drives the score."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def weight(self) -> int:
        return {"high": 10, "medium": 5, "low": 1, "info": 0}[self.value]

    @property
    def rank(self) -> int:
        """0 for the most severe: sorting by rank puts high first."""
        return list(Severity).index(self)

    @classmethod
    def order(cls) -> tuple[str, ...]:
        """The severity names, most severe first: the one order every option, gate and
        report uses (defined here, by the order of the members above)."""
        return tuple(s.value for s in cls)


@dataclass(frozen=True)
class Evidence:
    """One thing a check looked at: where (path and line, or a command) and what it found."""

    where: str
    text: str
    line: int | None = None

    def __post_init__(self):
        # Evidence quotes facts, and a fact may come from a bundle another host wrote: a
        # value of the wrong type stops the one check that quotes it (it says ``error``),
        # never the report, whose schema would refuse it only at the end of the run.
        if not isinstance(self.where, str) or not isinstance(self.text, str):
            raise TypeError(f"evidence where/text must be strings, not {type(self.where).__name__}/"
                            f"{type(self.text).__name__}")
        if self.line is not None and (type(self.line) is not int or self.line < 1):
            raise TypeError(f"evidence line must be a positive integer or None, not {self.line!r}")

    def to_dict(self) -> dict:
        return {"where": self.where, "line": self.line, "text": self.text}

    def __str__(self) -> str:
        loc = f"{self.where}:{self.line}" if self.line is not None else self.where
        return f"{loc}: {self.text}" if self.text else loc


def ev(where: str, text: str = "", line: int | None = None) -> Evidence:
    """Shorthand used by checks: ``ev("/etc/fstab", "/home nosuid,nodev", 12)``."""
    return Evidence(where=where, text=text, line=line)


@dataclass(frozen=True)
class Result:
    """The outcome of one check. Build it with the keyword-only constructors below."""

    status: Status
    message: str
    evidence: tuple[Evidence, ...] = ()
    expected: str = ""
    # A crashed check's traceback: shown with --debug, never written into a report.
    traceback: str = field(default="", compare=False, repr=False)

    @classmethod
    def passed(cls, message: str, *, evidence=(), expected: str = "") -> Result:
        """The control holds; ``evidence`` says where that was seen."""
        return cls(Status.PASS, message, tuple(evidence), expected)

    @classmethod
    def failed(cls, message: str, *, evidence=(), expected: str = "") -> Result:
        """The control does not hold; ``evidence`` names what is wrong and where."""
        return cls(Status.FAIL, message, tuple(evidence), expected)

    @classmethod
    def error(cls, reason: str, *, evidence=(), expected: str = "") -> Result:
        """The check could not decide; ``reason`` says why (never a silent pass)."""
        return cls(Status.ERROR, reason, tuple(evidence), expected)

    @classmethod
    def not_applicable(cls, reason: str, *, evidence=()) -> Result:
        """The control does not apply to this target; ``reason`` says why."""
        return cls(Status.NOT_APPLICABLE, reason, tuple(evidence))

    @classmethod
    def manual(cls, how: str) -> Result:
        """A person must verify this; ``how`` tells them what to do."""
        return cls(Status.MANUAL, how)

    @classmethod
    def combine(cls, *parts: Result) -> Result:
        """One verdict from several views of the same control (config and wire, say): every
        view must hold. The worst status wins (fail, then error, then pass); not_applicable
        views are left out unless nothing else remains. Messages and evidence are joined."""
        rank = {Status.FAIL: 0, Status.ERROR: 1, Status.PASS: 2, Status.MANUAL: 3, Status.NOT_APPLICABLE: 4}
        kept = [p for p in parts if p.status is not Status.NOT_APPLICABLE] or list(parts)
        worst = min(kept, key=lambda p: rank.get(p.status, 5)).status
        return cls(
            worst,
            "; ".join(p.message for p in kept),
            tuple(e for p in kept for e in p.evidence),
            "; ".join(dict.fromkeys(p.expected for p in kept if p.expected)),
        )


@dataclass
class ControlResult:
    """A check's result joined with its control's metadata, as the report shows it."""

    id: str
    title: str
    section: str
    severity: Severity
    result: Result
    rationale: str = ""
    remediation: str = ""
    reference: str = ""
    duration_ms: float = 0.0
    references: References | None = None
    extra: dict = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return self.result.status

    def references_dict(self) -> dict:
        """The references as report.json carries them; a result made without them still
        names its document section (``reference``)."""
        return (self.references or References(document=self.reference)).to_dict()
