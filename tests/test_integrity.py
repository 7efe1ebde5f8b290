import json
import shutil
import subprocess

import pytest
from schedulers import boots_systemd, boots_sysvinit, cron_enabled
from support import evidence_lines, run_check

from hostaudit.model import Status

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


def test_cron_daily_script_that_is_not_executable_does_not_count(tmp_root):
    # run-parts runs only executable files.
    cron_enabled(tmp_root, "tripwire")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o644)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result)[0] == ("/etc/cron.daily/tripwire: daily cron script [nothing runs it: cron "
                                         "skips it: not executable (run-parts runs only executables)]")


def test_cron_daily_script_with_a_dot_in_its_name_does_not_count_under_debian_cron(tmp_root):
    # Debian's /etc/crontab runs `run-parts --report /etc/cron.daily`: names outside [A-Za-z0-9_-] are skipped.
    cron_enabled(tmp_root, "tripwire")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire.sh", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "[nothing runs it: cron skips it: the name tripwire.sh is not made of letters, digits, " \
           "_ and - only (run-parts skips it)]" in evidence_lines(result)[0]


def test_cron_daily_script_with_a_dot_is_skipped_by_debian_anacron_too(tmp_root):
    # Debian's anacrontab runs the same run-parts (debianutils): it skips tripwire.sh as cron does.
    cron_enabled(tmp_root, "anacron", "debianutils", "tripwire")
    tmp_root.write("/lib/systemd/system/anacron.timer", "[Timer]\nOnCalendar=hourly\n")
    tmp_root.symlink("/etc/systemd/system/timers.target.wants/anacron.timer", "/lib/systemd/system/anacron.timer")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire.sh", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "anacron skips it: the name tripwire.sh is not made of letters" in evidence_lines(result)[0]


def test_cron_d_file_with_a_dot_in_its_name_does_not_count_under_debian_cron(tmp_root):
    cron_enabled(tmp_root, "tripwire")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.d/tripwire.cron", "30 3 * * * root /usr/sbin/tripwire --check\n")
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "cron skips it: the name tripwire.cron is not made of letters, digits, _ and - only" \
        in evidence_lines(result)[0]


def test_cron_d_file_writable_by_others_does_not_count(tmp_root):
    # cron(8) on Debian: /etc/crontab and /etc/cron.d files must not be group- or other-writable.
    cron_enabled(tmp_root, "tripwire")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.d/tripwire", "30 3 * * * root /usr/sbin/tripwire --check\n", mode=0o666)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "cron skips it: mode 0666 is group/other-writable" in evidence_lines(result)[0]


def test_cron_d_file_not_owned_by_root_does_not_count(tmp_root):
    cron_enabled(tmp_root, "tripwire")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.d/tripwire", "30 3 * * * root /usr/sbin/tripwire --check\n", uid=1000)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.FAIL
    assert "cron skips it: owned by uid 1000, not root" in evidence_lines(result)[0]


def test_cron_d_job_owned_by_root_and_closed_passes(tmp_root):
    cron_enabled(tmp_root, "tripwire")
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.d/tripwire-check", "30 3 * * * root /usr/sbin/tripwire --check\n", mode=0o644)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.PASS
    assert evidence_lines(result)[0] == \
        "/etc/cron.d/tripwire-check:1: 30 3 * * * /usr/sbin/tripwire --check [run by cron]"


def test_image_without_an_init_cannot_tell_whether_cron_runs_and_errs(tmp_root):
    tmp_root.installed("cron", "tripwire")
    tmp_root.write("/usr/sbin/cron", "\x7fELF", mode=0o755)
    _initialised(tmp_root)
    tmp_root.write("/etc/cron.daily/tripwire", "#!/bin/sh\n/usr/sbin/tripwire --check\n", mode=0o755)
    result = run_check("integrity.tripwire-scheduled", root=tmp_root)
    assert result.status is Status.ERROR
    assert "what starts the container" in evidence_lines(result)[0]


# integrity.tripwire-covers-qmail (real policies compiled and signed by twadmin)

# Throwaway passphrases of keys made for these tests only; no report may ever carry them.
SITE_PASSPHRASE = "hostaudit-test-site-Xq7pass"
OTHER_PASSPHRASE = "hostaudit-test-other-Zr4pass"
COVERING_POLICY = """\
SEC_CONFIG = $(IgnoreNone)-SHa ;
(rulename = "Critical Configuration Files", severity = 100)
{
  /etc/passwd        -> $(SEC_CONFIG) ;
  /var/qmail/bin     -> $(SEC_CONFIG) (recurse=1);
  /var/qmail/control -> $(SEC_CONFIG) (recurse=1);
}
"""
# Debian's stock policy: /var at recurse=0 and nothing for /var/qmail.
DEBIAN_POLICY = "SEC_INVARIANT = +tpug ;\n/ -> $(SEC_INVARIANT) (recurse = 0) ;\n/var -> $(SEC_INVARIANT) (recurse = 0) ;\n"


