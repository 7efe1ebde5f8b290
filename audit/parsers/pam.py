"""PAM service files (/etc/pam.d/*): one rule per line, commented rules kept and marked."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

_TYPES = {"auth", "account", "password", "session"}
_BRACKET = re.compile(r"^\[([^\]]*)\]")


def _rule(body: str) -> dict | None:
    """``type control module args...`` as a dict, or None when the text is not a rule."""
    body = body.strip()
    if body.startswith("@include"):
        parts = body.split()
        return {"include": parts[1] if len(parts) > 1 else ""}
    kind, _, rest = body.partition(" ")
    kind = kind.lstrip("-")  # "-auth" means: skip silently if the module is missing
    if kind not in _TYPES:
        return None
    rest = rest.strip()
    bracket = _BRACKET.match(rest)
    if bracket:
        control = bracket.group(0)
        rest = rest[bracket.end():].strip()
    else:
        control, _, rest = rest.partition(" ")
    words = rest.split()
    if not control or not words:
        return None
    return {"type": kind, "control": control, "module": words[0], "args": words[1:]}


def module_name(module: str) -> str:
    """``/lib/security/pam_wheel.so`` -> ``pam_wheel.so`` (PAM accepts a path or a bare name)."""
    return module.rsplit("/", 1)[-1]


def parse_pam(text: str) -> list[dict]:
    """Rules of a PAM service file, in order.

    Each: ``type``, ``control`` (``required`` or ``[success=ok default=die]``), ``module`` (as
    written), ``name`` (bare module name), ``args``, ``line``, ``commented`` (a ``#`` before an
    otherwise valid rule); ``@include`` lines give ``{"include": file, "line", "commented"}``.
    Comment prose and malformed lines are skipped.
    """
    rules = []
    for number, raw in enumerate(newline_lines(text), start=1):
        body = raw.strip()
        commented = body.startswith("#")
        rule = _rule(body.lstrip("#"))
        if rule is None:
            continue
        if "module" in rule:
            rule["name"] = module_name(rule["module"])
        rules.append({**rule, "line": number, "commented": commented})
    return rules


def control_denies_on_failure(control: str) -> bool:
    """Whether a failed module stops the stack: ``required``, ``requisite`` or a bracket
    control whose ``default`` (or ``auth_err``/``perm_denied``) action is ``die`` or ``bad``."""
    if control in ("required", "requisite"):
        return True
    match = _BRACKET.match(control)
    if not match:
        return False
    actions = dict(item.partition("=")[::2] for item in match.group(1).split())
    failure = actions.get("perm_denied") or actions.get("auth_err") or actions.get("default")
    return failure in ("die", "bad")


def success_ends_stack(control: str) -> bool:
    """Whether a module's success can end the stack there: ``sufficient``, or a bracket
    control whose ``success`` (else ``default``) action is ``done``."""
    if control == "sufficient":
        return True
    match = _BRACKET.match(control)
    if not match:
        return False
    actions = dict(item.partition("=")[::2] for item in match.group(1).split())
    return actions.get("success", actions.get("default")) == "done"


def longest_jump(control: str) -> int:
    """The most modules a bracket control's ``value=N`` actions skip (0 without a jump)."""
    match = _BRACKET.match(control)
    if not match:
        return 0
    jumps = [int(v) for _, _, v in (item.partition("=") for item in match.group(1).split()) if v.isdigit()]
    return max(jumps, default=0)
