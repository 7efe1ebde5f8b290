"""Secrets out of everything a report shows: one pass over text and plain data.

A target's files carry credentials in free text: a cron line ``mysqldump --password=...``,
an fstab ``password=`` option, a tripwire ``--local-passphrase``, a URL ``user:pass@``, a
PEM key, a crypt(3) hash. Probes already reduce the fields they know to be secret (the
shadow hash to its scheme, GRUB passwords to a placeholder); this module catches what free
text still holds, so that no report (JSON, HTML, terminal, and whatever renders the same
model) ever carries one.

The value is replaced by ``MARK`` and what names it is kept (``--password=<redacted>``,
``$6$<redacted>``), so a reader still sees *that* a secret sits there: often the finding.
Where a value's end is uncertain the rule takes more rather than less: an over-redacted
option is a lesser harm than part of a password.

Pure functions, no I/O: ``redact_text`` for one string, ``redact`` for plain data.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MARK = "<redacted>"

# One shell word: a quoted value (unterminated: to the end of the line) or a bare one, then
# more bare or quoted pieces run together (``ab"c d"``, ``'x'y``), a lone quote counting as a
# character: a quote inside a password ends neither the word nor the redaction, and the
# closing quote of a quoted message (``'--password=x': ...``) does not swallow the rest.
_VALUE = (r"""(?:"[^"\n]*"?|'[^'\n]*'?|`[^`\n]*`?|[^\s"'`]+)"""
          r"""(?:"[^"\n]*"|'[^'\n]*'|`[^`\n]*`|[^\s"'`]+|["'`](?=\S))*""")
_SQL_VALUE = r"""(?:"[^"\n]*"?|'[^'\n]*'?|`[^`\n]*`?|[^\s"'`;]+)"""

# Words that make a name (a flag, an option, a variable) name a secret when the name ends
# with them: MYSQL_PASSWORD, db-pass, --local-passphrase, client_secret, GITHUB_TOKEN,
# AWS_SECRET_ACCESS_KEY. ``PASS_MAX_DAYS`` ends with DAYS and is left alone.
_SECRET_TAIL = (
    r"(?:password|passwd|passphrase|pass|secret|token|"
    r"(?:api|access|secret|private|auth|encryption|signing|master)[_-]?key|apikey|credential)"
)

# A variable or option naming a secret. The long words may follow a prefix directly
# (PGPASSWORD); ``pass`` and ``pwd`` need a separator (MYSQL_PWD, db.pass), so that ``bypass``,
# ``PWD`` and ``OLDPWD`` stay.
_SECRET_NAME = (
    r"(?:[\w.-]*(?:password|passwd|passphrase|secret|token)"
    r"|(?:[\w.]+[_.-])?(?:pass|(?:api|access|secret|private|auth|encryption|signing|master)[_-]?key"
    r"|apikey|credential)"
    r"|[\w.]+[_.-]pwd"
    # sshpass -e reads SSHPASS
    r"|sshpass"
    # pam_ldap/nslcd bindpw, slapd/kickstart rootpw, a bare pw=
    r"|[\w.-]*pw)(?![\w-])"
)

# Mount and similar option lists: after ``password=x`` a comma followed by another option
# ends the value (as ``&`` does in a URL query); a comma followed by anything else is taken
# as part of the password.
_BARE_OPTIONS = (
    r"(?:ro|rw|suid|nosuid|dev|nodev|exec|noexec|auto|noauto|user|nouser|users|owner|group|"
    r"defaults|sync|async|atime|noatime|nodiratime|relatime|strictatime|lazytime|_netdev|"
    r"nofail|soft|hard|intr|nointr|bg|fg|tcp|udp|guest|noperm|nounix|noserverino|nobrl|"
    r"mfsymlinks|noacl|acl|sec|seal|hidden|nomapposix|mapchars|nocase|nosharesock)"
)
_OPTION_VALUE = (
    r"""(?:"[^"\n]*"?|'[^'\n]*'?|(?:[^\s,&"'`]|,,|,(?![\w.-]+=|""" + _BARE_OPTIONS + r"(?:[,\s]|$)))+)"
)

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _keep(group: int = 1) -> Callable[[re.Match[str]], str]:
    """Replacement keeping the named part (group ``group``) and hiding the value after it."""
    return lambda m: m.group(group) + MARK


_PEM = re.compile(
    r"(-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----)"
    r"(?:.*?(-----END \2-----)|.*)",
    re.S,
)


def _pem(m: re.Match[str]) -> str:
    return f"{m.group(1)}{MARK}{m.group(3) or ''}"


