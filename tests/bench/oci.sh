#!/bin/sh
# OCI benchmark payload (POSIX sh, runs under busybox): see tests/bench/oci. One untimed run
# of each column first (podman's first run sets up its storage; arca makes its caches).
#
#   oci.sh [-n RUNS]        env: ARCA (default /opt/arca/arca)
N=5
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	*) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
	esac
done
case "$N" in '' | *[!0-9]* | 0) echo "oci.sh: -n wants a positive integer" >&2; exit 2 ;; esac
ARCA=${ARCA:-/opt/arca/arca}
T=$(mktemp -d /tmp/arca-bench-oci.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
now() { read -r _u _ </proc/uptime; echo "$_u"; }

mkdir -p "$T/bin" "$T/rootfs/bin" "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/dev" "$T/rootfs/tmp" "$T/ptmp"
ln -s "$ARCA" "$T/bin/arca-runtime"
for b in /usr/bin/busybox /bin/busybox; do [ -x "$b" ] && break; done
cp "$b" "$T/rootfs/bin/busybox" && ln -s busybox "$T/rootfs/bin/sh" && ln -s busybox "$T/rootfs/bin/true" || exit 1
tar -C "$T/rootfs" -cf "$T/img.tar" . || exit 1
export TMPDIR="$T/ptmp"
PM="podman --storage-driver vfs --root $T/pstore --runroot $T/prun --tmpdir $T/ptmp --cgroup-manager cgroupfs --events-backend file"
$PM import "$T/img.tar" localhost/bench >/dev/null || { echo "oci.sh: podman import failed"; exit 1; }

# column NAME CMD...: one untimed run, then N timed; prints "NAME median min max failed".
column() {
	_name=$1
	shift
	"$@" >/dev/null 2>"$T/err" </dev/null || echo "oci.sh: $_name: first run failed: $(tail -c 300 "$T/err")"
	: >"$T/times"
	_fail=0
	_i=0
	while [ $_i -lt "$N" ]; do
		_a=$(now)
		"$@" >/dev/null 2>"$T/err" </dev/null || _fail=$((_fail + 1))
		_b=$(now)
		awk -v a="$_a" -v b="$_b" 'BEGIN { printf "%.2f\n", b - a }' >>"$T/times"
		_i=$((_i + 1))
	done
	sort -n "$T/times" | awk -v name="$_name" -v f="$_fail" '{ v[NR] = $1 }
		END { printf "%s %.2f %.2f %.2f %d\n", name, v[int((NR + 1) / 2)], v[1], v[NR], f }'
}

echo "oci.sh: $N runs each"
column crun $PM --runtime "$(command -v crun)" run --rm --network none localhost/bench true >"$T/r.crun"
column arca-runtime $PM --runtime "$T/bin/arca-runtime" run --rm --network none localhost/bench true >"$T/r.arca"
column arca-run "$ARCA" run --root "$T/rootfs" -- true >"$T/r.run"
printf '%-44s %8s %8s %8s %7s\n' "wall time, s" median min max failed
while read -r name med min max f; do
	case $name in
	crun) label="podman run --rm IMG true (crun)" ;;
	arca-runtime) label="podman run --rm IMG true (arca-runtime)" ;;
	arca-run) label="arca run --root ROOTFS -- true" ;;
	esac
	printf '%-44s %8s %8s %8s %7s\n' "$label" "$med" "$min" "$max" "$f"
done <<EOT
$(cat "$T/r.crun" "$T/r.arca" "$T/r.run")
EOT
read -r _ c _ <"$T/r.crun"
read -r _ a _ <"$T/r.arca"
read -r _ r _ <"$T/r.run"
awk -v c="$c" -v a="$a" -v r="$r" 'BEGIN {
	printf "arca-runtime / crun: %.1fx; podman + arca-runtime over arca run: %+.2f s\n", a / c, a - r }'
