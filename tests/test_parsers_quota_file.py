import random
import struct

import pytest
from quota_images import quota_file_bytes

from hostaudit.parsers.quota_file import QuotaFileError, parse_quota_file
from hostaudit.parsers.repquota import parse_repquota

DOC_LIMITS = (20, 25, 20, 25)
# Ids in different tree branches (70000 and 2**24 + 5 differ in the upper bytes) and
# enough of them to fill more than one data block (21 vfsv0 entries, 14 vfsv1 per block).
MANY = {**{1000 + n: (100 + n, 200 + n, 10 + n, 20 + n) for n in range(40)},
        70000: DOC_LIMITS, 2 ** 24 + 5: DOC_LIMITS}


@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    """aquota.user files written by quotacheck and setquota, in both formats."""
    files = {}
    for fmt in ("vfsv0", "vfsv1"):
        files[fmt] = quota_file_bytes(str(tmp_path_factory.mktemp(fmt)), fmt=fmt, limits=MANY)
    return files


@pytest.mark.parametrize("fmt", ["vfsv0", "vfsv1"])
def test_file_written_by_setquota_gives_every_users_limits(real_files, fmt):
    parsed = parse_quota_file(real_files[fmt])
    assert parsed["format"] == fmt
    by_id = {e["id"]: e for e in parsed["entries"]}
    assert set(by_id) == {0} | set(MANY)  # quotacheck adds root's usage
    for uid, (bsoft, bhard, isoft, ihard) in MANY.items():
        entry = by_id[uid]
        assert (entry["block_soft"], entry["block_hard"], entry["inode_soft"], entry["inode_hard"]) == \
            (bsoft, bhard, isoft, ihard)
    assert by_id[0]["block_soft"] == 0 and by_id[0]["inodes_used"] >= 2
    assert parsed["block_grace"] == 7 * 24 * 3600


@pytest.mark.parametrize("fmt", ["vfsv0", "vfsv1"])
def test_every_truncation_of_a_real_file_is_an_error(real_files, fmt):
    data = real_files[fmt]
    for cut in list(range(0, 64, 7)) + list(range(1024, len(data), 512)) + [len(data) - 1]:
        with pytest.raises(QuotaFileError):
            parse_quota_file(data[:cut])


def test_random_garbage_is_an_error():
    rng = random.Random(8)
    for size in (0, 10, 1024, 2048, 6144):
        with pytest.raises(QuotaFileError):
            parse_quota_file(bytes(rng.randrange(256) for _ in range(size)))


def test_valid_header_over_random_blocks_is_an_error():
    rng = random.Random(9)
    header = struct.pack("<II6I", 0xD9C01F11, 0, 604800, 604800, 0, 6, 0, 0)
    body = bytes(rng.randrange(256) for _ in range(6 * 1024 - len(header)))
    with pytest.raises(QuotaFileError):
        parse_quota_file(header + body)


def test_group_quota_magic_is_refused(real_files):
    data = struct.pack("<I", 0xD9C01927) + real_files["vfsv0"][4:]
    with pytest.raises(QuotaFileError, match="not a user quota file"):
        parse_quota_file(data)


def test_unknown_version_is_refused(real_files):
    data = real_files["vfsv0"][:4] + struct.pack("<I", 7) + real_files["vfsv0"][8:]
    with pytest.raises(QuotaFileError, match="unknown quota file version 7"):
        parse_quota_file(data)


def test_tree_pointer_outside_the_file_is_an_error(real_files):
    data = bytearray(real_files["vfsv0"])
    root = data[1024:2048]
    index = next(i for i in range(256) if struct.unpack_from("<I", root, 4 * i)[0])
    struct.pack_into("<I", data, 1024 + 4 * index, 100000)
    with pytest.raises(QuotaFileError, match="outside"):
        parse_quota_file(bytes(data))


def test_single_byte_corruptions_never_raise_anything_but_quota_file_error(real_files):
    rng = random.Random(10)
    data = real_files["vfsv1"]
    for _ in range(300):
        mutated = bytearray(data)
        mutated[rng.randrange(len(data))] = rng.randrange(256)
        try:
            parse_quota_file(bytes(mutated))
        except QuotaFileError:
            pass


# repquota -u -n -v

REPQUOTA = """\
*** Report for user quotas on device /dev/loop0
Block grace time: 7days; Inode grace time: 7days
                        Block limits                File limits
User            used    soft    hard  grace    used  soft  hard  grace
----------------------------------------------------------------------
#0        --      13       0       0              2     0     0       
#1000     --       0      20      25              0    20    25       
#1001     +-      30      20      25  6days       1    20    25       
#1002     ++      30      20      25   none      30    20    25  00:10
"""


def test_repquota_rows_with_and_without_grace_columns():
    rows = parse_repquota(REPQUOTA)
    assert [(r["id"], r["block_soft"], r["block_hard"], r["inode_soft"], r["inode_hard"], r["line"]) for r in rows] == [
        (0, 0, 0, 0, 0, 6), (1000, 20, 25, 20, 25, 7), (1001, 20, 25, 20, 25, 8), (1002, 20, 25, 20, 25, 9)]
    assert rows[2]["blocks_used"] == 30 and rows[3]["inodes_used"] == 30


def test_repquota_row_of_another_shape_is_an_error_naming_the_line():
    with pytest.raises(ValueError, match="line 2"):
        parse_repquota("header\n#1000     --       0      20\n")
