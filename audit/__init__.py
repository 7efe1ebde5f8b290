"""hostaudit: audit a Linux host or golden image against a hardening baseline."""

__version__ = "0.1.0"
