"""Lines of a text file that match a regular expression, as evidence can cite them."""

from __future__ import annotations

import re

# Enough to cite; a file matching on every line does not fill the report.
MAX_CITED = 5
MAX_TEXT = 200


def matching_lines(text: str, pattern: str) -> dict:
    """``{"count": n, "lines": [{"line": 1-based, "text": clipped}]}`` of the lines of
    ``text`` that ``pattern`` matches (``re.search``), the first ``MAX_CITED`` cited."""
    regex = re.compile(pattern)
    cited: list[dict] = []
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if regex.search(line):
            count += 1
            if len(cited) < MAX_CITED:
                cited.append({"line": number, "text": line[:MAX_TEXT]})
    return {"count": count, "lines": cited}
