"""Probes: listening sockets and processes of the live host (psutil)."""
