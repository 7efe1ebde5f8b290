"""Reading the target: whole regular files or a typed refusal, never a guess.

Every byte of the target is hostile: a FIFO must not hang the audit, a device must not be
read as an empty file, a file past the size limit must not be cut short, an unreadable file
or directory must not read as absent, and bytes that are not UTF-8 must survive unchanged.
"""

import json
import os
import pickle
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from support import RootBuilder, collect_fact, evidence_lines, run_check, shipped_parameters

from hostaudit.errors import FileTooLarge, NotRegularFile
from hostaudit.host import READ_LIMIT, LiveHost
from hostaudit.model import Status
from hostaudit.probes.accounts import ACCOUNT_DB_LIMIT
from hostaudit.registry import load_all

NOBODY = 65534
PASSWD = "root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash\n"
SHADOW = "root:$6$salt$hash:19000:0:99999:7:::\nadmin:$6$salt$hash:19000:0:99999:7:::\n"
REPO = Path(__file__).resolve().parent.parent


def bounded(func, seconds: float = 20.0):
    """Run ``func`` in a thread and return its value; fail (not hang) after ``seconds``."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = func()
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"still blocked after {seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def fifo_root(tmp_root):
    """A root whose FIFOs get a writer at teardown, so a reader stuck on one (a regression)
    is released instead of outliving the test."""
    fifos: list[Path] = []

    def make(rel: str) -> Path:
        path = tmp_root.path / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        fifos.append(path)
        return path

    tmp_root.fifo = make
    yield tmp_root
    for path in fifos:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader: nobody is blocked on it
            pass


def char_device(root: RootBuilder, rel: str, major: int = 1, minor: int = 5) -> Path:
    """A character device node in the tree (1,5 is /dev/zero), as a mounted disk image has."""
    path = root.path / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    return path


def padded(entries: str, template: str, size: int) -> str:
    """``entries`` followed by generated well-formed lines until the text exceeds ``size``."""
    lines, total, n = [entries], len(entries), 0
    while total <= size:
        line = template.format(n=n, uid=20000 + n)
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines)


# -- the primitive ------------------------------------------------------------------------------

def test_fifo_is_refused_without_blocking(fifo_root):
    fifo_root.fifo("/etc/passwd")
    with pytest.raises(NotRegularFile, match="is a FIFO") as err:
        bounded(lambda: fifo_root.host.read_text("/etc/passwd"))
    assert err.value.filename == "/etc/passwd"


def test_character_device_is_refused_not_read_as_empty(tmp_root):
    char_device(tmp_root, "/dev/zero")
    tmp_root.symlink("/etc/passwd", "/dev/zero")
    with pytest.raises(NotRegularFile, match="is a character device"):
        bounded(lambda: tmp_root.host.read_bytes("/etc/passwd"))


def test_live_dev_zero_is_refused():
    with pytest.raises(NotRegularFile) as err:
        bounded(lambda: LiveHost().read_bytes("/dev/zero"))
    assert (err.value.kind, err.value.filename) == ("character device", "/dev/zero")


def test_directory_is_refused_as_a_directory(tmp_root):
    tmp_root.mkdir("/etc/shells")
    with pytest.raises(NotRegularFile, match="is a directory"):
        tmp_root.host.read_text("/etc/shells")


def test_socket_is_refused_as_a_socket(tmp_path):
    root = RootBuilder(tmp_path / "root")
    root.mkdir("/run")
    path = root.path / "run/sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(NotRegularFile, match="is a socket"):
            root.host.read_text("/run/sock")


def test_file_over_the_limit_is_refused_not_truncated(tmp_root):
    tmp_root.write("/etc/big.conf", "x" * 101)
    with pytest.raises(FileTooLarge) as err:
        tmp_root.host.read_text("/etc/big.conf", limit=100)
    assert str(err.value) == "/etc/big.conf: too large (101 bytes, limit 100)"


def test_file_of_exactly_the_limit_is_read_whole(tmp_root):
    tmp_root.write("/etc/edge.conf", "y" * 100)
    assert tmp_root.host.read_text("/etc/edge.conf", limit=100) == "y" * 100


def test_proc_file_reports_size_zero_yet_its_limit_counts_bytes_read():
    live = LiveHost()
    assert os.stat("/proc/self/mountinfo").st_size == 0
    assert " / " in live.read_text("/proc/self/mountinfo")
    with pytest.raises(FileTooLarge, match=r"more than 10 bytes, limit 10"):
        live.read_text("/proc/self/mountinfo", limit=10)


def test_bytes_that_are_not_utf8_survive_the_text_read(tmp_root):
    raw = b"# caf\xe9 \xff\xfe\nTMOUT=600\n"
    (tmp_root.path / "etc").mkdir()
    (tmp_root.path / "etc/profile").write_bytes(raw)
    text = tmp_root.host.read_text("/etc/profile")
    assert text.encode("utf-8", "surrogateescape") == raw


def test_missing_file_is_still_file_not_found_naming_the_target_path(tmp_root):
    with pytest.raises(FileNotFoundError) as err:
        tmp_root.host.read_text("/etc/nothing")
    assert err.value.filename == "/etc/nothing"


# -- account databases: whole, or an error naming file and line ---------------------------------

def test_padded_passwd_with_unneeded_users_appended_fails_naming_them(tmp_root):
    text = padded(PASSWD, "u{n:06d}:x:{uid}:{uid}::/home/u{n:06d}:/usr/sbin/nologin\n", 5 << 20)
    appended = "games:x:12:100:games:/usr/games:/usr/sbin/nologin\nftp:x:14:50::/var/ftp:/sbin/nologin\n"
    tmp_root.write("/etc/passwd", text + appended)
    last = (text + appended).count("\n")
    result = run_check("accounts.removed-users", root=tmp_root)
    assert result.status is Status.FAIL
    assert evidence_lines(result) == [f"/etc/passwd:{last - 1}: user games present",
                                      f"/etc/passwd:{last}: user ftp present"]


def test_padded_shadow_with_an_empty_root_password_fails(tmp_root):
    text = padded(SHADOW, "u{n:06d}:$6$salt$hash:19000:0:99999:7:::\n", 5 << 20)
    tmp_root.write("/etc/shadow", text + "toor::19000:0:99999:7:::\n", mode=0o640)
    result = run_check("auth.password-hashes", root=tmp_root)
    assert result.status is Status.FAIL
    line = (text + "toor::").count("\n") + 1
    assert f"/etc/shadow:{line}: user toor: empty password" in evidence_lines(result)


def test_passwd_over_the_account_limit_is_an_error_with_its_size(tmp_root):
    path = tmp_root.write("/etc/passwd", PASSWD + "games:x:12:100::/usr/games:/bin/sh\n")
    os.truncate(path, ACCOUNT_DB_LIMIT + 1)  # sparse: the size alone is refused
    result = run_check("accounts.removed-users", root=tmp_root)
    assert result.status is Status.ERROR
    assert result.message == (f"cannot decide: cannot read /etc/passwd: too large "
                              f"({ACCOUNT_DB_LIMIT + 1} bytes, limit {ACCOUNT_DB_LIMIT})")


def test_fifo_passwd_is_an_error_not_a_hang(fifo_root):
    fifo_root.fifo("/etc/passwd")
    result = bounded(lambda: run_check("accounts.removed-users", root=fifo_root))
    assert result.status is Status.ERROR
    assert result.message == "cannot decide: cannot read /etc/passwd: is a FIFO, not a regular file"


def test_passwd_linked_to_dev_zero_is_an_error_not_no_users(tmp_root):
    char_device(tmp_root, "/dev/zero")
    tmp_root.symlink("/etc/passwd", "/dev/zero")
    result = bounded(lambda: run_check("accounts.removed-users", root=tmp_root))
    assert result.status is Status.ERROR
    assert result.message == "cannot decide: cannot read /etc/passwd: is a character device, not a regular file"


def test_passwd_of_nul_bytes_is_an_error_naming_the_line(tmp_root):
    (tmp_root.path / "etc").mkdir()
    (tmp_root.path / "etc/passwd").write_bytes(b"\0" * 4096)
    result = run_check("accounts.removed-users", root=tmp_root)
    assert result.status is Status.ERROR
    assert result.message == ("cannot decide: /etc/passwd: malformed entry at line 1; "
                              "its accounts cannot be known")


def test_binary_garbage_in_group_is_an_error_naming_lines(tmp_root):
    garbage = b"root:x:0:\n\x7fELF\x02\x01\x01\x00\x00\x00\n\xde\xad\xbe\xef:zz\n"
    (tmp_root.path / "etc").mkdir()
    (tmp_root.path / "etc/group").write_bytes(garbage)
    result = run_check("accounts.removed-groups", root=tmp_root)
    assert result.status is Status.ERROR
    assert result.message == "cannot decide: /etc/group: malformed entry at line 2, 3; its accounts cannot be known"


def test_malformed_passwd_line_makes_other_passwd_checks_error_too(tmp_root):
    tmp_root.write("/etc/passwd", PASSWD + "qmaild:x:notanumber:0::/var/qmail:/bin/false\n")
    result = run_check("ssh.sshd-user", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/passwd: malformed entry at line 3" in result.message


def test_shadow_line_with_nul_is_an_error_naming_the_line(tmp_root):
    (tmp_root.path / "etc").mkdir()
    (tmp_root.path / "etc/shadow").write_bytes(SHADOW.encode() + b"toor\0::19000::::::\n")
    os.chmod(tmp_root.path / "etc/shadow", 0o640)
    result = run_check("auth.password-hashes", root=tmp_root)
    assert result.status is Status.ERROR
    assert "/etc/shadow:3: malformed entry" in evidence_lines(result)


# -- configuration files: the default limit ------------------------------------------------------

def test_sshd_config_past_the_default_limit_is_an_error_not_a_pass(tmp_root):
    text = padded("Port 2112\n", "# padding {n:08d} ........................................\n", READ_LIMIT)
    tmp_root.write("/etc/ssh/sshd_config", text + "Port 22\n")
    result = run_check("ssh.port", root=tmp_root, params={"ssh_port": 2112})
    assert result.status is Status.ERROR
    size = len(text) + len("Port 22\n")
    assert result.message == (f"cannot decide: cannot read /etc/ssh/sshd_config: too large "
                              f"({size} bytes, limit {READ_LIMIT})")


# -- unreadable is never absent (run as nobody: root reads through chmod 000) --------------------

@pytest.fixture
def world_root(require_root):
    """A fixture root that user nobody can reach (pytest's tmp_path is root-only)."""
    base = tempfile.mkdtemp(prefix="hostaudit-reading-", dir="/tmp")
    os.chmod(base, 0o755)
    try:
        yield RootBuilder(Path(base) / "root")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def as_nobody(control_id: str, root: RootBuilder, params: dict, timeout: float = 60.0):
    """The Result of ``control_id`` on ``root``, evaluated in a forked child running as nobody."""
    load_all()
    shipped_parameters(control_id)  # the baseline is loaded before the child drops privileges
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            payload = pickle.dumps(run_check(control_id, root=root, params=params))
        except BaseException as exc:  # reported to the parent as text
            payload = pickle.dumps(f"child failed: {type(exc).__name__}: {exc}")
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(writer)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([reader], [], [], timeout)
            if not ready:
                pytest.fail(f"the child running as nobody did not finish within {timeout:g}s")
            chunk = os.read(reader, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(reader)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    value = pickle.loads(b"".join(chunks))
    if isinstance(value, str):
        pytest.fail(value)
    return value


def test_unreadable_sshd_drop_in_is_an_error_not_a_pass(world_root):
    world_root.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPort 2112\n")
    world_root.write("/etc/ssh/sshd_config.d/50-port.conf", "Port 22\n", mode=0o000)
    result = as_nobody("ssh.port", world_root, {"ssh_port": 2112})
    assert result.status is Status.ERROR
    assert result.message == ("cannot decide: cannot read /etc/ssh/sshd_config.d/50-port.conf: "
                              "Permission denied")


def test_unlistable_sshd_drop_in_directory_is_an_error_not_a_pass(world_root):
    world_root.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPort 2112\n")
    world_root.write("/etc/ssh/sshd_config.d/50-port.conf", "Port 22\n")
    os.chmod(world_root.path / "etc/ssh/sshd_config.d", 0o711)  # searchable, not listable
    result = as_nobody("ssh.port", world_root, {"ssh_port": 2112})
    assert result.status is Status.ERROR
    assert result.message == "cannot decide: cannot read /etc/ssh/sshd_config.d: Permission denied"


def test_unlistable_systemd_directory_is_an_error_not_disabled(world_root):
    world_root.write("/lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n")
    world_root.symlink("/etc/systemd/system/multi-user.target.wants/ssh.service",
                       "/lib/systemd/system/ssh.service")
    os.chmod(world_root.path / "etc/systemd/system", 0o711)
    result = as_nobody("ssh.enabled", world_root, {})
    assert result.status is Status.ERROR
    assert result.message == "cannot decide: cannot read /etc/systemd/system: Permission denied"


def test_unsearchable_sysctl_mask_is_an_error_not_unmasked(world_root):
    world_root.write("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.tcp_syncookies = 1\n")
    world_root.symlink("/etc/sysctl.d/50-default.conf", "/dev/null")
    os.chmod(world_root.path / "etc/sysctl.d", 0o644)  # listable, but no entry can be looked at
    result = as_nobody("sysctl.net.ipv4.tcp_syncookies", world_root, {})
    assert result.status is Status.ERROR
    assert result.message.startswith("cannot decide: cannot read /etc/sysctl.d/50-default.conf: Permission denied")


def test_same_drop_in_readable_fails_as_the_control_says(world_root):
    # The control test above is meaningful: readable, the same tree fails on port 22.
    world_root.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPort 2112\n")
    world_root.write("/etc/ssh/sshd_config.d/50-port.conf", "Port 22\n")
    result = as_nobody("ssh.port", world_root, {"ssh_port": 2112})
    assert result.status is Status.FAIL


# -- names that are not UTF-8 ------------------------------------------------------------------

def test_profile_d_name_that_is_not_utf8_is_read_and_named_exactly(tmp_root):
    raw_name = b"\xff\xfetmout.sh"
    (tmp_root.path / "etc/profile.d").mkdir(parents=True)
    (tmp_root.path / "etc/profile.d").joinpath(os.fsdecode(raw_name)).write_text("TMOUT=900\nexport TMOUT\n")
    result = run_check("os.shell-timeout", root=tmp_root, params={"tmout": 1800})
    assert result.status is Status.PASS
    assert os.fsencode(result.evidence[0].where) == b"/etc/profile.d/" + raw_name


def test_wants_directory_and_link_names_that_are_not_utf8_are_kept_exactly(tmp_root):
    tmp_root.write("/lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n")
    wants = os.fsdecode(b"/etc/systemd/system/\xe9t\xe9.wants")
    tmp_root.symlink(f"{wants}/ssh.service", "/lib/systemd/system/ssh.service")
    tmp_root.symlink(os.fsdecode(b"/etc/systemd/system/multi-user.target.wants/\xff.service"), "/nowhere")
    result = run_check("ssh.enabled", root=tmp_root)
    assert result.status is Status.PASS
    assert os.fsencode(result.evidence[0].where) == b"/etc/systemd/system/\xe9t\xe9.wants/ssh.service"
    units = {os.fsencode(s["unit"]) for s in collect_fact("boot_services", tmp_root)["systemd"]}
    assert units == {b"ssh.service", b"\xff.service"}


# -- the whole scan on a hostile tree -------------------------------------------------------------

def test_scan_of_a_hostile_tree_reports_and_does_not_hang(fifo_root, tmp_path):
    fifo_root.fifo("/etc/passwd")
    char_device(fifo_root, "/dev/zero")
    fifo_root.symlink("/etc/shadow", "/dev/zero")
    fifo_root.fifo("/etc/ssh/sshd_config")
    fifo_root.write("/etc/group", "root:x:0:\ngames:x:20:\n")
    fifo_root.mkdir("/etc/login.defs")
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "hostaudit", "scan", "--root", str(fifo_root.path), "--format", "json",
         "-o", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO, stdin=subprocess.DEVNULL)
    assert done.returncode in (0, 1), done.stderr
    results = {r["id"]: r for r in json.loads((out / "report.json").read_text())["results"]}
    assert (results["accounts.removed-users"]["status"], results["accounts.removed-users"]["message"]) == (
        "error", "cannot decide: cannot read /etc/passwd: is a FIFO, not a regular file")
    assert results["auth.password-hashes"]["status"] == "error"
    assert "/etc/shadow: is a character device" in results["auth.password-hashes"]["message"]
    assert results["accounts.removed-groups"]["status"] == "fail"
    assert results["ssh.port"]["status"] == "error"


def test_fifo_where_passwd_should_be_is_an_attribute_error_not_absent(fifo_root):
    fifo_root.fifo("/etc/passwd")
    result = bounded(lambda: run_check("files.immutable.passwd", root=fifo_root))
    assert result.status is Status.ERROR
    assert result.message == "cannot read the attributes of /etc/passwd: is a FIFO, not a regular file"


def test_fifo_in_profile_d_is_an_error_not_skipped(fifo_root):
    fifo_root.write("/etc/profile", "TMOUT=900\nexport TMOUT\n")
    fifo_root.fifo("/etc/profile.d/zz-late.sh")
    result = bounded(lambda: run_check("os.shell-timeout", root=fifo_root, params={"tmout": 1800}))
    assert result.status is Status.ERROR
    assert result.message == "cannot decide: cannot read /etc/profile.d/zz-late.sh: is a FIFO, not a regular file"


def test_fifo_as_qmail_databytes_is_an_error_not_an_empty_limit(fifo_root):
    fifo_root.fifo("/var/qmail/control/databytes")
    result = bounded(lambda: run_check("mail.databytes", root=fifo_root))
    assert result.status is Status.ERROR
    assert result.message == ("cannot decide: cannot read /var/qmail/control/databytes: "
                              "is a FIFO, not a regular file")
