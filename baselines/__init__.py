"""Shipped baselines (YAML) and the JSON Schema every baseline is validated against."""

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
SCHEMA_PATH = DIRECTORY / "baseline.schema.json"
