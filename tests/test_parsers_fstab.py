from hostaudit.parsers.fstab import mount_unit_name, option_in_effect, parse_fstab, parse_unit

DOC_FSTAB = """\
LABEL=/     /         ext3    defaults        1 1
LABEL=/home /home     ext3    nosuid,nodev,rw,exec,auto,nouser,async,usrquota 1 2
/dev/hda6   swap      swap    defaults        0 0
"""


def test_fstab_entries_keep_mount_point_options_and_line():
    entries = parse_fstab("# comment\n\n" + DOC_FSTAB)
    home = entries[1]
    assert home["mount_point"] == "/home"
    assert home["options"][:2] == ["nosuid", "nodev"]
    assert home["line"] == 4
    assert entries[2]["fstype"] == "swap"


def test_fstab_octal_escape_and_trailing_slash_are_decoded():
    (entry,) = parse_fstab("/dev/sdb1 /srv/my\\040data/ ext4 defaults 0 2\n")
    assert entry["mount_point"] == "/srv/my data"


def test_fstab_short_line_is_marked_malformed():
    assert parse_fstab("/dev/sda1 /boot\n") == [{"line": 1, "malformed": True, "fields": 2}]


def test_defaults_does_not_give_nosuid():
    assert not option_in_effect(["defaults"], "nosuid")


def test_later_option_overrides_earlier():
    assert not option_in_effect(["nosuid", "suid"], "nosuid")
    assert option_in_effect(["defaults", "nosuid"], "nosuid")


def test_user_option_implies_nodev():
    assert option_in_effect(["user"], "nodev")


def test_usrquota_is_satisfied_by_xfs_and_journaled_forms():
    assert option_in_effect(["uquota"], "usrquota")
    assert option_in_effect(["usrjquota=aquota.user", "jqfmt=vfsv0"], "usrquota")
    assert not option_in_effect(["grpquota"], "usrquota")


def test_mount_unit_gives_where_and_options():
    unit = parse_unit("[Unit]\nDescription=x\n[Mount]\nWhat=/dev/sdb1\nWhere=/home/\n"
                      "Type=ext4\nOptions=nosuid,nodev\n")
    assert unit["where"] == "/home"
    assert unit["options"] == ["nosuid", "nodev"]
    assert unit["line"] == 5


def test_mount_unit_name_is_the_escaped_path():
    assert [mount_unit_name(p) for p in ("/home", "/usr/local", "/srv/a-b", "/")] == [
        "home.mount", "usr-local.mount", "srv-a\\x2db.mount", "-.mount"]
