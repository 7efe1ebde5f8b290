from hostaudit.parsers.quotaon import parse_quotaon_print


def test_quota_state_lines_are_parsed():
    text = ("user quota on /home (/dev/sda7) is on\n"
            "group quota on /srv/my data (/dev/sdb1) is off\n")
    states = parse_quotaon_print(text)
    assert states[0] == {"type": "user", "mount_point": "/home", "device": "/dev/sda7",
                         "on": True, "text": "user quota on /home (/dev/sda7) is on"}
    assert states[1]["mount_point"] == "/srv/my data" and states[1]["on"] is False


def test_error_lines_are_skipped():
    assert parse_quotaon_print("quotaon: Mountpoint (or device) / not found\n") == []
