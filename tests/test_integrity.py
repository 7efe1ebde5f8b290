from hostaudit.model import Status
from schedulers import boots_sysvinit, boots_systemd, cron_enabled
from support import evidence_lines, run_check

DPKG_TRIPWIRE = "Package: tripwire\nStatus: install ok installed\nVersion: 2.4.3.7-4+b15\n\n"


def _initialised(root):
    root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    for name in ("tw.cfg", "tw.pol", "site.key", "rudolph-local.key"):
        root.write(f"/etc/tripwire/{name}", "signed", mode=0o600)
    root.write("/var/lib/tripwire/rudolph.twd", "db")


# integrity.tripwire-installed

def test_tripwire_binary_and_package_pass_with_both_as_evidence(tmp_root):
    tmp_root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    tmp_root.write("/var/lib/dpkg/status", DPKG_TRIPWIRE)
    result = run_check("integrity.tripwire-installed", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == ["/usr/sbin/tripwire: present", "/var/lib/dpkg/status:1: package tripwire 2.4.3.7-4+b15"]


def test_tripwire_binary_passes_even_when_package_database_is_unreadable(tmp_root):
    tmp_root.write("/usr/local/sbin/tripwire", "\x7fELF", mode=0o755)
    result = run_check("integrity.tripwire-installed", root=tmp_root)
    assert result.status is Status.PASS
    assert "no package database found" in evidence_lines(result)[1]


def test_tripwire_package_without_binary_fails(tmp_root):
    tmp_root.write("/var/lib/dpkg/status", DPKG_TRIPWIRE)
    result = run_check("integrity.tripwire-installed", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/usr/sbin/tripwire: absent" in evidence_lines(result)


# integrity.tripwire-initialised

def test_signed_files_keys_and_database_pass(tmp_root):
    _initialised(tmp_root)
    result = run_check("integrity.tripwire-initialised", root=tmp_root)
    assert result.status is Status.PASS
    assert "/var/lib/tripwire/rudolph.twd: present" in evidence_lines(result)


def test_missing_database_and_local_key_are_listed(tmp_root):
    _initialised(tmp_root)
    (tmp_root.path / "var/lib/tripwire/rudolph.twd").unlink()
    (tmp_root.path / "etc/tripwire/rudolph-local.key").unlink()
    result = run_check("integrity.tripwire-initialised", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "tripwire not initialised: missing /etc/tripwire/*-local.key, /var/lib/tripwire/*.twd"


# integrity.tripwire-plaintext-removed

def test_plaintext_files_removed_pass(tmp_root):
    _initialised(tmp_root)
    result = run_check("integrity.tripwire-plaintext-removed", root=tmp_root)
    assert result.status is Status.PASS


def test_debian_leftover_twpol_and_twcfg_fail_naming_them(tmp_root):
    _initialised(tmp_root)
    tmp_root.write("/etc/tripwire/twpol.txt", "policy")
    tmp_root.write("/etc/tripwire/twcfg.txt", "config")
    result = run_check("integrity.tripwire-plaintext-removed", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == ["/etc/tripwire/twpol.txt: present", "/etc/tripwire/twcfg.txt: present"]


# integrity.tripwire-scheduled

def test_debian_cron_daily_script_passes_even_if_it_exits_early(tmp_root):
    cron_enabled(tmp_root, "tripwire")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire", "#!/bin/sh -e\ntripwire=/usr/sbin/tripwire\n[ -x $tripwire ] || exit 0\n"
                   "$tripwire --check --quiet --email-report\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result) == [
        "/etc/cron.daily/tripwire: daily cron script [run by cron]",
        "/sbin/init: init: /sbin/init -> /lib/systemd/systemd (timers run); cron: cron (package cron 1.0 "
        "(/var/lib/dpkg/status:1), enabled at boot (systemd: /etc/systemd/system/multi-user.target.wants/cron.service))",
        "/var/lib/tripwire/rudolph.twd: tripwire database"]


def test_redhat_tripwire_check_script_passes(tmp_root):
    cron_enabled(tmp_root, init="sysvinit")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire-check", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    assert run_check("integrity.tripwire-scheduled", root=tmp_root).status is Status.PASS


def test_crontab_line_running_tripwire_check_passes(tmp_root):
    cron_enabled(tmp_root)
    _initialised(tmp_root)
    tmp_root.write("/etc/crontab", "SHELL=/bin/sh\n0 3 * * * root /usr/sbin/tripwire -m c | mail root\n")
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == ("/etc/crontab:2: 0 3 * * * /usr/sbin/tripwire -m c | mail root "
                                         "[run by cron]")


def test_enabled_systemd_timer_running_tripwire_passes(tmp_root):
    boots_systemd(tmp_root)
    _initialised(tmp_root)
    tmp_root.write("/etc/systemd/system/tripwire-check.timer", "[Timer]\nOnCalendar=daily\n")
    tmp_root.write("/etc/systemd/system/tripwire-check.service", "[Service]\nExecStart=/usr/sbin/tripwire --check\n")
    tmp_root.symlink("/etc/systemd/system/timers.target.wants/tripwire-check.timer", "../tripwire-check.timer")
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == ("/etc/systemd/system/tripwire-check.service:2: tripwire-check.timer (daily): "
                                         "/usr/sbin/tripwire --check [run by systemd]")


def test_timer_not_enabled_fails(tmp_root):
    tmp_root.write("/etc/systemd/system/tripwire-check.timer", "[Timer]\nOnCalendar=daily\n")
    tmp_root.write("/etc/systemd/system/tripwire-check.service", "[Service]\nExecStart=/usr/sbin/tripwire --check\n")
    assert run_check("integrity.tripwire-scheduled", root=tmp_root).status is Status.FAIL


def test_tripwire_init_in_cron_is_not_a_check_and_fails(tmp_root):
    tmp_root.write("/etc/cron.d/tw", "0 3 * * * root /usr/sbin/tripwire --init\n")
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/etc/cron.daily: no tripwire* script" in evidence_lines(result)


def test_plaintext_removed_is_not_applicable_without_tripwire(tmp_root):
    tmp_root.installed("bash")
    result = run_check("integrity.tripwire-plaintext-removed", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE
    assert "not installed" in result.message


def test_cron_daily_script_fails_when_no_cron_daemon_is_installed(tmp_root):
    boots_sysvinit(tmp_root)
    _initialised(tmp_root)
    tmp_root.installed("tripwire")
    tmp_root.write("/etc/cron.daily/tripwire", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "a tripwire check is scheduled, but nothing runs it"
    assert evidence_lines(result)[0] == ("/etc/cron.daily/tripwire: daily cron script [nothing runs it: no cron "
                                         "daemon installed (cron, cronie, systemd-cron, anacron)]")


def test_scheduled_tripwire_without_a_database_fails(tmp_root):
    cron_enabled(tmp_root, "tripwire")
    tmp_root.write("/etc/cron.daily/tripwire", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "no database" in result.message
    assert "/var/lib/tripwire/*.twd: no tripwire database" in evidence_lines(result)


def test_cron_installed_but_not_enabled_at_boot_fails(tmp_root):
    cron_enabled(tmp_root, "tripwire", init="sysvinit")
    (tmp_root.path / "etc/rc2.d/S01cron").unlink()
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "[nothing runs it: cron: installed but not enabled in the rc?.d links]" in evidence_lines(result)[0]


def test_enabled_timer_fails_when_the_init_is_not_systemd(tmp_root):
    boots_sysvinit(tmp_root)
    _initialised(tmp_root)
    tmp_root.write("/etc/systemd/system/tripwire-check.timer", "[Timer]\nOnCalendar=daily\n")
    tmp_root.write("/etc/systemd/system/tripwire-check.service", "[Service]\nExecStart=/usr/sbin/tripwire --check\n")
    tmp_root.symlink("/etc/systemd/system/timers.target.wants/tripwire-check.timer", "../tripwire-check.timer")
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "[nothing runs it: systemd timers: the init is not systemd (/sbin/init)]" in evidence_lines(result)[0]


def test_image_without_an_init_cannot_tell_whether_cron_runs_and_errs(tmp_root):
    tmp_root.installed("cron", "tripwire")
    tmp_root.write("/usr/sbin/cron", "\x7fELF", mode=0o755)
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.ERROR
    assert "what starts the container" in evidence_lines(result)[0]
