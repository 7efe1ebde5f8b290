"""Checks of the mail controls seen on the wire or in running processes."""
