"""contrib/ansible: a real ansible-playbook run over SSH hosts in network namespaces.

Three hosts differ by the root tree they collect from (hardened; drifted: databytes raised
and an extra account; a default install), a fourth fails its collection, and a fifth is an
address in the lab where nothing answers. sshd and Python are the machine's own; each host
runs its own sshd in its own namespace, reached from a controller namespace where
ansible-playbook runs (tests/fleet_lab.py).
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from fleet_lab import FleetLab, host_address, tools_missing
from support import RootBuilder

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = REPO / "contrib" / "ansible" / "fleet-audit.yml"
BIN = Path(sys.executable).parent
UNREACHABLE = "192.0.2.99"  # in the lab's network, and nothing there

# About two minutes (four venvs installed over SSH on a shared machine): slow.
pytestmark = [pytest.mark.root, pytest.mark.slow]

PASSWD = ("root:x:0:0:root:/root:/bin/bash\nalias:x:200:200::/var/qmail/alias:/bin/false\n"
          "qmaild:x:201:200::/var/qmail:/bin/false\ntony:x:1000:10::/home/tony:/bin/bash\n")
GROUP = "root:x:0:\nwheel:x:10:tony\nqmail:x:200:\nnofiles:x:201:\n"


def _tree(path: Path, *, databytes: str | None, extra: str = "") -> Path:
    root = RootBuilder(path)
    root.write("/etc/passwd", PASSWD + extra)
    root.write("/etc/group", GROUP)
    if databytes is not None:
        root.write("/var/qmail/control/databytes", f"{databytes}\n")
    return path


def _default_tree(path: Path) -> Path:
    root = RootBuilder(path)
    root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ngames:x:5:60:games:/usr/games:/usr/sbin/nologin\n"
               "news:x:9:9:news:/var/spool/news:/usr/sbin/nologin\n")
    root.write("/etc/group", "root:x:0:\ngames:x:60:\nnews:x:9:\n")
    return path


def _wheelhouse(path: Path) -> Path:
    """The site's mirror: the package's dependencies (and the build backend) as wheels, so the
    hosts install with --no-index (the lab has no route to an index)."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    build = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(path), *deps, *build],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return path


