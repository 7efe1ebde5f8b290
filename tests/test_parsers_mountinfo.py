from hostaudit.parsers.mountinfo import parse_mountinfo, parse_swaps

LINE = ("36 27 8:7 / /home rw,nosuid,nodev,relatime shared:1 - ext4 /dev/sda7 "
        "rw,quota,usrquota\n")


def test_mountinfo_splits_per_mount_and_super_options():
    (mount,) = parse_mountinfo(LINE)
    assert mount["mount_point"] == "/home"
    assert mount["device"] == "8:7"
    assert mount["mount_options"] == ["rw", "nosuid", "nodev", "relatime"]
    assert mount["super_options"] == ["rw", "quota", "usrquota"]
    assert mount["fstype"] == "ext4" and mount["source"] == "/dev/sda7"


def test_mountinfo_without_optional_fields_and_escaped_path():
    (mount,) = parse_mountinfo("40 1 0:5 / /mnt/a\\040b rw - tmpfs tmpfs rw\n")
    assert mount["mount_point"] == "/mnt/a b"


def test_mountinfo_line_without_separator_is_malformed():
    assert parse_mountinfo("garbage line here\n" + LINE)[0] == {"line": 1, "malformed": True}


def test_swaps_skips_header():
    text = ("Filename\tType\tSize\tUsed\tPriority\n"
            "/dev/sda6                               partition\t256996\t0\t-2\n")
    assert parse_swaps(text) == [{"filename": "/dev/sda6", "type": "partition", "line": 2}]
