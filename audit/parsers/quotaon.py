"""Output of ``quotaon -p`` (print state): whether quota is on for each filesystem."""

from __future__ import annotations

import re

_STATE = re.compile(r"^(user|group|project) quota on (.+) \((.*)\) is (on|off)\b")


def parse_quotaon_print(text: str) -> list[dict]:
    """``user quota on /home (/dev/sda7) is on`` lines: type, mount_point, device, on, text.

    Lines of any other shape (warnings, "not found or has no quota enabled") are skipped;
    the caller keeps the command's stderr for those.
    """
    states = []
    for raw in text.splitlines():
        match = _STATE.match(raw.strip())
        if match:
            kind, mount_point, device, state = match.groups()
            states.append({"type": kind, "mount_point": mount_point, "device": device,
                           "on": state == "on", "text": raw.strip()})
    return states
