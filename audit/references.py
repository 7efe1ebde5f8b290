"""Where a control comes from and what it corresponds to elsewhere: the section of the 2002
document, NIST SP 800-53 rev. 5 control IDs, CIS benchmark recommendation numbers, and the
ComplianceAsCode rules the mapping was copied from (so it can be traced and re-checked).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# A control (AC-6), an enhancement (AC-6(1)), optionally one statement part (SC-5(3)(a)).
# ComplianceAsCode also writes 800-53A objective IDs such as CM-6.1(iv); those are not
# 800-53 control IDs and are not accepted.
NIST_ID = re.compile(r"^[A-Z]{2}-[1-9][0-9]?(\([1-9][0-9]?\))?(\([a-z]\))?$")

# CSRC's control search page lists a control with all its enhancements, so a link goes to
# the base control; the rev. 5 release is named in the URL so the link keeps meaning rev. 5.
NIST_URL = ("https://csrc.nist.gov/projects/risk-management/sp800-53-controls/release-search"
            "#/control?version=5.1&number={control}")

# Display names of the CIS benchmarks a baseline may key recommendation numbers by. CIS
# publishes no stable per-recommendation URL, so CIS numbers are never links.
CIS_BENCHMARKS = {"debian12": "CIS Debian Linux 12 Benchmark v1.1.0"}


def nist_url(nist_id: str) -> str | None:
    """CSRC's page for the 800-53 control ``nist_id`` belongs to (``AC-6(1)`` -> AC-6), or
    None when ``nist_id`` is not a control ID (then nothing should link)."""
    if not isinstance(nist_id, str) or not NIST_ID.match(nist_id):
        return None
    return NIST_URL.format(control=nist_id.split("(", 1)[0])


def cis_name(benchmark: str) -> str:
    """A benchmark key's display name (``debian12`` -> CIS Debian Linux 12 Benchmark...)."""
    return CIS_BENCHMARKS.get(benchmark, f"CIS {benchmark}")


@dataclass(frozen=True)
class References:
    """A control's references. Empty tuples mean "none"; ``note`` says why none or only a
    part corresponds, so an empty mapping is never silent."""

    document: str = ""
    nist_800_53: tuple[str, ...] = ()
    cis: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cce_rules: tuple[str, ...] = ()
    note: str = ""

    @classmethod
    def from_control(cls, data: Mapping) -> References:
        """The references of a baseline control mapping. The document section may be given
        as ``references.document`` or as the older ``reference`` string; the loader rejects
        a control that gives both with different values before this is called."""
        refs = data.get("references") or {}
        return cls(
            document=refs.get("document") or data.get("reference", ""),
            nist_800_53=tuple(refs.get("nist_800_53") or ()),
            cis={k: tuple(v) for k, v in (refs.get("cis") or {}).items()},
            cce_rules=tuple(refs.get("cce_rules") or ()),
            note=" ".join(str(refs.get("note") or "").split()),
        )

    @property
    def mapped(self) -> bool:
        """Whether any NIST or CIS reference is given."""
        return bool(self.nist_800_53 or any(self.cis.values()))

    def to_dict(self) -> dict:
        """Plain data for report.json and ``--json`` listings (every key always present)."""
        return {
            "document": self.document,
            "nist_800_53": list(self.nist_800_53),
            "cis": {k: list(v) for k, v in self.cis.items()},
            "cce_rules": list(self.cce_rules),
            "note": self.note or None,
        }

    def compact(self, nist_shown: int = 3) -> str:
        """One short cell for a table: ``NIST AC-6 AC-6(1) CM-6(a) +3; CIS debian12 1.1.2.3.3``,
        ``none`` when the baseline says nothing corresponds (its note is in ``explain`` and the
        JSON listing), or ``-`` when the baseline gives no mapping at all."""
        parts = []
        if self.nist_800_53:
            more = len(self.nist_800_53) - nist_shown
            shown = " ".join(self.nist_800_53[:nist_shown])
            parts.append(f"NIST {shown}" + (f" +{more}" if more > 0 else ""))
        parts += [f"CIS {bench} {' '.join(nums)}" for bench, nums in self.cis.items() if nums]
        return "; ".join(parts) or ("none" if self.note else "-")

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) pairs for a text rendering, in reading order; absent ones left out."""
        out = []
        if self.document:
            out.append(("2002 document", self.document))
        if self.nist_800_53:
            out.append(("NIST SP 800-53 rev. 5", ", ".join(self.nist_800_53)))
        out += [(cis_name(bench), ", ".join(nums)) for bench, nums in self.cis.items() if nums]
        if self.cce_rules:
            out.append(("ComplianceAsCode rules", ", ".join(self.cce_rules)))
        if not self.mapped:
            out.append(("NIST and CIS", "none" if self.note else "not mapped in this baseline"))
        if self.note:
            out.append(("Note", self.note))
        return out
