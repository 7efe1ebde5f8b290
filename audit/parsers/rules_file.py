"""A saved firewall rules file, whatever format the boot loads it in: nftables.conf,
iptables-save/ip6tables-save output, or an iptables shell script (the document's)."""

from __future__ import annotations

from hostaudit.parsers.iptables import parse_iptables_save, parse_iptables_script
from hostaudit.parsers.lines import newline_lines
from hostaudit.parsers.nft import parse_nftables_conf


def parse_rules_file(path: str, text: str, family: str = "ipv4") -> tuple[str, dict]:
    """The format of a saved rules file (by its content, not its name, except nftables.conf)
    and its ruleset: ``("nftables.conf" | "iptables-save" | "ip6tables-save" | "iptables
    script", ruleset)``. ``family`` says whether an iptables-save file is for iptables or
    ip6tables (the format is the same)."""
    if "nftables" in path.rsplit("/", 1)[-1]:
        return "nftables.conf", parse_nftables_conf(text, path)
    lines = [line.strip() for line in newline_lines(text)]
    if any(line.startswith("*") for line in lines) and "COMMIT" in lines:
        return ("iptables-save" if family == "ipv4" else "ip6tables-save"), parse_iptables_save(text, path, family)
    return "iptables script", parse_iptables_script(text, path)
