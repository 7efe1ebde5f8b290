"""Redaction: every credential, key and hash in target text becomes <redacted>, and what
names it stays; ordinary text an audit shows is left exactly as it was."""

from __future__ import annotations

import copy

import pytest

from hostaudit.redact import MARK, redact, redact_text

SECRET = "S3CRETMARK"

REDACTED = [
    # command lines
    ("mysqldump --password=S3CRETMARK db > /x", "mysqldump --password=<redacted> db > /x"),
    ("mysqldump --password S3CRETMARK db", "mysqldump --password <redacted> db"),
    ("mysqldump -uroot -pS3CRETMARK db", "mysqldump -uroot -p<redacted> db"),
    ("mysql --user=u --password='two S3CRETMARK words' db", "mysql --user=u --password=<redacted> db"),
    ("/usr/sbin/tripwire --check --local-passphrase S3CRETMARK",
     "/usr/sbin/tripwire --check --local-passphrase <redacted>"),
    ("tripwire --update --site-passphrase=S3CRETMARK", "tripwire --update --site-passphrase=<redacted>"),
    ("twadmin --create-polfile -S site.key -P S3CRETMARK twpol.txt",
     "twadmin --create-polfile -S site.key -P <redacted> twpol.txt"),
    ("tripwire --check -Q S3CRETMARK", "tripwire --check -Q <redacted>"),
    ("sshpass -p S3CRETMARK ssh backup@host", "sshpass -p <redacted> ssh backup@host"),
    ("redis-cli -a S3CRETMARK ping", "redis-cli -a <redacted> ping"),
    ("curl -u admin:S3CRETMARK http://h/", "curl -u admin:<redacted> http://h/"),
    ("smbclient -U backup%S3CRETMARK //h/s", "smbclient -U backup%<redacted> //h/s"),
    ("backup --db-token S3CRETMARK", "backup --db-token <redacted>"),
    # HTTP and URLs
    ("curl -H 'Authorization: Bearer S3CRETMARK' http://h/",
     "curl -H 'Authorization: Bearer <redacted>' http://h/"),
    ("X-Api-Key: S3CRETMARK", "X-Api-Key: <redacted>"),
    ("rsync rsync://backup:S3CRETMARK@host/module /srv", "rsync rsync://backup:<redacted>@host/module /srv"),
    ("http://h/x?token=S3CRETMARK&page=2", "http://h/x?token=<redacted>&page=2"),
    # SQL
    ("GRANT ALL ON *.* TO 'u'@'h' IDENTIFIED BY 'S3CRETMARK';",
     "GRANT ALL ON *.* TO 'u'@'h' IDENTIFIED BY <redacted>;"),
    ("CREATE USER u WITH ENCRYPTED PASSWORD 'S3CRETMARK'", "CREATE USER u WITH ENCRYPTED PASSWORD <redacted>"),
    ("SELECT PASSWORD('S3CRETMARK')", "SELECT PASSWORD(<redacted>)"),
    # mount options and assignments
    ("//srv/share /mnt cifs username=u,password=S3CRETMARK,uid=0 0 0",
     "//srv/share /mnt cifs username=u,password=<redacted>,uid=0 0 0"),
    ("cifs pass=S3CRETMARK,nosuid,nodev 0 0", "cifs pass=<redacted>,nosuid,nodev 0 0"),
    ("password=S3CRETMARK,with,commas", "password=<redacted>"),
    ("PGPASSWORD=S3CRETMARK pg_dump", "PGPASSWORD=<redacted> pg_dump"),
    ("MYSQL_PWD=S3CRETMARK", "MYSQL_PWD=<redacted>"),
    ("export GITHUB_TOKEN=S3CRETMARK", "export GITHUB_TOKEN=<redacted>"),
    ("AWS_SECRET_ACCESS_KEY=S3CRETMARK", "AWS_SECRET_ACCESS_KEY=<redacted>"),
    ("API_KEY=S3CRETMARK", "API_KEY=<redacted>"),
    ("client_secret = S3CRETMARK", "client_secret = <redacted>"),
    ("GRUB2_PASSWORD=grub.pbkdf2.sha512.10000.S3CRETMARK", "GRUB2_PASSWORD=<redacted>"),
    ("machine h login u password S3CRETMARK", "machine h login u password <redacted>"),
    # hashes
    ("root:$6$S3CRETMARK$0123456789abcdefghijklmnopqrstuv:19000:0:99999:7:::",
     "root:$6$<redacted>:19000:0:99999:7:::"),
    ("tony:!$1$sAlTy123$S3CRETMARKZr0Kp2Xo9yQ1b:19000::", "tony:!$1$<redacted>:19000::"),
    ("u:$y$j9T$S3CRETMARK$abcdefghijklmnopqrstuvwxyz0123456789ABCDEF:1::",
     "u:$y$<redacted>:1::"),
    ("$2b$12$S3CRETMARKabcdefghijklmnopqrstuvwxyz0123456789ABCD", "$2b$<redacted>"),
    ("old:abJnggxhB/yW.:19000::", "old:<redacted>:19000::"),
    ("password_pbkdf2 root grub.pbkdf2.sha512.10000.ABCDEF.S3CRETMARK",
     "password_pbkdf2 root grub.pbkdf2.sha512.<redacted>"),
    # key material
    ("-----BEGIN RSA PRIVATE KEY-----\nS3CRETMARK\n-----END RSA PRIVATE KEY-----\ncert",
     "-----BEGIN RSA PRIVATE KEY-----<redacted>-----END RSA PRIVATE KEY-----\ncert"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt S3CRETMARK (read was cut here)",
     "-----BEGIN OPENSSH PRIVATE KEY-----<redacted>"),
]

