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
# The OCI runtime is arca by another name.
[ "$(readlink "$bin/arca-runtime")" = arca ] || fail "arca-runtime is not a link to arca"
"$bin/arca-runtime" features | python3 -c 'import json, sys; assert json.load(sys.stdin)["ociVersionMax"]' ||
	fail "installed arca-runtime does not answer features"
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
	for m in man1/arca.1 man1/arca-runtime.1 man3/arca.3; do
		w=$(groff -man -Tutf8 -ww -z "$d/usr/share/man/$m" 2>&1)
		[ -z "$w" ] || fail "man page $m: $w"
	done
fi

# libarca: the header, both libraries and arca.pc are installed; the .so exports the API of
# arca.h and nothing else; examples/oneshot.c builds through the installed arca.pc, shared and
# static, and runs. Linked to the .so it finds arca-vmm and the kernel beside the library
# (PREFIX/lib/../bin, ../share/arca) with no ARCA_* variable. It boots where /dev/kvm can run a
# guest (exit 3, the example's default command); elsewhere it must get as far as KVM: the
# helpers, kernel and initrd were found.
lib=$d/usr/lib
for f in include/arca.h lib/libarca.a lib/libarca.so.0 lib/libarca.so lib/pkgconfig/arca.pc share/man/man3/arca.3; do
	[ -e "$d/usr/$f" ] || fail "$f not installed"
done
extra=$(nm -D --defined-only "$lib/libarca.so.0" | awk '$3 !~ /^arca_(vm|exec|proc|console)_/ && $3 !~ /^ARCA_/ { print $3 }')
[ -z "$extra" ] || fail "libarca.so exports more than arca.h: $(echo $extra | head -c 300)"
pc() { PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$d pkg-config "$@" arca; }
cflags=$(pc --cflags) && libs=$(pc --libs) && slibs=$(pc --static --libs) || fail "pkg-config arca"
# shellcheck disable=SC2086
cc -std=gnu11 -Wall -Wextra -Werror $cflags -o "$d/oneshot" "$top/examples/oneshot.c" $libs ||
	fail "examples/oneshot.c does not build against the installed libarca"
# shellcheck disable=SC2086
cc -std=gnu11 -Wall -Wextra -Werror $cflags -o "$d/oneshot-static" "$top/examples/oneshot.c" \
	-Wl,-Bstatic -larca -Wl,-Bdynamic $(echo "$slibs" | sed 's/ -larca / /') ||
	fail "examples/oneshot.c does not link libarca.a statically"
ldd "$d/oneshot-static" | grep -q libarca && fail "oneshot-static still needs libarca.so"
check_oneshot() { # WHAT RC ERRFILE
	case $2 in
	3) grep -q '^result: exited 3$' "$3" || fail "$1: exit 3 without its result: $(head -c 400 "$3")" ;;
	125) grep -q '^result: error: .*KVM\|^result: error: .*kvm' "$3" ||
		fail "$1: did not get as far as KVM: $(head -c 600 "$3")" ;;
	*) fail "$1: status $2: $(head -c 600 "$3")" ;;
	esac
}
env -u ARCA_LIBEXEC -u ARCA_KERNEL -u ARCA_CACHE_DIR LD_LIBRARY_PATH="$lib" XDG_CACHE_HOME="$d/cache" \
	HOME="$d" timeout 300 "$d/oneshot" >"$d/o.out" 2>"$d/o.err" </dev/null
check_oneshot "oneshot (libarca.so)" $? "$d/o.err"
# Statically linked, dladdr names the program: the example's own ARCA_LIBEXEC setter.
env -u ARCA_KERNEL -u ARCA_CACHE_DIR ARCA_LIBEXEC="$d/usr/bin" XDG_CACHE_HOME="$d/cache" \
	HOME="$d" timeout 300 "$d/oneshot-static" >"$d/o.out" 2>"$d/o.err" </dev/null
check_oneshot "oneshot (libarca.a)" $? "$d/o.err"

echo "install-check: ok"
