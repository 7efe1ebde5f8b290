"""Checks of the net controls."""