def _twadmin(*argv):
    done = subprocess.run(["twadmin", *argv], capture_output=True, text=True, timeout=60)
    # twadmin can print "### Error" and still exit 0 (a key mismatch in --create-cfgfile).
    assert done.returncode == 0 and "### Error" not in done.stderr, done.stderr
    return done


class _Signer:
    """Throwaway site keys, and the config and policies they sign, each made once per module
    (twadmin needs seconds per signature)."""

    PASSPHRASES = {"site.key": SITE_PASSPHRASE, "other.key": OTHER_PASSPHRASE}

    def __init__(self, workdir):
        self.dir = workdir
        self.made: dict = {}
        for key, passphrase in self.PASSPHRASES.items():
            _twadmin("--generate-keys", "-S", str(workdir / key), "-Q", passphrase, "-K", "1024", "-s")

    def signed(self, kind: str, text: str, key: str):
        """The path of ``text`` signed as a config ("cfg") or policy ("pol") with ``key``."""
        if (kind, text, key) not in self.made:
            n = len(self.made)
            source, out = self.dir / f"{n}.txt", self.dir / f"{n}.{kind}"
            source.write_text(text)
            args = ["-S", str(self.dir / key), "-Q", self.PASSPHRASES[key], str(source)]
            if kind == "cfg":
                _twadmin("--create-cfgfile", "-c", str(out), *args)
            else:
                _twadmin("--create-polfile", "-c", str(self.signed("cfg", self._cfg(key), key)), "-p", str(out), *args)
            source.unlink()
            self.made[(kind, text, key)] = out
        return self.made[(kind, text, key)]

    def _cfg(self, key: str) -> str:
        # twadmin refuses to sign a config naming another site key than the signing one.
        return ("ROOT =/usr/sbin\nPOLFILE =/etc/tripwire/tw.pol\nDBFILE =/var/lib/tripwire/x.twd\n"
                f"REPORTFILE =/var/lib/tripwire/r.twr\nSITEKEYFILE ={self.dir / key}\n"
                "LOCALKEYFILE =/etc/tripwire/l.key\n")

    def image(self, root, policy: str, *, key: str = "site.key"):
        """An image with tripwire installed, ``policy`` compiled and signed with ``key``, and
        the site key (always site.key) next to them."""
        root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
        etc = root.mkdir("/etc/tripwire")
        shutil.copy(self.dir / "site.key", etc / "site.key")
        shutil.copy(self.signed("cfg", self._cfg(key), key), etc / "tw.cfg")
        shutil.copy(self.signed("pol", policy, key), etc / "tw.pol")
        return root


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    if not shutil.which("twadmin"):
        pytest.skip("twadmin (tripwire) is not installed")
    return _Signer(tmp_path_factory.mktemp("twkeys"))


def test_compiled_policy_with_the_documents_rules_passes(tmp_root, signer):
    signer.image(tmp_root, COVERING_POLICY)
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.PASS, result.message
    assert result.message == "tripwire's compiled policy watches the contents of /var/qmail/bin, /var/qmail/control"
    assert evidence_lines(result)[0] == ("twadmin --print-polfile -c /etc/tripwire/tw.cfg -p /etc/tripwire/tw.pol "
                                         "-S /etc/tripwire/site.key:5: /var/qmail/bin: /var/qmail/bin -> "
                                         "$(SEC_CONFIG) (recurse=1): checks bcdgimnprstuCM")


def test_compiled_debian_stock_policy_fails_naming_the_var_rule(tmp_root, signer):
    signer.image(tmp_root, DEBIAN_POLICY)
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/var/qmail/bin: the rule for /var has recurse=0" in result.message
    assert evidence_lines(result)[0].endswith(":3: /var/qmail/bin: /var -> $(SEC_INVARIANT) (recurse=0): checks gptu")


def _plaintext_only(root, policy):
    root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    root.write("/etc/tripwire/twpol.txt", policy)


def test_qmail_rules_without_a_content_hash_fail(tmp_root):
    # The document's lines on Debian, where SEC_CONFIG is $(Dynamic).
    _plaintext_only(tmp_root, COVERING_POLICY.replace("$(IgnoreNone)-SHa", "$(Dynamic)"))
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.FAIL
    assert "checks no content hash" in result.message


def test_stop_point_on_a_qmail_binary_fails(tmp_root):
    _plaintext_only(tmp_root, COVERING_POLICY + "!/var/qmail/bin/qmail-smtpd ;\n")
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.FAIL
    assert "/var/qmail/bin has exceptions: !/var/qmail/bin/qmail-smtpd" in result.message


def test_signed_policy_without_the_site_key_is_an_error(tmp_root, signer):
    signer.image(tmp_root, COVERING_POLICY)
    (tmp_root.path / "etc/tripwire/site.key").unlink()
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.ERROR
    assert "File could not be opened" in result.message and "site.key" in result.message


def test_policy_signed_by_another_key_is_an_error(tmp_root, signer):
    signer.image(tmp_root, COVERING_POLICY, key="other.key")
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.ERROR
    assert "could not be decrypted" in result.message


