"""Pure text-to-data parsers, one per file format. No I/O here: each takes text, returns data."""
