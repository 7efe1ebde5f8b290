"""A plan as a POSIX shell script: ``set -eu``, one idempotent helper per kind of step, and a
dry-run mode (``DRY_RUN=1``) that prints every change it would make and makes none.

Each helper looks before it changes: a second run of an applied plan changes nothing and its
dry run reports 0 changes. Running kernel settings are changed only where /proc/sys exists
(not in a chroot); units are enabled and masked the way systemctl does it offline.
"""

from __future__ import annotations

import re
import shlex

from hostaudit.fixes import DEFAULT_SYSCTL_FILE
from hostaudit.fixplan import Plan

LIBRARY = r'''
DRY_RUN=${DRY_RUN:-0}
ha_changes=0
ha_control=
ha_apt_updated=0

ha_say() { printf '%s\n' "$*"; }

# Count a change; in a dry run say it and answer "no" so the caller leaves the system alone.
ha_change() {
  ha_changes=$((ha_changes + 1))
  if [ "$DRY_RUN" = 1 ]; then ha_say "would change [$ha_control]: $1"; return 1; fi
  ha_say "changing [$ha_control]: $1"
}

# Write stdin to $1 keeping its inode, owner and mode (a new file gets mode $2).
ha_write() {
  if [ -e "$1" ]; then cat > "$1"; else
    mkdir -p "$(dirname "$1")"
    (umask 077; cat > "$1"); chmod "$2" "$1"
  fi
}

# ha_line FILE REGEXP LINE INSERTAFTER CREATE MODE STATE: like Ansible's lineinfile.
ha_line() {
  if [ ! -e "$1" ] && [ "$5" != 1 ]; then
    if [ "$DRY_RUN" = 1 ]; then
      ha_changes=$((ha_changes + 1))
      ha_say "would change [$ha_control]: $1 (missing now; an earlier step may install it)"; return 0
    fi
    ha_say "error [$ha_control]: $1 does not exist" >&2; return 1
  fi
  if [ ! -e "$1" ] && [ "$7" = absent ]; then return 0; fi
  ha_new=$( { [ -e "$1" ] && cat "$1"; } | HA_RE="$2" HA_LINE="$3" HA_AFTER="$4" HA_STATE="$7" awk '
    { lines[NR] = $0
      if ($0 ~ ENVIRON["HA_RE"]) last = NR
      if (ENVIRON["HA_AFTER"] != "" && $0 ~ ENVIRON["HA_AFTER"]) after = NR
      if ($0 == ENVIRON["HA_LINE"]) have = 1 }
    END {
      if (ENVIRON["HA_STATE"] == "absent") {
        for (i = 1; i <= NR; i++) if (lines[i] !~ ENVIRON["HA_RE"]) print lines[i]
        exit }
      for (i = 1; i <= NR; i++) {
        if (i == last) print ENVIRON["HA_LINE"]; else print lines[i]
        if (!last && !have && i == after) print ENVIRON["HA_LINE"] }
      if (!last && !have && !after) print ENVIRON["HA_LINE"] }'; echo x)
  ha_new=${ha_new%x}
  ha_old=$( { [ -e "$1" ] && cat "$1"; } ; echo x)
  ha_old=${ha_old%x}
  # awk ends every line with a newline; a file without a final one is not a change.
  case $ha_old in *"
") ;; "") ;; *) ha_old="$ha_old
" ;; esac
  [ "$ha_new" = "$ha_old" ] && [ -e "$1" ] && return 0
  if ha_change "$1: ${3:-remove lines matching $2}"; then printf '%s' "$ha_new" | ha_write "$1" "$6"; fi
}

ha_sysctl() {
  ha_line "$1" "^[[:space:]]*$(printf '%s' "$2" | sed 's/\./\\./g')[[:space:]]*=" "$2 = $3" "" 1 0644 present
  ha_proc=/proc/sys/$(printf '%s' "$2" | tr . /)
  if [ -w "$ha_proc" ] && [ "$(cat "$ha_proc")" != "$3" ]; then
    if ha_change "running kernel: $2 = $3"; then sysctl -q -w "$2=$3"; fi
  fi
}

ha_installed() {
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'
  else rpm -q "$1" >/dev/null 2>&1; fi
}

# ha_package present|absent NAME...
ha_package() {
  ha_state=$1; shift; ha_todo=
  for ha_p in "$@"; do
    if ha_installed "$ha_p"; then [ "$ha_state" = absent ] && ha_todo="$ha_todo $ha_p"
    else [ "$ha_state" = present ] && ha_todo="$ha_todo $ha_p"; fi
  done
  [ -n "$ha_todo" ] || return 0
  ha_change "package $ha_state:$ha_todo" || return 0
  if command -v apt-get >/dev/null 2>&1; then
    if [ "$ha_state" = present ]; then
      # Lists fetched in the last hour are fresh enough (as the playbook's cache_valid_time).
      if [ "$ha_apt_updated" = 0 ] &&
         ! find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 | grep -q .; then
        apt-get -q update
      fi
      ha_apt_updated=1
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install $ha_todo
    else
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get -q -y purge $ha_todo
    fi
  else
    # shellcheck disable=SC2086
    if [ "$ha_state" = present ]; then dnf -y install $ha_todo; else dnf -y remove $ha_todo; fi
  fi
}

ha_unit_dir=/etc/systemd/system

# ha_service UNIT masked|enabled|disabled, as systemctl does it offline (also in a chroot).
ha_service() {
  case $2 in
  masked)
    [ "$(readlink "$ha_unit_dir/$1" 2>/dev/null)" = /dev/null ] && return 0
    if ha_change "mask $1"; then mkdir -p "$ha_unit_dir"; ln -sf /dev/null "$ha_unit_dir/$1"; fi ;;
  enabled)
    if command -v systemctl >/dev/null 2>&1; then
      systemctl -q is-enabled "$1" 2>/dev/null && return 0
      if ha_change "enable $1"; then systemctl -q enable "$1"; fi
    else
      ha_sysv=${1%.service}
      ls /etc/rc[2345].d/S[0-9][0-9]"$ha_sysv" >/dev/null 2>&1 && return 0
      if ha_change "enable $ha_sysv at boot (update-rc.d)"; then update-rc.d "$ha_sysv" enable; fi
    fi ;;
  disabled)
    if command -v systemctl >/dev/null 2>&1; then
      systemctl -q is-enabled "$1" 2>/dev/null || return 0
      if ha_change "disable $1"; then systemctl -q disable "$1"; fi
    fi ;;
  esac
}

ha_immutable() {
  if [ ! -e "$1" ]; then
    [ "$DRY_RUN" = 1 ] && return 0
    ha_say "error [$ha_control]: $1 does not exist" >&2; return 1
  fi
  case $(lsattr -d -- "$1" 2>/dev/null | awk '{print $1}') in *i*) return 0 ;; esac
  if ha_change "chattr +i $1"; then chattr +i -- "$1"; fi
}

# ha_mode MODE PATH...: every existing PATH (a glob's matches) gets MODE.
ha_mode() {
  ha_m=$1; shift
  for ha_f in "$@"; do
    [ -e "$ha_f" ] || continue
    [ "$((0$(stat -L -c %a -- "$ha_f")))" -eq "$((ha_m))" ] && continue
    if ha_change "chmod $ha_m $ha_f"; then chmod "$ha_m" -- "$ha_f"; fi
  done
}

ha_owner() {
  [ "$(stat -L -c %U:%G -- "$1")" = "$2:${3:-$(stat -L -c %G -- "$1")}" ] && return 0
  if ha_change "chown $2${3:+:$3} $1"; then chown "$2${3:+:$3}" -- "$1"; fi
}

ha_group_member() {
  if ! grep -q "^$1:" /etc/group; then
    if ha_change "create group $1"; then groupadd "$1"; fi
  fi
  [ -n "$2" ] || return 0
  case ",$(awk -F: -v g="$1" '$1 == g {print $4}' /etc/group)," in *",$2,"*) return 0 ;; esac
  if ha_change "add $2 to group $1"; then usermod -a -G "$1" "$2"; fi
}
'''


