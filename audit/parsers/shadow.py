"""/etc/shadow, reduced at once to each account's hashing scheme (never the hash itself)."""

from __future__ import annotations

from hostaudit.parsers.passwd import entry_lines, has_control_chars

# crypt(5) prefixes, longest first so "$2b$" is not read as "$2$".
_PREFIXES = (
    ("$gy$", "gost-yescrypt"),
    ("$y$", "yescrypt"),
    ("$7$", "scrypt"),
    ("$2a$", "bcrypt"),
    ("$2b$", "bcrypt"),
    ("$2x$", "bcrypt"),
    ("$2y$", "bcrypt"),
    ("$6$", "sha512"),
    ("$5$", "sha256"),
    ("$sha1$", "sha1crypt"),
    ("$md5", "sun-md5"),
    ("$1$", "md5"),
    ("_", "bsdi-des"),
)
_DES_ALPHABET = set("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def hash_scheme(field: str) -> str:
    """Name the scheme of a shadow password field: ``sha512``, ``des``, ``empty``, ``locked``...

    ``!``/``*`` prefixes mean the account cannot log in with a password, whatever follows.
    A 13-character field of the crypt alphabet is traditional DES; anything unrecognised is
    ``unknown`` (reported, never guessed strong).
    """
    if field == "":
        return "empty"
    if field[0] in "!*":
        return "locked"
    for prefix, scheme in _PREFIXES:
        if field.startswith(prefix):
            return scheme
    if len(field) == 13 and set(field) <= _DES_ALPHABET:
        return "des"
    return "unknown"


def parse_shadow(text: str) -> list[dict]:
    """Parse shadow(5) lines into ``{"name", "scheme", "line"}`` (plus, when set, ``expires``,
    the account expiration day, and ``ageing``: ``{last_change, max_days, inactive_days}`` when
    all three are set); the password field is dropped here.

    A line without the password field, or with control characters such as NUL, is returned
    with ``malformed: True``.
    """
    entries = []
    for number, raw in enumerate(entry_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if has_control_chars(line):
            entries.append({"name": "", "line": number, "malformed": True})
            continue
        fields = line.split(":")
        if len(fields) < 2 or not fields[0]:
            entries.append({"name": fields[0], "line": number, "malformed": True})
            continue
        entry = {"name": fields[0], "scheme": hash_scheme(fields[1]), "line": number}
        if len(fields) > 7 and fields[7].strip().isdigit():
            entry["expires"] = int(fields[7])  # days since 1970-01-01; the account is refused from then on
        # password ageing that can lock the account: last change (days since 1970), maximum age
        # and inactivity period (days), all three set (an empty field turns the rule off)
        ageing = [fields[i].strip() if len(fields) > i else "" for i in (2, 4, 6)]
        if all(a.isdigit() for a in ageing):
            entry["ageing"] = dict(zip(("last_change", "max_days", "inactive_days"), map(int, ageing)))
        entries.append(entry)
    return entries