# crypt(3) and friends: $id$[params$]salt$hash. The scheme stays; salt and hash go. A shell
# ``$1$2`` has no second field of three characters and is left alone.
_CRYPT = re.compile(
    r"(\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5|apr1|argon2(?:id|i|d)|pbkdf2(?:-sha\d+)?)\$)"
    r"(?:[^\s$:'\"]*\$){1,3}[./A-Za-z0-9+=-]{3,}"
)
# A key's base64 body without its BEGIN line (a line of a pasted key quoted as a malformed
# config line): DER keys start "MII" (a SEQUENCE), OpenSSH's format "openssh-key-v1".
# Certificates start "MII" too; hiding one is the lesser harm.
_KEY_BODY = re.compile(r"(?<![A-Za-z0-9+/])(?:MII|b3BlbnNzaC1rZXktdjE)[A-Za-z0-9+/]{40,}={0,2}")
_GRUB_PBKDF2 = re.compile(r"(grub\.pbkdf2\.sha\d+\.)\S+")
# A traditional DES hash (13 characters) in a passwd/shadow-like line: ``name:HASH:``.
_DES_LINE = re.compile(r"(?m)^(\s*[A-Za-z_][\w.-]*\$?:)[./A-Za-z0-9]{13}(?=:|\s*$)")

_RULES: list[_Rule] = [
    (_PEM, _pem),
    (_KEY_BODY, lambda m: MARK),
    (_CRYPT, _keep()),
    (_GRUB_PBKDF2, _keep()),
    (_DES_LINE, _keep()),
    # URL user information: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://[^\s:/@'\"]*:)[^\s/@'\"]+(?=@)"), _keep()),
    # HTTP credentials: Authorization: Bearer x, Proxy-Authorization: Basic x, X-Api-Key: x
    (re.compile(r"(?i)\b((?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|digest|negotiate)\s+)?)"
                r"[^\s'\"]+"), _keep()),
    (re.compile(r"(?i)\b((?:x-)?(?:api|auth)-?(?:key|token)\s*:\s*)[^\s'\"]+"), _keep()),
    # SQL: IDENTIFIED [WITH plugin] BY [PASSWORD] 'x', PASSWORD('x'), WITH [ENCRYPTED] PASSWORD 'x'
    # (SQL quotes a password; a bare word ends at the statement's ``;``.)
    (re.compile(r"(?i)\b(identified\s+(?:with\s+\S+\s+)?(?:by|as)\s+(?:password\s+)?)" + _SQL_VALUE),
     _keep()),
    (re.compile(r"(?i)\b((?:old_)?password\s*\(\s*)(?:'[^'\n]*'|\"[^\"\n]*\")"), _keep()),
    (re.compile(r"(?i)\b(with\s+(?:encrypted\s+|unencrypted\s+)?password\s+)" + _SQL_VALUE), _keep()),
    # Long flags: --password=x, --password x, --local-passphrase x, --db-token=x, but not
    # --password-file x (the name continues) nor --no-password (it takes no value).
    (re.compile(r"(?i)((?<![\w-])--?(?!no-)(?:[A-Za-z0-9]+[_-])*" + _SECRET_TAIL + r"(?![\w-])(?:=|\s+))"
                + _VALUE), _keep()),
    # Assignments and options: PASSWORD=x, DB_PASS=x, password=x,uid=0 (mount), ?token=x&
    (re.compile(r"(?i)((?<![\w.-])" + _SECRET_NAME + r"\s*=\s*)" + _OPTION_VALUE), _keep()),
    # YAML and JSON keys: ``password: x``, ``"db_password": "x"`` (not ``passwd:``, nsswitch's
    # database, never across a line end, and not a dotted name: ``'boot.loader-password':``
    # is a control ID quoted in a message)
    (re.compile(r"""(?i)((?<![\w.'"-])"?[\w-]*(?:password|passphrase|secret|token)"?[ \t]*:[ \t]*)"""
                r"""(?=[^\s])""" + _VALUE), _keep()),
    # OpenSSL pass phrase arguments: -passin pass:x, -passout pass:x, -pass pass:x
    (re.compile(r"(?i)((?<![\w-])pass:)[^\s'\"]+"), _keep()),
    # ldap.conf, nslcd.conf, slapd.conf: ``bindpw x`` and ``rootpw x`` without '='
    # (kickstart's ``rootpw --plaintext x``: the value comes after the flags, and a bare
    # ``rootpw --lock`` has none)
    (re.compile(r"(?i)((?<![\w-])(?:bind|root)pw[ \t]+(?:--?[\w-]+[ \t]+)*)(?!-)" + _VALUE), _keep()),
    # ``echo 'user:x' | chpasswd``: the password comes before the program that takes it
    (re.compile(r"(?i)((?<![\w.-])[\w.-]+:)[^\s'\":]+(?=['\"]?\s*\|\s*(?:sudo\s+)?(?:\S*/)?chpasswd\b)"),
     _keep()),
    # ``echo x | passwd --stdin root``, ``printf '%s' x | sudo -S cmd``, ``echo x | kinit u``:
    # everything echoed into a program that reads a password on its standard input
    (re.compile(r"(?i)(\b(?:echo|printf)\s+)[^|\n]*?(?=\s*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:\S*/)?"
                r"(?:passwd|kinit|smbpasswd|vncpasswd|sudo\s+(?:-\w+\s+)*-\w*S)\b)"), _keep()),
    # ``chpasswd <<< 'root:x'``, ``kinit admin <<< x``: the same through a here-string
    (re.compile(r"(?i)(\b(?:chpasswd|passwd|kinit|smbpasswd|vncpasswd|sudo)\b[^|;&\n]*?<<<\s*)" + _VALUE),
     _keep()),
    # mount.cifs(8) ``user=name%password`` (``username=`` too) in a mount option list
    (re.compile(r"(?i)((?<![\w.-])user(?:name)?=[^\s,%'\"]*%)" + _OPTION_VALUE), _keep()),
    # A FUSE source in fstab, ``curlftpfs#user:password@host``: user information without
    # a URL scheme
    (re.compile(r"((?<!\S)[\w.+-]+#[^\s:/@#]*:)[^\s/@]+(?=@)"), _keep()),
    # Tokens known by their prefix wherever they stand (a URL's user part, a header, an
    # argument): GitHub, GitLab, Slack
    (re.compile(r"(?<![\w-])(?:gh[pousr]_|github_pat_|glpat-|xox[abprs]-)[\w-]{8,}"), lambda m: MARK),
    # Google API keys (AIza + 35), wherever they stand
    (re.compile(r"(?<![\w-])AIza[\w-]{30,}"), lambda m: MARK),
    # Signed URLs carry their credential in the query: an Azure SAS ``sig=``, an S3 or GCS
    # presigned ``X-Amz-Signature=``/``X-Goog-Signature=``
    (re.compile(r"(?i)([?&](?:sig|signature|x-amz-signature|x-goog-signature)=)[^\s&#'\"]+"), _keep()),
    # .netrc: machine m login u password p
    (re.compile(r"(?i)\b(login\s+\S+\s+(?:password|passwd)\s+)\S+"), _keep()),
]

