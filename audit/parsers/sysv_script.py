"""A SysV init script, read for what it says, never run: its chkconfig header (which
runlevels start it) and the rules files it names."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

_CHKCONFIG = re.compile(r"^#\s*chkconfig:\s*(\S+)\s+(\d+)\s+(\d+)")
# A path under /etc that names iptables, nft or rules: what a firewall script loads.
_RULES_PATH = re.compile(r"(/etc/[\w./-]*(?:iptable|nft|rules)[\w./-]*)")
_CITED_CHARS = 160


def parse_sysv_script(text: str, path: str) -> dict:
    """``{"chkconfig": {"line", "text", "levels", "start", "stop"} | None, "rules_refs":
    [{"path", "line", "text"}]}``: the header, and each rules file an uncommented line names
    (first mention only; the script itself is not a reference)."""
    chkconfig: dict | None = None
    refs: list[dict] = []
    for number, line in enumerate(newline_lines(text), 1):
        if match := _CHKCONFIG.match(line.strip()):
            chkconfig = {"line": number, "text": line.strip(), "levels": match.group(1),
                         "start": match.group(2), "stop": match.group(3)}
        if line.lstrip().startswith("#"):
            continue
        for ref in _RULES_PATH.findall(line):
            if ref != path and ref not in (r["path"] for r in refs):
                refs.append({"path": ref, "line": number, "text": line.strip()[:_CITED_CHARS]})
    return {"chkconfig": chkconfig, "rules_refs": refs}
