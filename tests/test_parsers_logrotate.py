from hostaudit.parsers.logrotate import parse_logrotate_globals

REDHAT_73 = """# see "man logrotate" for details
# rotate log files weekly
weekly

# keep 4 weeks worth of backlogs
rotate 4

# create new (empty) log files after rotating old ones
create

# uncomment this if you want your log files compressed
#compress

include /etc/logrotate.d

/var/log/wtmp {
    monthly
    rotate 1
    compress
}
"""


def test_globals_in_order_with_commented_compress():
    assert parse_logrotate_globals(REDHAT_73) == [
        {"name": "weekly", "args": [], "line": 3, "commented": False},
        {"name": "rotate", "args": ["4"], "line": 6, "commented": False},
        {"name": "compress", "args": [], "line": 12, "commented": True},
    ]


def test_comment_prose_is_not_a_directive():
    assert parse_logrotate_globals("# rotate log files weekly\n# keep 4 weeks\n") == []


def test_directives_inside_blocks_are_ignored():
    text = "/var/log/a.log {\n  daily\n  rotate 99\n}\n/var/log/b { rotate 5 }\nmonthly\n"
    assert parse_logrotate_globals(text) == [{"name": "monthly", "args": [], "line": 6, "commented": False}]


def test_malformed_rotate_is_skipped():
    assert parse_logrotate_globals("rotate many\nrotate\n") == []