def test_garbage_tw_pol_is_an_error_even_with_a_covering_plaintext(tmp_root, signer):
    signer.image(tmp_root, COVERING_POLICY)
    tmp_root.write("/etc/tripwire/tw.pol", "not a policy\x00\x01")
    tmp_root.write("/etc/tripwire/twpol.txt", COVERING_POLICY)
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.ERROR
    assert "twpol.txt is not a substitute" in result.message


def test_plaintext_policy_is_read_when_nothing_was_compiled(tmp_root):
    tmp_root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    tmp_root.write("/etc/tripwire/twpol.txt", COVERING_POLICY)
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.PASS
    assert "plain-text policy (no compiled tw.pol)" in result.message
    assert evidence_lines(result)[0].startswith("/etc/tripwire/twpol.txt:5: /var/qmail/bin")


def test_documents_rule_without_arrow_in_plaintext_is_an_error_naming_the_line(tmp_root):
    tmp_root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    tmp_root.write("/etc/tripwire/twpol.txt", "SEC_CONFIG = +pM;\n/var/qmail/bin $(SEC_CONFIG) (recurse=1);\n")
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.ERROR
    assert "line 2: expected 'object -> mask;'" in result.message


def test_installed_tripwire_without_any_policy_fails(tmp_root):
    tmp_root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.FAIL
    assert result.message == "tripwire has no policy at all"


def test_covers_qmail_is_not_applicable_without_tripwire(tmp_root):
    tmp_root.write("/etc/tripwire/twpol.txt", COVERING_POLICY)
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.NOT_APPLICABLE


def test_rule_for_another_host_makes_the_verdict_an_error_when_the_name_is_unknown(tmp_root):
    tmp_root.write("/usr/sbin/tripwire", "\x7fELF", mode=0o755)
    tmp_root.write("/etc/tripwire/twpol.txt", "@@ifhost rudolph\n" + COVERING_POLICY + "@@endif\n")
    assert run_check("integrity.tripwire-covers-qmail", root=tmp_root).status is Status.ERROR
    tmp_root.write("/etc/hostname", "rudolph\n")
    assert run_check("integrity.tripwire-covers-qmail", root=tmp_root).status is Status.PASS
    tmp_root.write("/etc/hostname", "comet\n")
    assert run_check("integrity.tripwire-covers-qmail", root=tmp_root).status is Status.FAIL


def test_the_images_own_twadmin_never_runs(tmp_root, signer, tmp_path):
    signer.image(tmp_root, COVERING_POLICY)
    marker = tmp_path / "image-program-ran"
    for where in ("/usr/sbin/twadmin", "/usr/bin/twadmin", "/sbin/twadmin", "/bin/twadmin"):
        tmp_root.write(where, f"#!/bin/sh\ntouch {marker}\n", mode=0o755)
    assert run_check("integrity.tripwire-covers-qmail", root=tmp_root).status is Status.PASS
    assert not marker.exists()


def test_reports_never_carry_a_tripwire_passphrase(tmp_root, signer, tmp_path):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from hostaudit.cli import main

    signer.image(tmp_root, COVERING_POLICY)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["scan", "--root", str(tmp_root.path), "--only", "integrity.", "-o", str(tmp_path),
                     "--no-color"])
    assert code in (0, 1)
    report = (tmp_path / "report.json").read_text()
    covers = next(r for r in json.loads(report)["results"] if r["id"] == "integrity.tripwire-covers-qmail")
    assert covers["status"] == "pass"
    for text in (out.getvalue(), err.getvalue(), report, (tmp_path / "report.html").read_text()):
        for secret in (SITE_PASSPHRASE, OTHER_PASSPHRASE, "Xq7pass", "Zr4pass"):
            assert secret not in text


def test_live_probe_prints_this_hosts_compiled_policy(require_root):
    import os

    from hostaudit.facts import collect
    from hostaudit.host import LiveHost
    from hostaudit.registry import load_all

    if not (shutil.which("twadmin") and os.path.isfile("/etc/tripwire/tw.pol")):
        pytest.skip("this host has no compiled tripwire policy")
    load_all()
    policy = collect(LiveHost(), ["tripwire_policy"], mode="live")["tripwire_policy"]
    assert policy["source"] == "twadmin --print-polfile" and policy["compiled"] is True
    assert policy["error"] is None and policy["rules"]


def test_fifo_in_place_of_the_site_key_is_an_error_without_waiting(tmp_root, signer):
    import os
    import time

    signer.image(tmp_root, COVERING_POLICY)
    (tmp_root.path / "etc/tripwire/site.key").unlink()
    os.mkfifo(tmp_root.path / "etc/tripwire/site.key")
    started = time.monotonic()
    result = run_check("integrity.tripwire-covers-qmail", root=tmp_root)
    assert result.status is Status.ERROR and "site.key is not a regular file" in result.message
    assert time.monotonic() - started < 10