KEPT = [
    "mysql -p mydb",                     # -p alone prompts; mydb is a database
    "psql --no-password db",             # a switch, not a value
    "cmd --password-file /etc/backup.pw",
    "cifs credentials=/etc/smb.cred,nosuid",  # a path to the secret, not the secret
    "PASS_MAX_DAYS=99999",
    "PASS_MIN_LEN 5",
    "PWD=/root OLDPWD=/",
    "bypass=1",
    "echo $1$2$3; awk '{print $5$6}'",
    "password --md5 <hash hidden>",
    "password_pbkdf2 for a superuser",
    "user root: sha512 password",
    "tripwire runs from /etc/cron.daily/tripwire-check",
    "root:x:0:0:root:/root:/bin/bash",
    "auth required pam_unix.so nullok",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC admin@host",
    "-----BEGIN CERTIFICATE-----",
    "/dev/sdb1 /home ext4 nosuid,nodev,usrquota 0 2",
]


@pytest.mark.parametrize("text, shown", REDACTED)
def test_secret_is_redacted_and_its_name_kept(text, shown):
    assert redact_text(text) == shown
    assert SECRET not in redact_text(text)


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept_as_it_is(text):
    assert redact_text(text) == text


def test_redacting_twice_changes_nothing_more():
    for _text, shown in REDACTED:
        assert redact_text(shown) == shown


def test_facts_are_redacted_in_values_keys_and_argument_vectors():
    facts = {
        "schedules": {"cron": [{"command": "mysqldump --password=S3CRETMARK db", "line": 1}]},
        "fstab": {"entries": [{"options": ("username=u", "password=S3CRETMARK")}]},
        "argv": ["mysql", "--password", "S3CRETMARK", "db"],
        "by_command": {"tripwire --local-passphrase S3CRETMARK": {"count": 1}},
        "numbers": [1, 2.5, None, True],
    }
    before = copy.deepcopy(facts)
    out = redact(facts)
    assert SECRET not in repr(out)
    assert out["schedules"]["cron"][0] == {"command": "mysqldump --password=<redacted> db", "line": 1}
    assert out["fstab"]["entries"][0]["options"] == ["username=u", "password=<redacted>"]
    assert out["argv"] == ["mysql", "--password", MARK, "db"]
    assert out["by_command"] == {"tripwire --local-passphrase <redacted>": {"count": 1}}
    assert out["numbers"] == [1, 2.5, None, True]
    assert facts == before


def test_keys_that_redact_alike_are_both_kept():
    out = redact({"password=a": 1, "password=b": 2})
    assert out == {"password=<redacted>": 1, "password=<redacted> (2)": 2}
