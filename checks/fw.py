"""Checks of the fw controls."""
