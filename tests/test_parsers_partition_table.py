"""Partition tables of raw disk images: what lies where, and nothing outside the file."""

import random
import struct
import uuid
import zlib

import pytest

from hostaudit.parsers.partition_table import PartitionTableError, parse_partition_table

SECTOR = 512
LINUX = uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4")


def reader(data: bytes):
    return lambda offset, length: data[offset:offset + length]


def parse(data: bytes):
    return parse_partition_table(reader(data), len(data))


def mbr_sector(entries, signature=0x1234ABCD) -> bytearray:
    """An MBR/EBR: ``entries`` are (type, first LBA, sector count[, status])."""
    sector = bytearray(SECTOR)
    struct.pack_into("<I", sector, 440, signature)
    for slot, (kind, lba, count, *status) in enumerate(entries):
        struct.pack_into("<B3xB3xII", sector, 446 + 16 * slot, status[0] if status else 0, kind, lba, count)
    sector[510:512] = b"\x55\xaa"
    return sector


def mbr_disk(entries, sectors=2048) -> bytearray:
    disk = bytearray(sectors * SECTOR)
    disk[:SECTOR] = mbr_sector(entries)
    return disk


def gpt_disk(parts, sectors=2048, *, first_usable=34, entries_lba=2, count=128) -> bytearray:
    """A GPT disk: ``parts`` are (first LBA, last LBA, name); CRCs computed as a tool would."""
    disk = bytearray(sectors * SECTOR)
    disk[:SECTOR] = mbr_sector([(0xEE, 1, sectors - 1)])
    array = bytearray(count * 128)
    for index, (first, last, name) in enumerate(parts):
        unique = uuid.UUID(int=index + 1)
        struct.pack_into("<16s16sQQQ72s", array, index * 128, LINUX.bytes_le, unique.bytes_le, first, last,
                         0, name.encode("utf-16-le"))
    disk[entries_lba * SECTOR:entries_lba * SECTOR + len(array)] = array
    header = bytearray(SECTOR)
    struct.pack_into("<8sIIIIQQQQ16sQIII", header, 0, b"EFI PART", 0x10000, 92, 0, 0, 1, sectors - 1,
                     first_usable, sectors - 34, b"\x01" * 16, entries_lba, count, 128, zlib.crc32(array))
    struct.pack_into("<I", header, 16, zlib.crc32(bytes(header[:92])))
    disk[SECTOR:2 * SECTOR] = header
    return disk


# -- MBR --------------------------------------------------------------------------------------
def test_mbr_primary_partitions_in_bytes_with_type_and_partuuid():
    table = parse(mbr_disk([(0x83, 2, 100), (0x82, 102, 50)]))
    assert table.scheme == "mbr"
    assert [(p.number, p.start, p.size, p.type, p.partuuid) for p in table.partitions] == [
        (1, 2 * SECTOR, 100 * SECTOR, "0x83", "1234abcd-01"),
        (2, 102 * SECTOR, 50 * SECTOR, "0x82", "1234abcd-02"),
    ]