# Short flags mean a secret only for the program they belong to: mysql -pSECRET (attached;
# ``-p db`` prompts and names a database), tripwire -P site / -Q local passphrase,
# sshpass -p x, redis-cli -a x, curl -u user:pass, smbclient -U user%pass.
_TOOL_FLAGS: list[tuple[re.Pattern[str], list[_Rule]]] = [
    (re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mysqlcheck|mysqlimport|mysqlshow|mariadb[\w-]*)\b"),
     [(re.compile(r"((?<!\S)-p)(?=\S)" + _VALUE), _keep())]),
    (re.compile(r"\b(?:tripwire|twadmin|twprint)\b"),
     [(re.compile(r"((?<!\S)-[PQ]\s*)" + _VALUE), _keep())]),
    (re.compile(r"\bsshpass\b"), [(re.compile(r"((?<!\S)-p\s*)" + _VALUE), _keep())]),
    (re.compile(r"\bredis-cli\b"), [(re.compile(r"((?<!\S)-a\s+)" + _VALUE), _keep())]),
    # OpenLDAP clients: -w bind password (-W prompts, -y names a file)
    (re.compile(r"\bldap(?:search|modify|add|delete|passwd|whoami|compare|modrdn|exop|url)\b"),
     [(re.compile(r"((?<!\S)-w\s*)" + _VALUE), _keep())]),
    (re.compile(r"\b(?:curl|wget)\b"),
     [(re.compile(r"((?<!\S)(?:-[uU]\s*|--user(?:\s+|=)|--proxy-user(?:\s+|=))[^\s:'\"]*:)[^\s'\"]+"),
       _keep())]),
    # htpasswd -b[other flags] FILE USER PASSWORD, or with -n (no file) USER PASSWORD
    (re.compile(r"\bhtpasswd\b"),
     [(re.compile(r"((?<!\S)-(?=[a-zA-Z]*b)[a-zA-Z]*n[a-zA-Z]*\s+(?:-\S+\s+)*\S+\s+)" + _VALUE), _keep()),
      (re.compile(r"((?<!\S)-(?=[a-zA-Z]*b)(?![a-zA-Z]*n)[a-zA-Z]+\s+(?:-\S+\s+)*\S+\s+\S+\s+)" + _VALUE),
       _keep())]),
    # registry logins, MongoDB tools, archivers, account tools (-p takes a crypt hash, or
    # a careless admin's plain password), lftp's user,password, openssl enc -k
    (re.compile(r"\b(?:docker|podman|buildah|nerdctl)\s+login\b"),
     [(re.compile(r"((?<!\S)-p\s*)" + _VALUE), _keep())]),
    (re.compile(r"\bmongo(?:sh|dump|restore|export|import|stat|top|files)?\b"),
     [(re.compile(r"((?<!\S)-p\s*)" + _VALUE), _keep())]),
    (re.compile(r"\b(?:zip|unzip|zipcloak)\b"), [(re.compile(r"((?<!\S)-P\s*)" + _VALUE), _keep())]),
    (re.compile(r"\b(?:7z|7za|7zr|rar|unrar)\b"), [(re.compile(r"((?<!\S)-p)(?=\S)" + _VALUE), _keep())]),
    (re.compile(r"\b(?:useradd|usermod|groupadd|groupmod)\b"),
     [(re.compile(r"((?<!\S)-p\s*)" + _VALUE), _keep())]),
    (re.compile(r"\blftp\b"), [(re.compile(r"((?<!\S)-u\s*[^\s,'\"]*,)" + _VALUE), _keep())]),
    (re.compile(r"\bopenssl\b"), [(re.compile(r"((?<!\S)-k\s+)" + _VALUE), _keep())]),
    (re.compile(r"\b(?:smbclient|rpcclient|smbget|net)\b"),
     [(re.compile(r"((?<!\S)(?:-U|--user)(?:\s+|=)[^\s%'\"]*%)[^\s'\"]+"), _keep())]),
    # smbclient //server/service [password]: a word right after the service is the password
    (re.compile(r"\bsmbclient\b"), [(re.compile(r"((?<!\S)//\S+\s+)(?![-|;&<>])" + _VALUE), _keep())]),
]
# A program's flags end where its command does.
_COMMAND_END = re.compile(r"[;&|\n]")


