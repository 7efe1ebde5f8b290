"""Benchmark of the network view, in a namespace lab (needs root; touches nothing outside it).

(a) each hostaudit sweep (python-nmap + XML parsing) against the very same raw ``nmap``
    command, alternated in one process inside the scanner namespace (target: within 1.05x);
(b) a full net-mode audit of the lab's mail host behind the document's DROP firewall, wall
    time of the whole ``collect + evaluate`` subprocess (target: under 30 s).

    sudo python3 bench/net_bench.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from netns import MAIL_ADDR, MailHost, NetLab, document_firewall, run_audit  # noqa: E402

_SWEEPS = """
import json, shlex, subprocess, sys, time
from hostaudit.host import NetHost
from hostaudit.probes import network
host = NetHost(sys.argv[1])
rows = []
for kind in ("tcp", "udp", "ipproto"):
    ours, raw = [], []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter(); fact = network._sweep(host, kind); ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(shlex.split(fact["command"]), capture_output=True, check=True, timeout=600)
        raw.append(time.perf_counter() - t)
    rows.append({"sweep": kind, "command": fact["command"], "ours": ours, "raw": raw,
                 "open": [f"{p['port']}/{p['proto']}" for p in fact["open"]]})
print(json.dumps(rows))
"""

WIRE = {
    "net.tcp-ports": {"allowed_tcp": [25, 110, 465, 995, 2112]},
    "net.udp-ports": {"allowed_udp": []},
    "net.ip-protocols": {"allowed_protocols": ["icmp", "igmp", "tcp", "udp"]},
    "net.cleartext-auth": {"cleartext_ports": {21: "ftp", 23: "telnet", 110: "pop3", 143: "imap"}},
    "mail.pop3-remote-denied": {},
    "mail.tls-wrappers": {"tls_ports": [465, 995]},
}


def sweep_overhead(lab: NetLab, repeat: int) -> list[dict]:
    """(a): hostaudit sweep vs raw nmap, same arguments, alternated ``repeat`` times."""
    root = Path(__file__).resolve().parent.parent
    done = lab.scanner.run(["env", f"PYTHONPATH={root}", sys.executable, "-c", _SWEEPS, MAIL_ADDR,
                            str(repeat)], timeout=1800)
    return json.loads(done.stdout)


def drop_firewall_audit(lab: NetLab, host: MailHost) -> dict:
    """(b): full net audit of the mail host with the document's DROP firewall."""
    host.firewall(document_firewall())
    started = time.monotonic()
    report = run_audit(lab.scanner, controls=list(WIRE), params=WIRE)
    return {"wall_s": time.monotonic() - started, "timings": report["timings"],
            "results": {c: r["status"] for c, r in report["results"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per sweep in (a)")
    args = parser.parse_args()
    lab = NetLab()
    try:
        host = MailHost(lab).start_all()
        print(f"(a) hostaudit sweep vs raw nmap, median of {args.repeat}, target {MAIL_ADDR}")
        print(f"{'sweep':8} {'hostaudit s':>11} {'raw nmap s':>10} {'ratio':>6}  open")
        for row in sweep_overhead(lab, args.repeat):
            ours, raw = statistics.median(row["ours"]), statistics.median(row["raw"])
            print(f"{row['sweep']:8} {ours:11.3f} {raw:10.3f} {ours / raw:6.3f}  "
                  f"{', '.join(row['open'])}")
            print(f"         {row['command']}")
        result = drop_firewall_audit(lab, host)
        print("\n(b) full net-mode audit behind the document's DROP firewall")
        print(f"wall time {result['wall_s']:.2f} s (target < 30 s)")
        for fact, ms in sorted(result["timings"].items(), key=lambda kv: -kv[1]):
            print(f"  {fact:14} {ms / 1000:7.2f} s")
        for control, status in result["results"].items():
            print(f"  {control:26} {status}")
    finally:
        lab.close()


if __name__ == "__main__":
    main()
