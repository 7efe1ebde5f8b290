"""Checks of the logs controls: logrotate keeps enough history, compressed."""

from __future__ import annotations

from fractions import Fraction

from hostaudit.model import Result, ev
from hostaudit.registry import check

# Months covered by one rotation period (a month counted as 30 days).
PERIOD_MONTHS = {"hourly": Fraction(1, 720), "daily": Fraction(1, 30), "weekly": Fraction(7, 30),
                 "monthly": Fraction(1), "yearly": Fraction(12)}
# With no global frequency the period is taken as weekly (the distributions' own default) and
# the evidence says it was assumed, so a reviewer can see the guess.
DEFAULT_PERIOD = "weekly"


def _last(directives: list[dict], names) -> dict | None:
    """The last uncommented directive among ``names`` (later directives override earlier)."""
    live = [d for d in directives if d["name"] in names and not d["commented"]]
    return live[-1] if live else None


@check("logs.rotation", needs=["logrotate"], params={"min_months": {"type": "number", "exclusiveMinimum": 0}})
def rotation(facts, params) -> Result:
    """logrotate keeps at least min_months of logs and compresses them."""
    min_months = params["min_months"]
    fact = facts["logrotate"]
    path = fact["path"]
    expected = f"rotate count x period >= {min_months} months; compress"
    if not fact["present"]:
        return Result.failed(f"{path} does not exist", evidence=[ev(path, "absent")], expected=expected)
    directives = fact["directives"]
    evidence, problems = [], []

    period = _last(directives, PERIOD_MONTHS)
    if period:
        evidence.append(ev(path, period["name"], period["line"]))
        period_name = period["name"]
    else:
        evidence.append(ev(path, f"no global frequency; {DEFAULT_PERIOD} assumed"))
        period_name = DEFAULT_PERIOD
    rotate = _last(directives, {"rotate"})
    if rotate:
        count = max(0, int(rotate["args"][0]))
        evidence.append(ev(path, f"rotate {rotate['args'][0]}", rotate["line"]))
    else:
        count = 0  # logrotate's default: old logs are removed, none kept
        evidence.append(ev(path, "no global rotate; logrotate keeps 0 old logs"))
    months = count * PERIOD_MONTHS[period_name]
    if months < min_months:
        problems.append(f"keeps {float(months):.1f} months ({count} x {period_name})")

    compress = _last(directives, {"compress", "nocompress"})
    if compress and compress["name"] == "compress":
        evidence.append(ev(path, "compress", compress["line"]))
    else:
        problems.append("logs are not compressed")
        if compress:
            evidence.append(ev(path, "nocompress", compress["line"]))
        evidence += [ev(path, "#compress commented out", d["line"])
                     for d in directives if d["name"] == "compress" and d["commented"]]
        if not any(d["name"] == "compress" for d in directives):
            evidence.append(ev(path, "no global compress directive"))
    if problems:
        return Result.failed("; ".join(problems), evidence=evidence, expected=expected)
    return Result.passed(f"keeps {float(months):.1f} months of compressed logs", evidence=evidence,
                         expected=expected)
