#!/bin/sh
# make install-check: `make install` into a scratch DESTDIR, then the installed arca on its own
# (no source tree next to it): its doctor finds arca-vmm, the kernel and builds the initrd cache
# in a fresh cache directory; the man page renders without warnings. Needs no /dev/kvm.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
d=$(mktemp -d "${TMPDIR:-/tmp}/arca-install.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
fail() { echo "install-check: $*"; exit 1; }
make -C "$top" --no-print-directory install DESTDIR="$d" PREFIX=/usr >"$d/log" 2>&1 ||
	{ cat "$d/log"; fail "make install failed"; }
bin=$d/usr/bin
for f in arca arca-vmm arca-init; do [ -x "$bin/$f" ] || fail "$f not installed"; done
[ -e "$d/usr/share/arca/kernel/vmlinuz" ] || fail "kernel not installed"
[ -f "$d/usr/share/man/man1/arca.1" ] || fail "man page not installed"
"$bin/arca" version | grep -q '^arca ' || fail "installed arca does not run"
# doctor --json: the kernel from share/arca, arca-vmm beside arca, the initrd built in the
# cache we name (not in the source tree's build/cache).
env -u ARCA_LIBEXEC XDG_CACHE_HOME="$d/cache" HOME="$d" "$bin/arca" doctor --json >"$d/doctor.json" 2>&1
python3 - "$d" "$d/doctor.json" <<'PY' || fail "doctor: $(head -c 600 "$d/doctor.json")"
import json, sys
root, path = sys.argv[1], sys.argv[2]
checks = {c["name"]: c for c in json.load(open(path))["checks"]}
for name, where in (("kernel", root + "/usr/share/arca/kernel/"), ("arca-vmm", root + "/usr/bin/arca-vmm"),
                    ("initrd", root + "/cache/arca")):
    c = checks[name]
    assert c["status"] == "ok", (name, c)
    assert where in c["detail"], (name, where, c["detail"])
PY
if command -v groff >/dev/null 2>&1; then
	w=$(groff -man -Tutf8 -ww -z "$d/usr/share/man/man1/arca.1" 2>&1)
	[ -z "$w" ] || fail "man page: $w"
fi
echo "install-check: ok"
