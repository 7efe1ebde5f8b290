"""Report renderers (json, html, terminal) over one report model (reports.model)."""