def q(text: str) -> str:
    return shlex.quote(str(text))


# The wildcards a glob may keep unquoted so the shell expands them: *, ? and a bracket
# expression of plain characters (inside brackets the shell would still run $(...)).
_WILDCARD = re.compile(r"\*|\?|\[!?[A-Za-z0-9._-]+\]")


def _glob_word(pattern: str) -> str:
    """``pattern`` (one path component) as a shell word that expands as the glob and does
    nothing else: its wildcards bare, every other run of characters quoted."""
    out, last = [], 0
    for match in _WILDCARD.finditer(pattern):
        if match.start() > last:
            out.append(q(pattern[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    if last < len(pattern):
        out.append(q(pattern[last:]))
    return "".join(out)


def _step_lines(index: int, step) -> list[str]:
    a = step.args
    kind = step.kind
    if kind == "line":
        return [" ".join(["ha_line", q(a["path"]), q(a["regexp"]), q(a.get("line", "")), q(a.get("insertafter", "")),
                          "1" if a.get("create") else "0", q(a.get("mode", "0644")), q(a.get("state", "present"))])]
    if kind == "sysctl":
        return [" ".join(["ha_sysctl", q(a.get("file", DEFAULT_SYSCTL_FILE)), q(a["key"]), q(a["value"])])]
    if kind == "package":
        return [" ".join(["ha_package", a["state"], *(q(n) for n in a["names"])])]
    if kind == "service":
        return [f"ha_service {q(a['unit'])} {a['state']}"]
    if kind == "attribute":
        return [f"ha_immutable {q(a['path'])}"]
    if kind == "mode":
        path = a["path"]
        head, _, tail = path.rpartition("/")
        spelled = q(path) if not re.search(r"[*?\[]", tail) else f"{q(head)}/{_glob_word(tail)}"
        return [f"ha_mode {q(a['mode'])} {spelled}"]
    if kind == "owner":
        return [" ".join(["ha_owner", q(a["path"]), q(a["owner"]), q(a.get("group", ""))])]
    if kind == "group_member":
        return [f"ha_group_member {q(a['group'])} {q(a.get('user', ''))}"]
    if kind == "shell":
        return [f"ha_check_{index}() (", a["check"].rstrip("\n"), ")",
                f"ha_apply_{index}() (", "set -eu", a["apply"].rstrip("\n"), ")",
                f"if ! ha_check_{index}; then",
                f"  if ha_change {q(a['name'])}; then ha_apply_{index}; fi",
                "fi"]
    raise ValueError(kind)


def render(plan: Plan, name: str = "plan.sh") -> str:
    """The shell script for ``plan``; ``name`` is the file it is written to, as its header's
    commands call it."""
    run = shlex.quote(_comment(name))
    out = ["#!/bin/sh",
           f"# hostaudit remediation plan for {_comment(plan.target)} ({plan.family} family)",
           f"# from {_comment(plan.source)}: {len(plan.controls)} of {plan.failed} failed control(s) have steps.",
           f"# Review it, then run it as root on the host:   sh {run}",
           f"# See what it would change, changing nothing:   DRY_RUN=1 sh {run}",
           "# Every step looks first and changes only what differs: running it twice is safe.",
           "set -eu", LIBRARY.strip("\n"), ""]
    if plan.empty:
        out.append("ha_say 'hostaudit plan: no failed control has a mechanical fix; nothing to do'")
    current = None
    for index, planned in enumerate(plan.steps):
        if planned.control != current:
            current = planned.control
            out += ["", f"# {planned.control}: {_comment(plan.titles.get(current, ''))}"]
            if current in plan.partial:
                out.append(f"# still for a person: {_comment(plan.partial[current])}")
            out.append(f"ha_control={q(current)}")
        out += _step_lines(index, planned.step)
    out += ["", 'if [ "$DRY_RUN" = 1 ]; then',
            '  ha_say "hostaudit plan: $ha_changes change(s) would be made"',
            "else",
            '  ha_say "hostaudit plan: $ha_changes change(s) made"',
            "fi"]
    if plan.manual:
        out += ["", "# Failed controls this plan does not fix (a person's job):"]
        out += [f"#   {_comment(cid)}: {_comment(why)}" for cid, why in plan.manual.items()]
    if plan.partial:
        out += ["", "# Fixed controls that still need a person:"]
        out += [f"#   {_comment(cid)}: {_comment(why)}" for cid, why in plan.partial.items()]
    return "\n".join(out) + "\n"


def _comment(text: str) -> str:
    """Text safe inside a ``#`` comment line (the report's names are the target's words):
    one line, control characters shown as escapes, so a reviewer's ``cat`` shows the plan
    as it is (an ESC sequence could conceal or overwrite the lines after it)."""
    from hostaudit.visible import terminal_text

    return terminal_text(" ".join(str(text).split()))