def test_mbr_logical_partitions_follow_the_chain_numbered_from_5():
    disk = mbr_disk([(0x83, 2, 100), (0x05, 200, 800)])
    disk[200 * SECTOR:201 * SECTOR] = mbr_sector([(0x83, 2, 100), (0x05, 300, 200)])
    disk[500 * SECTOR:501 * SECTOR] = mbr_sector([(0x83, 2, 50)])
    table = parse(disk)
    assert [(p.number, p.start // SECTOR, p.size // SECTOR) for p in table.partitions] == [
        (1, 2, 100), (5, 202, 100), (6, 502, 50)]


def test_mbr_partition_beyond_the_file_is_an_error():
    with pytest.raises(PartitionTableError, match="beyond the end of the image"):
        parse(mbr_disk([(0x83, 2, 4096)], sectors=2048))


def test_mbr_overlapping_partitions_are_an_error():
    with pytest.raises(PartitionTableError, match="overlap"):
        parse(mbr_disk([(0x83, 2, 100), (0x83, 50, 100)]))


def test_mbr_logical_chain_that_loops_is_an_error():
    disk = mbr_disk([(0x05, 200, 800)])
    disk[200 * SECTOR:201 * SECTOR] = mbr_sector([(0x83, 2, 10), (0x05, 100, 50)])
    disk[300 * SECTOR:301 * SECTOR] = mbr_sector([(0x83, 2, 10), (0x05, 100, 50)])
    with pytest.raises(PartitionTableError, match="loops"):
        parse(disk)


def test_mbr_logical_partition_outside_its_extended_partition_is_an_error():
    disk = mbr_disk([(0x05, 200, 100)])
    disk[200 * SECTOR:201 * SECTOR] = mbr_sector([(0x83, 2, 500)])
    with pytest.raises(PartitionTableError, match="outside its extended partition"):
        parse(disk)


def test_first_sector_without_boot_signature_is_an_error():
    with pytest.raises(PartitionTableError, match="boot signature"):
        parse(bytes(4096))


def test_filesystem_boot_sector_is_not_taken_for_a_partition_table():
    disk = mbr_disk([(0x83, 2, 100, 0x3C)])  # a FAT boot sector has code where MBR has status
    with pytest.raises(PartitionTableError, match="status byte"):
        parse(disk)


def test_image_shorter_than_one_sector_is_an_error():
    with pytest.raises(PartitionTableError, match="beyond the end"):
        parse(b"\x55\xaa")


# -- GPT --------------------------------------------------------------------------------------
def test_gpt_partitions_with_type_guid_unique_guid_and_name():
    table = parse(gpt_disk([(34, 1033, "root"), (1034, 2000, "home")]))
    assert table.scheme == "gpt"
    first, second = table.partitions
    assert (first.number, first.start, first.size, first.type, first.name) == (
        1, 34 * SECTOR, 1000 * SECTOR, str(LINUX), "root")
    assert first.partuuid == str(uuid.UUID(int=1))
    assert (second.number, second.start // SECTOR, second.name) == (2, 1034, "home")


def test_gpt_header_with_bad_crc_is_an_error():
    disk = gpt_disk([(34, 1033, "root")])
    disk[SECTOR + 40] ^= 1  # first usable LBA changed, CRC not updated
    with pytest.raises(PartitionTableError, match="header CRC32"):
        parse(disk)


def test_gpt_entry_array_with_bad_crc_is_an_error():
    disk = gpt_disk([(34, 1033, "root")])
    disk[2 * SECTOR + 40] ^= 0x10  # last LBA of partition 1 grown behind the CRC's back
    with pytest.raises(PartitionTableError, match="entry array CRC32"):
        parse(disk)


def test_gpt_partition_beyond_the_usable_area_is_an_error():
    with pytest.raises(PartitionTableError, match="outside the usable sectors"):
        parse(gpt_disk([(34, 5000, "big")]))


def test_gpt_overlapping_partitions_are_an_error():
    with pytest.raises(PartitionTableError, match="overlap"):
        parse(gpt_disk([(34, 1000, "a"), (900, 1500, "b")]))


def test_gpt_partition_over_its_own_entry_array_is_an_error():
    with pytest.raises(PartitionTableError, match="overlaps the GPT entry array"):
        parse(gpt_disk([(20, 100, "a")], first_usable=2))


def test_gpt_header_claiming_more_sectors_than_the_file_has_is_an_error():
    disk = gpt_disk([(34, 1033, "root")], sectors=4096)[:2048 * SECTOR]  # truncated copy
    with pytest.raises(PartitionTableError, match="do not fit"):
        parse(disk)


def test_gpt_entry_array_beyond_the_file_is_an_error():
    disk = gpt_disk([], sectors=64, count=128)[:20 * SECTOR]
    with pytest.raises(PartitionTableError):
        parse(disk)


def test_protective_mbr_without_gpt_header_is_an_error():
    disk = mbr_disk([(0xEE, 1, 2047)])
    with pytest.raises(PartitionTableError, match="no GPT header"):
        parse(disk)


# -- hostile bytes ----------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: gpt_disk([(34, 1033, "root"), (1034, 2000, "home")]),
    lambda: _with_logical(mbr_disk([(0x83, 2, 100), (0x05, 200, 800)])),
], ids=["gpt", "mbr"])
def test_corrupted_tables_raise_only_partition_table_error_and_stay_inside_the_file(make):
    rng = random.Random(7)
    original = make()
    hot = list(range(440, 1024)) + list(range(1024, 1600)) + list(range(200 * SECTOR + 446, 200 * SECTOR + 512))
    for _ in range(3000):
        disk = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            disk[rng.choice(hot)] = rng.randrange(256)
        if rng.random() < 0.2:
            disk = disk[:rng.randrange(len(disk))]
        try:
            table = parse(bytes(disk))
        except PartitionTableError:
            continue
        areas = sorted((p.start, p.end) for p in table.partitions)
        assert all(0 < start < end <= len(disk) for start, end in areas)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(areas, areas[1:]))


def _with_logical(disk):
    disk[200 * SECTOR:201 * SECTOR] = mbr_sector([(0x83, 2, 100), (0x05, 300, 200)])
    disk[500 * SECTOR:501 * SECTOR] = mbr_sector([(0x83, 2, 50)])
    return disk
