"""MBR (primary, extended and logical) and GPT partition tables of a raw disk image.

Pure: the caller passes ``read(offset, length) -> bytes`` over the image and its size, and
gets back where each partition lies. Every number comes from the image, so every partition
is checked to lie inside the file, after the table, and apart from the others; a GPT header
and its entry array must match their CRC32. Anything else raises PartitionTableError: a
table that does not add up is never partly trusted, since a loop device set up from it
would read outside the partition (or the file) it claims.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass

SECTOR = 512
GPT_SIGNATURE = b"EFI PART"
MBR_SIGNATURE = b"\x55\xaa"
_EXTENDED = (0x05, 0x0F, 0x85)
_PROTECTIVE = 0xEE
# Real tables have a few dozen partitions; these bound the work a hostile table can ask for.
MAX_LOGICAL = 128
MAX_GPT_ENTRIES = 1024
MAX_GPT_ENTRY_SIZE = 4096
_GPT_HEADER_MIN = 92

Reader = Callable[[int, int], bytes]


class PartitionTableError(ValueError):
    """The partition table is corrupt or claims space outside the image."""


@dataclass(frozen=True)
class Partition:
    """One partition: ``start`` and ``size`` in bytes from the start of the image.

    ``type`` is ``0x83``-style for MBR and the type GUID for GPT; ``partuuid`` is what
    ``PARTUUID=`` in an fstab names (GPT: the unique GUID; MBR: disk signature and number).
    """

    number: int
    start: int
    size: int
    type: str
    partuuid: str | None = None
    name: str | None = None

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True)
class PartitionTable:
    """``scheme`` is ``gpt`` or ``mbr``; partitions in table order (MBR logicals from 5)."""

    scheme: str
    partitions: tuple[Partition, ...]


def _exact(read: Reader, offset: int, length: int, what: str) -> bytes:
    data = read(offset, length)
    if len(data) != length:
        raise PartitionTableError(f"{what} at byte {offset} lies beyond the end of the image")
    return bytes(data)


def parse_partition_table(read: Reader, size: int) -> PartitionTable:
    """The partition table of an image of ``size`` bytes; GPT when the MBR is protective."""
    mbr = _exact(read, 0, SECTOR, "the master boot record")
    if mbr[510:512] != MBR_SIGNATURE:
        raise PartitionTableError("no MBR boot signature (55 aa) in the first sector")
    entries = _mbr_entries(mbr)
    if any(kind == _PROTECTIVE for _, kind, _, _ in entries):
        return _parse_gpt(read, size)
    return _parse_mbr(read, size, mbr, entries)


def _mbr_entries(sector: bytes) -> list[tuple[int, int, int, int]]:
    """(slot 1-4, type, first LBA, sector count) of the non-empty entries of an MBR/EBR."""
    found = []
    for slot in range(4):
        status, kind, lba, count = struct.unpack_from("<B3xB3xII", sector, 446 + 16 * slot)
        if kind == 0:
            continue
        if status not in (0x00, 0x80):
            raise PartitionTableError(f"entry {slot + 1} has status byte {status:#04x}, "
                                      "not a partition table (a boot sector of a filesystem?)")
        found.append((slot + 1, kind, lba, count))
    return found


def _parse_mbr(read: Reader, size: int, mbr: bytes, entries) -> PartitionTable:
    signature = struct.unpack_from("<I", mbr, 440)[0]
    partitions: list[Partition] = []
    extended = [e for e in entries if e[1] in _EXTENDED]
    if len(extended) > 1:
        raise PartitionTableError("more than one extended partition")
    areas = []  # everything that must not overlap: primaries and the extended container
    for slot, kind, lba, count in entries:
        start, length = _checked_extent(lba, count, size, f"partition {slot}")
        areas.append((start, start + length, f"partition {slot}"))
        if kind not in _EXTENDED:
            partitions.append(Partition(slot, start, length, f"0x{kind:02x}",
                                        f"{signature:08x}-{slot:02x}"))
    _no_overlap(areas)
    if extended:
        _, _, ext_lba, ext_count = extended[0]
        partitions += _logical(read, size, ext_lba, ext_count, signature)
    return PartitionTable("mbr", tuple(partitions))


def _logical(read: Reader, size: int, ext_lba: int, ext_count: int, signature: int) -> list[Partition]:
    """Logical partitions: a chain of EBRs, each holding one partition (relative to itself)
    and a link to the next (relative to the extended partition)."""
    found: list[Partition] = []
    seen: set[int] = set()
    areas = []
    ebr_lba = ext_lba
    while True:
        if ebr_lba in seen:
            raise PartitionTableError(f"the chain of logical partitions loops at sector {ebr_lba}")
        if len(seen) >= MAX_LOGICAL:
            raise PartitionTableError(f"more than {MAX_LOGICAL} logical partitions")
        seen.add(ebr_lba)
        ebr = _exact(read, ebr_lba * SECTOR, SECTOR, "an extended boot record")
        if ebr[510:512] != MBR_SIGNATURE:
            raise PartitionTableError(f"extended boot record at sector {ebr_lba} has no signature")
        entries = _mbr_entries(ebr)
        data = [e for e in entries if e[1] not in _EXTENDED]
        links = [e for e in entries if e[1] in _EXTENDED]
        if len(data) > 1 or len(links) > 1:
            raise PartitionTableError(f"extended boot record at sector {ebr_lba} holds more "
                                      "than one partition or link")
        number = 5 + len(found)
        if data:
            _, kind, rel, count = data[0]
            start, length = _checked_extent(ebr_lba + rel, count, size, f"partition {number}")
            if rel == 0 or not (ext_lba < ebr_lba + rel and ebr_lba + rel + count <= ext_lba + ext_count):
                raise PartitionTableError(f"partition {number} lies outside its extended partition")
            areas.append((start, start + length, f"partition {number}"))
            found.append(Partition(number, start, length, f"0x{kind:02x}",
                                   f"{signature:08x}-{number:02x}"))
        if not links:
            break
        next_lba = ext_lba + links[0][2]
        if not ext_lba < next_lba < ext_lba + ext_count:
            raise PartitionTableError(f"a link after partition {number} points outside "
                                      "the extended partition")
        ebr_lba = next_lba
    _no_overlap(areas)
    return found


def _checked_extent(lba: int, count: int, size: int, what: str) -> tuple[int, int]:
    """(start, length) in bytes of ``count`` sectors from ``lba``, inside the image."""
    if lba == 0 or count == 0:
        raise PartitionTableError(f"{what} starts at sector 0 or is empty")
    start, length = lba * SECTOR, count * SECTOR
    if start + length > size:
        raise PartitionTableError(f"{what} ends at byte {start + length}, beyond the end of the "
                                  f"image ({size} bytes)")
    return start, length


def _no_overlap(areas) -> None:
    ordered = sorted(areas)
    for (_, end, name), (start, _, other) in zip(ordered, ordered[1:]):
        if start < end:
            raise PartitionTableError(f"{name} and {other} overlap")


def _parse_gpt(read: Reader, size: int) -> PartitionTable:
    header = _exact(read, SECTOR, SECTOR, "the GPT header")
    if header[:8] != GPT_SIGNATURE:
        raise PartitionTableError("protective MBR but no GPT header in sector 1 "
                                  "(only 512-byte sectors are read)")
    (header_size, header_crc, current, _backup, first_usable, last_usable, entries_lba, count,
     entry_size, entries_crc) = struct.unpack_from("<12xII4xQQQQ16xQIII", header)
    if not _GPT_HEADER_MIN <= header_size <= SECTOR:
        raise PartitionTableError(f"GPT header size {header_size} is not between 92 and 512")
    zeroed = header[:16] + b"\0\0\0\0" + header[20:header_size]
    if zlib.crc32(zeroed) != header_crc:
        raise PartitionTableError("GPT header CRC32 does not match: the header is corrupt")
    if current != 1:
        raise PartitionTableError(f"GPT header says it lies at sector {current}, not 1")
    if not (0 < count <= MAX_GPT_ENTRIES and 128 <= entry_size <= MAX_GPT_ENTRY_SIZE
            and entry_size % 128 == 0):
        raise PartitionTableError(f"GPT claims {count} entries of {entry_size} bytes")
    sectors = size // SECTOR
    if not 2 <= first_usable <= last_usable < sectors:
        raise PartitionTableError(f"GPT usable sectors {first_usable}-{last_usable} do not fit "
                                  f"an image of {sectors} sectors")
    array = _exact(read, entries_lba * SECTOR, count * entry_size, "the GPT entry array")
    if zlib.crc32(array) != entries_crc:
        raise PartitionTableError("GPT entry array CRC32 does not match: the entries are corrupt")
    table_end = entries_lba * SECTOR + count * entry_size
    partitions, areas = [], []
    for index in range(count):
        entry = array[index * entry_size:(index + 1) * entry_size]
        if entry[:16] == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", entry, 32)
        number = index + 1
        if not first_usable <= first <= last <= last_usable:
            raise PartitionTableError(f"partition {number} (sectors {first}-{last}) lies outside "
                                      f"the usable sectors {first_usable}-{last_usable}")
        start, length = first * SECTOR, (last - first + 1) * SECTOR
        if start < table_end and entries_lba * SECTOR < start + length:
            raise PartitionTableError(f"partition {number} overlaps the GPT entry array")
        name = entry[56:128].decode("utf-16-le", errors="replace").split("\0", 1)[0]
        areas.append((start, start + length, f"partition {number}"))
        partitions.append(Partition(number, start, length, str(uuid.UUID(bytes_le=entry[:16])),
                                    str(uuid.UUID(bytes_le=entry[16:32])), name or None))
    _no_overlap(areas)
    return PartitionTable("gpt", tuple(partitions))
