from hostaudit.parsers.inittab import parse_inittab


def test_entries_and_commented_entries():
    text = ("# Trap CTRL-ALT-DELETE\n#ca::ctrlaltdel:/sbin/shutdown -t3 -r now\n"
            "id:3:initdefault:\n1:2345:respawn:/sbin/mingetty tty1\n")
    entries = parse_inittab(text)
    assert entries[0] == {"id": "ca", "runlevels": "", "action": "ctrlaltdel",
                          "process": "/sbin/shutdown -t3 -r now", "line": 2, "commented": True}
    assert [(e["id"], e["action"], e["commented"]) for e in entries[1:]] == [
        ("id", "initdefault", False), ("1", "respawn", False)]


def test_prose_and_short_lines_are_skipped():
    assert parse_inittab("# Default runlevel. The runlevels used by RHS are:\nbroken:line\n") == []
