from hostaudit.parsers.crontab import parse_crontab


def test_system_crontab_has_a_user_field():
    parsed = parse_crontab("SHELL=/bin/sh\n0 2 * * * root /usr/sbin/tripwire --check\n", system=True)
    assert parsed["entries"] == [{"line": 2, "schedule": "0 2 * * *", "user": "root",
                                  "command": "/usr/sbin/tripwire --check"}]


def test_user_crontab_command_follows_the_schedule():
    parsed = parse_crontab("# m h dom mon dow command\n30 4 * * 1-5  rpm -Fvh ftp://updates.redhat.com/x/*\n",
                           system=False)
    assert parsed["entries"][0]["command"] == "rpm -Fvh ftp://updates.redhat.com/x/*"
    assert parsed["entries"][0]["user"] is None


def test_special_schedules_take_one_field():
    entry = parse_crontab("@daily root df -h | mail root\n", system=True)["entries"][0]
    assert (entry["schedule"], entry["user"], entry["command"]) == ("@daily", "root", "df -h | mail root")


def test_bad_schedule_and_short_lines_are_reported_by_line():
    parsed = parse_crontab("@sometimes df\n* * *\n61 x! * * * root df\n", system=True)
    assert parsed == {"entries": [], "malformed": [1, 2, 3]}
