"""User quota limits from a Linux ``aquota.user`` file (vfsv0 or vfsv1, quota-tools' and the
kernel's quota_v2 format), read as bytes, never through the kernel.

Layout (linux/fs/quota/quotaio_v2.h, quota_tree.h): an 8-byte header (magic, version), the
info (grace times, block counts) at offset 8, then 1 KiB blocks. Block 1 is the root of a
radix tree of depth 4 indexed by the id's bytes, 256 little-endian block numbers a block;
the last level points to data blocks: a 16-byte header (next/prev free, entry count) and
fixed-size entries. Limits are in 1 KiB blocks and in inodes; an all-zero entry is unused.
"""

from __future__ import annotations

import struct

USER_MAGIC = 0xD9C01F11
BLOCK_SIZE = 1024
TREE_ROOT = 1
TREE_DEPTH = 4
_REFS = struct.Struct("<256I")
_DATA_HEADER = struct.Struct("<IIHHI")
_INFO = struct.Struct("<IIIIII")
# version -> (format name, entry layout); the fields are read by name below.
_FORMATS = {
    0: ("vfsv0", struct.Struct("<IIIIIIQQQ"),
        ("id", "inode_hard", "inode_soft", "inodes_used", "block_hard", "block_soft", "space_used", "btime", "itime")),
    1: ("vfsv1", struct.Struct("<IIQQQQQQQQ"),
        ("id", "pad", "inode_hard", "inode_soft", "inodes_used", "block_hard", "block_soft", "space_used",
         "btime", "itime")),
}


class QuotaFileError(ValueError):
    """The bytes are not a whole, consistent user quota file; says what is wrong and where."""


def parse_quota_file(data: bytes) -> dict:
    """``{"format": "vfsv0"|"vfsv1", "block_grace": s, "inode_grace": s, "entries": [{"id",
    "block_soft", "block_hard" (KiB), "inode_soft", "inode_hard", "blocks_used" (KiB),
    "inodes_used"}...] sorted by id}``.

    Raises QuotaFileError for anything else: another magic (group or project quota, or
    not a quota file), an unknown version, a truncated file, block numbers outside the
    file, a data block whose entry count disagrees with its entries, an id twice.
    """
    if len(data) < 8 + _INFO.size:
        raise QuotaFileError(f"{len(data)} bytes is too short for a quota file header")
    magic, version = struct.unpack_from("<II", data, 0)
    if magic != USER_MAGIC:
        raise QuotaFileError(f"magic 0x{magic:08x} is not a user quota file's (0x{USER_MAGIC:08x})")
    if version not in _FORMATS:
        raise QuotaFileError(f"unknown quota file version {version}")
    name, layout, fields = _FORMATS[version]
    block_grace, inode_grace, _flags, blocks, _free_blk, _free_entry = _INFO.unpack_from(data, 8)
    in_file = len(data) // BLOCK_SIZE
    if blocks > in_file or blocks <= TREE_ROOT:
        raise QuotaFileError(f"the header counts {blocks} blocks but the file holds {in_file} "
                             f"({len(data)} bytes): truncated or corrupt")

    def block(number: int, referrer: str) -> bytes:
        if not TREE_ROOT <= number < blocks:
            raise QuotaFileError(f"{referrer} points to block {number}, outside 1..{blocks - 1}")
        return data[number * BLOCK_SIZE:(number + 1) * BLOCK_SIZE]

    per_block = (BLOCK_SIZE - _DATA_HEADER.size) // layout.size
    entries: dict[int, dict] = {}
    visited_tree: set = set()
    visited_data: set = set()
    pending = [(TREE_ROOT, 0, "the header")]
    while pending:
        number, depth, referrer = pending.pop()
        if depth == TREE_DEPTH:
            # Leaves at the last level share data blocks; each is read once.
            if number in visited_data:
                continue
            visited_data.add(number)
            raw = block(number, referrer)
            count = _DATA_HEADER.unpack_from(raw, 0)[2]
            used = 0
            for index in range(per_block):
                chunk = raw[_DATA_HEADER.size + index * layout.size:_DATA_HEADER.size + (index + 1) * layout.size]
                if not any(chunk):
                    continue
                used += 1
                entry = dict(zip(fields, layout.unpack(chunk)))
                if entry["id"] in entries:
                    raise QuotaFileError(f"id {entry['id']} appears twice (data block {number})")
                entries[entry["id"]] = {
                    "id": entry["id"],
                    "block_soft": entry["block_soft"], "block_hard": entry["block_hard"],
                    "inode_soft": entry["inode_soft"], "inode_hard": entry["inode_hard"],
                    "blocks_used": -(-entry["space_used"] // BLOCK_SIZE), "inodes_used": entry["inodes_used"],
                }
            if used != count:
                raise QuotaFileError(f"data block {number} says {count} entries but holds {used}")
            continue
        if (number, depth) in visited_tree:
            raise QuotaFileError(f"tree block {number} is reached twice at depth {depth}")
        visited_tree.add((number, depth))
        for index, ref in enumerate(_REFS.unpack(block(number, referrer))):
            if ref:
                pending.append((ref, depth + 1, f"tree block {number} entry {index}"))
    return {"format": name, "block_grace": block_grace, "inode_grace": inode_grace,
            "entries": [entries[i] for i in sorted(entries)]}
