#!/usr/bin/env bash
# Installs everything the test suite needs on Debian 12 (system packages and a virtualenv
# with the Python dependencies), then runs the whole suite. Run as root: several tests need
# chattr, loop mounts and network namespaces. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/install-and-run.sh: run as root (sudo): tests use chattr, loop devices and namespaces" >&2
  exit 2
fi

packages=(
  python3 python3-venv python3-pip   # the interpreter and venv on a bare Debian 12
  e2fsprogs quota util-linux          # chattr/lsattr, ext4 images, quotaon/quotacheck, losetup
  fdisk qemu-utils                    # sfdisk builds disk images in tests; qemu-img reads qcow2
  ucspi-tcp                           # tcprules builds the POP3 rules database
  stunnel4 openssl                    # TLS wrappers and test certificates
  tripwire                            # the integrity checker the baseline requires
  openssh-server openssh-client      # a real sshd for ssh.* checks; ssh for the Ansible fleet test
  nmap iptables nftables iproute2     # network view and firewall rules (in namespaces only)
  lynis debootstrap                   # benchmark peer and image fixtures (bench/)
  isal gzip xz-utils bzip2 zstd       # --image decompressors (igzip: 4x gzip -d); in-process if missing
  chromium chromium-driver            # report.html in a real browser (test_report_html_browser.py)
  fonts-dejavu-core fonts-liberation  # fonts it lays the page out with (recommends are not installed)
)
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'
bash tests/lint.sh   # ruff and mypy: a lint or type error fails CI before the tests run
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
