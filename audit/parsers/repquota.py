"""Output of ``repquota -u -n -v MOUNT_POINT``: each user's block and inode limits."""

from __future__ import annotations

import re

_ROW = re.compile(r"^#(\d+)\s+([-+])([-+])\s+(.*)$")
_NUMBER = re.compile(r"^\d+$")


def parse_repquota(text: str) -> list[dict]:
    """Rows ``#1000 -- 0 20 25  0 20 25`` as ``{"id", "blocks_used", "block_soft",
    "block_hard", "inode_soft", "inode_hard", "inodes_used", "line"}`` (blocks in KiB).

    A grace column follows a limit only when it is exceeded (``+`` in the flags), so its
    presence is read from the flags. Raises ValueError naming the line for a row of any
    other shape: a half-read row must never look like a user without limits.
    """
    rows = []
    for number, raw in enumerate(text.splitlines(), start=1):
        match = _ROW.match(raw.strip())
        if not match:
            continue
        uid, block_over, inode_over, rest = match.groups()
        tokens = rest.split()
        block_part = tokens[:3]
        inode_at = 4 if block_over == "+" else 3
        inode_part = tokens[inode_at:inode_at + 3]
        trailing = tokens[inode_at + 3:]
        if len(block_part) != 3 or len(inode_part) != 3 or len(trailing) > (1 if inode_over == "+" else 0) \
                or not all(_NUMBER.match(t) for t in block_part + inode_part):
            raise ValueError(f"line {number}: unexpected repquota row {raw.strip()!r}")
        b_used, b_soft, b_hard = (int(t) for t in block_part)
        i_used, i_soft, i_hard = (int(t) for t in inode_part)
        rows.append({"id": int(uid), "blocks_used": b_used, "block_soft": b_soft, "block_hard": b_hard,
                     "inodes_used": i_used, "inode_soft": i_soft, "inode_hard": i_hard, "line": number})
    return rows