def _tool_flags(text: str) -> str:
    for program, rules in _TOOL_FLAGS:
        pieces, pos = [], 0
        for found in program.finditer(text):
            if found.start() < pos:
                continue
            end = _COMMAND_END.search(text, found.end())
            stop = end.start() if end else len(text)
            segment = text[found.end():stop]
            for pattern, replace in rules:
                segment = pattern.sub(replace, segment)
            pieces.append(text[pos:found.end()] + segment)
            pos = stop
        if pieces:
            text = "".join(pieces) + text[pos:]
    return text


# Something every rule above needs to find; most strings of a report (paths, names,
# numbers as text) hold none of it and skip the rules. Keep it a superset of the rules.
# (Searched in the lower-cased text: many times faster than an IGNORECASE alternation.)
_MAYBE = re.compile(r"[:$%]|p(?:ass|wd?|bkdf2)|secret|token|key|credential|auth|identified|mii|b3blbnnzac1"
                    r"|m(?:ysql|ariadb)|t(?:ripwire|wadmin|wprint)|redis|ldap"
                    r"|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|login|mongo|zip|7z|rar|lftp|openssl"
                    r"|<<<|kinit|sudo|(?:user|group)(?:add|mod)|aiza|smbclient")


def redact_text(text: str) -> str:
    """``text`` with every credential, key and password hash replaced by ``MARK``."""
    if not text or not _MAYBE.search(text.lower()):
        return text
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return _tool_flags(text)


# A flag whose value is the next element of an argument vector: ["mysql", "--password", "x"].
_SECRET_FLAG = re.compile(r"(?i)--?(?!no-)(?:[A-Za-z0-9]+[_-])*" + _SECRET_TAIL)


def _redact_list(items: list) -> list:
    out = []
    hide_next = False
    for item in items:
        if hide_next and isinstance(item, str):
            out.append(MARK)
            hide_next = False
            continue
        hide_next = isinstance(item, str) and bool(_SECRET_FLAG.fullmatch(item))
        out.append(redact(item))
    return out


def redact(value):
    """``value`` (plain data: dicts, lists, tuples, strings, numbers) with every string,
    dict keys included, passed through ``redact_text``. Returns new containers; the input
    is not changed. Keys that become equal after redaction are kept apart by a suffix."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            new_key = redact_text(key) if isinstance(key, str) else key
            if new_key in out:
                n = 2
                while f"{new_key} ({n})" in out:
                    n += 1
                new_key = f"{new_key} ({n})"
            out[new_key] = redact(item)
        return out
    if isinstance(value, (list, tuple)):
        return _redact_list(list(value))
    return value
