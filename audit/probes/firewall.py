"""Probes: the firewall rules in force (live) and the rules the boot applies (files)."""
