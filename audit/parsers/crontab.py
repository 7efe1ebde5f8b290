"""crontab(5) files: per-user crontabs and system ones (/etc/crontab, /etc/cron.d/*)."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
_SPECIAL = {"@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_FIELD = re.compile(r"^[0-9A-Za-z*/,\-~]+$")


def parse_crontab(text: str, *, system: bool) -> dict:
    """Jobs of one crontab.

    ``system`` says the file has a user field after the schedule (/etc/crontab,
    /etc/cron.d/*). Returns ``{"entries": [{"line", "schedule", "user", "command"}],
    "malformed": [line numbers]}``; ``user`` is None in a per-user crontab. Environment
    assignments and comments are skipped.
    """
    entries: list[dict] = []
    malformed: list[int] = []
    for number, raw in enumerate(newline_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or _ENV.match(line):
            continue
        fields = line.split()
        width = 1 if fields[0].startswith("@") else 5
        needed = width + (2 if system else 1)
        valid_schedule = fields[0] in _SPECIAL if width == 1 else all(_FIELD.match(f) for f in fields[:5])
        if len(fields) < needed or not valid_schedule:
            malformed.append(number)
            continue
        # Keep the command as written (spacing included) after the schedule and user fields.
        command = re.split(r"\s+", line, maxsplit=needed - 1)[-1]
        entries.append({
            "line": number,
            "schedule": " ".join(fields[:width]),
            "user": fields[width] if system else None,
            "command": command,
        })
    return {"entries": entries, "malformed": malformed}
