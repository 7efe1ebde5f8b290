"""Boot loader password directives in GRUB legacy and GRUB 2 files.

Only the shape of each secret is kept (md5, pbkdf2, plain...), never the secret itself: the
``text`` of a directive is the line with its hash or password replaced by a placeholder.
"""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

HIDDEN_HASH = "<hash hidden>"
HIDDEN_PASSWORD = "<password hidden>"

_SUPERUSERS = re.compile(r"""^(?:set\s+)?superusers\s*=\s*(["']?)(.*?)\1\s*(?:;.*)?$""")
_GRUB2_PASSWORD_VAR = re.compile(r"^GRUB2_PASSWORD\s*=\s*(\S*)")


def _is_variable(secret: str) -> str | None:
    """``${GRUB2_PASSWORD}`` (escaped or not) names a variable: return its name."""
    match = re.fullmatch(r"\\?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", secret.strip("\"'"))
    return match.group(1) if match else None


def parse_grub_legacy(text: str) -> list[dict]:
    """``password [--md5|--encrypted] SECRET`` lines of a GRUB legacy grub.conf/menu.lst.

    Each: directive "password", secret ("md5", "encrypted" or "plain"), in_entry (True when
    inside a ``title`` section, which only locks that entry), text (hidden), line.
    """
    found = []
    in_entry = False
    for number, raw in enumerate(newline_lines(text), start=1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "title":
            in_entry = True
        if words[0] != "password":
            continue
        if len(words) >= 3 and words[1] in ("--md5", "--encrypted"):
            secret, shown = words[1][2:], f"password {words[1]} {HIDDEN_HASH}"
        elif len(words) >= 2 and not words[1].startswith("--"):
            secret, shown = "plain", f"password {HIDDEN_PASSWORD}"
        else:
            secret, shown = "malformed", "password (no secret given)"
        found.append(
            {"directive": "password", "secret": secret, "in_entry": in_entry,
             "text": shown, "line": number}
        )
    return found


def parse_grub2(text: str) -> list[dict]:
    """Password directives in grub.cfg, /etc/grub.d scripts and user.cfg.

    Each: directive ("superusers", "password_pbkdf2", "password" or "GRUB2_PASSWORD"), users
    (list, for superusers), user (for passwords), secret ("pbkdf2", "plain", "variable" with
    ``variable`` naming it, or "empty"), text (hidden), line (1-based).
    """
    found: list[dict] = []
    for number, raw in enumerate(newline_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        superusers = _SUPERUSERS.match(line)
        if superusers:
            users = superusers.group(2).replace(",", " ").split()
            found.append({"directive": "superusers", "users": users,
                          "text": line, "line": number})
            continue
        env = _GRUB2_PASSWORD_VAR.match(line)
        if env:
            value = env.group(1).strip("\"'")
            secret = ("pbkdf2" if value.startswith("grub.pbkdf2.")
                      else "plain" if value else "empty")
            shown = {"pbkdf2": HIDDEN_HASH, "plain": HIDDEN_PASSWORD, "empty": ""}[secret]
            found.append({"directive": "GRUB2_PASSWORD", "secret": secret,
                          "text": f"GRUB2_PASSWORD={shown}", "line": number})
            continue
        words = line.split()
        if words[0] not in ("password", "password_pbkdf2"):
            continue
        entry = {"directive": words[0], "user": words[1] if len(words) > 1 else None,
                 "line": number}
        secret = words[2] if len(words) > 2 else ""
        variable = _is_variable(secret) if secret else None
        if variable:
            entry.update(secret="variable", variable=variable,
                         text=f"{words[0]} {entry['user']} {secret}")
        elif not secret:
            entry.update(secret="empty", text=f"{words[0]} {entry['user'] or ''}".strip())
        elif words[0] == "password_pbkdf2":
            entry.update(secret="pbkdf2", text=f"password_pbkdf2 {entry['user']} {HIDDEN_HASH}")
        else:
            entry.update(secret="plain", text=f"password {entry['user']} {HIDDEN_PASSWORD}")
        found.append(entry)
    return found