HOSTS = ("hardened", "drifted", "default", "broken")


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory, request):
    """One playbook run over the lab; yields what the tests read. Cleans up on failure too."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, sshd)")
    if tools_missing() or not (BIN / "ansible-playbook").exists():
        pytest.skip(f"missing: {tools_missing() or ['ansible-playbook (pip install .[test])']}")
    work = tmp_path_factory.mktemp("fleet")
    os.chmod(work, 0o755)
    trees = {
        "hardened": _tree(work / "trees/hardened", databytes="5000000"),
        "drifted": _tree(work / "trees/drifted", databytes="50000000",
                         extra="games:x:5:60:games:/usr/games:/usr/sbin/nologin\n"),
        "default": _default_tree(work / "trees/default"),
    }
    house = _wheelhouse(work / "wheelhouse")
    lab = FleetLab(work, count=3)
    request.addfinalizer(lab.close)
    addresses = {"hardened": host_address(0), "drifted": host_address(1), "default": host_address(2),
                 "broken": host_address(0), "lost": UNREACHABLE}
    hosts = {}
    for name, address in addresses.items():
        hosts[name] = {"ansible_host": address, "hostaudit_venv": str(work / "targets" / name / "venv")}
        if name in trees:
            hosts[name]["hostaudit_collect_args"] = ["--root", str(trees[name])]
    hosts["broken"]["hostaudit_collect_args"] = ["--root", str(work / "trees/missing")]
    hosts["default"]["hostaudit_cleanup"] = True
    hosts["default"]["hostaudit_evaluate_per_host"] = False  # the fleet step evaluates its bundle
    inventory = {"all": {"hosts": hosts, "vars": {
        "ansible_user": "root",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_private_key_file": str(lab.client_key),
        "hostaudit_controller_bin": str(BIN / "hostaudit"),
        "hostaudit_fetch_dir": str(work / "fetched"),
        "hostaudit_report_dir": str(work / "fleet"),
        "hostaudit_state_dir": str(work / "state"),
        "hostaudit_pip_args": ["--no-index", "--find-links", str(house)],
        "hostaudit_wheel_build_args": ["--no-index", "--find-links", str(house)],
    }}}
    (work / "inventory.json").write_text(json.dumps(inventory))
    (work / "fleet").mkdir()
    env = {
        "PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(work), "LANG": "C.UTF-8",
        "ANSIBLE_CONFIG": str(work / "ansible.cfg"), "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"), "ANSIBLE_HOST_KEY_CHECKING": "False",
        # No ControlPersist master outlives the run; a dead address fails within 5 s.
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5",
        "ANSIBLE_TIMEOUT": "5", "ANSIBLE_PIPELINING": "True", "ANSIBLE_NOCOLOR": "1",
        # HOSTAUDIT_TEST_FORKS=1 measures the same run without parallel hosts (README figures).
        "ANSIBLE_FORKS": os.environ.get("HOSTAUDIT_TEST_FORKS", "5"), "ANSIBLE_RETRY_FILES_ENABLED": "False",
    }
    (work / "ansible.cfg").write_text("[defaults]\n")

    def play(*extra: str, timeout: float = 600):
        done, seconds = lab.run_in_controller([str(BIN / "ansible-playbook"), "-i", str(work / "inventory.json"),
                                               str(PLAYBOOK), *extra], env=env, timeout=timeout, cwd=str(work))
        with open(work / "ansible.log", "a") as log:  # kept with the test's temp dir, for a failure
            log.write(f"$ ansible-playbook {' '.join(extra)}  ({seconds:.1f} s, rc {done.returncode})\n"
                      f"{done.stdout}\n{done.stderr}\n")
        return done, seconds

    done, seconds = play()
    yield {"work": work, "trees": trees, "done": done, "seconds": seconds, "play": play,
           }


def _recap(output: str) -> dict[str, dict[str, int]]:
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M)}


def _fleet(run) -> dict:
    return json.loads((run["work"] / "fleet" / "fleet.json").read_text())


def test_the_playbook_runs_and_no_host_fails_the_play(fleet_run):
    done = fleet_run["done"]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    recap = _recap(done.stdout)
    assert recap["lost"]["ignored"] == 1 and recap["broken"]["rescued"] == 1  # unreachable, ignored
    assert all(recap[h]["failed"] == 0 for h in recap)


def test_the_fleet_report_shows_the_three_hosts_as_they_differ(fleet_run):
    fleet = _fleet(fleet_run)
    assert [h["name"] for h in fleet["hosts"]] == ["default", "drifted", "hardened"]
    statuses = {}
    for name in ("hardened", "drifted"):
        report = json.loads((fleet_run["work"] / "fetched" / name / "report.json").read_text())
        statuses[name] = {r["id"]: r["status"] for r in report["results"]}
    moved = {cid for cid in statuses["hardened"] if statuses["hardened"][cid] != statuses["drifted"][cid]}
    assert moved == {"mail.databytes", "accounts.removed-users"}
    assert (statuses["hardened"]["mail.databytes"], statuses["drifted"]["mail.databytes"]) == ("pass", "fail")
    failing = sorted(h["name"] for h in fleet["hosts"] if "accounts.removed-users" in h["failed"])
    assert failing == ["default", "drifted"]
    scores = {h["name"]: h["score"] for h in fleet["hosts"]}
    assert scores["hardened"] > scores["drifted"] > scores["default"]


def test_the_unreachable_and_the_failed_host_are_listed_as_such(fleet_run):
    not_audited = {e["name"]: e for e in _fleet(fleet_run)["not_audited"]}
    assert set(not_audited) == {"lost", "broken"}
    assert not_audited["lost"]["state"] == "unreachable" and "ssh" in not_audited["lost"]["reason"].lower()
    assert not_audited["broken"]["state"] == "failed"
    assert "root directory does not exist" in not_audited["broken"]["reason"]


def test_each_host_report_is_linked_and_the_page_names_the_unreachable_host(fleet_run):
    page = (fleet_run["work"] / "fleet" / "fleet.html").read_text()
    assert 'href="../fetched/drifted/report.html"' in page
    assert (fleet_run["work"] / "fetched" / "drifted" / "report.html").is_file()
    # Not evaluated per host: the fleet step evaluated its bundle and wrote its reports.
    assert 'href="hosts/default/report.html"' in page
    assert (fleet_run["work"] / "fleet" / "hosts" / "default" / "report.html").is_file()
    assert '<td class="name">lost</td><td class="poor">unreachable</td>' in page


def test_evaluate_of_the_fetched_bundle_equals_scan_of_the_same_tree(fleet_run, tmp_path):
    done = subprocess.run([str(BIN / "hostaudit"), "scan", "--root", str(fleet_run["trees"]["drifted"]),
                           "--format", "json", "-o", str(tmp_path), "-q"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    scanned = json.loads((tmp_path / "report.json").read_text())
    fetched = json.loads((fleet_run["work"] / "fetched" / "drifted" / "report.json").read_text())

    def verdicts(report):
        return [(r["id"], r["status"], r["message"], r["evidence"]) for r in report["results"]]

    assert verdicts(fetched) == verdicts(scanned)


def test_targets_keep_only_the_installed_package_or_nothing_with_cleanup(fleet_run):
    targets = fleet_run["work"] / "targets"
    assert (targets / "hardened" / "venv" / "bin" / "hostaudit").exists()
    assert not (targets / "default" / "venv").exists()  # hostaudit_cleanup: true
    # The playbook's temporary directories on the hosts (tempfile: /tmp/ansible.*.hostaudit*).
    assert glob.glob("/tmp/ansible.*hostaudit*") == []


def test_a_second_run_in_check_mode_with_limit_changes_nothing(fleet_run):
    fleet_json = fleet_run["work"] / "fleet" / "fleet.json"
    before = fleet_json.stat().st_mtime_ns
    done, _ = fleet_run["play"]("--check", "--limit", "hardened,lost")
    assert done.returncode == 0, done.stdout[-4000:]
    recap = _recap(done.stdout)
    assert set(recap) == {"hardened", "lost"}
    assert recap["hardened"]["changed"] == 0 and recap["lost"]["ignored"] == 1
    assert fleet_json.stat().st_mtime_ns == before
