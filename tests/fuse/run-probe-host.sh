#!/usr/bin/env bash
# Run the guest-side probe (tests/probe/probe) against the FUSE server on this
# host: arca-fuse-host serves a temp share over /dev/fuse, then
#   probe conformance MOUNT                         filesystem semantics
#   probe write-tree MOUNT/t1 ; probe check-tree SHARE/t1   guest -> host bytes
#   probe write-tree SHARE/t2 ; probe check-tree MOUNT/t2   host -> guest bytes
#   probe escape MOUNT MARKER                       escape attempts
# and checks on the host that the marker outside the share is unchanged and
# that nothing new appeared outside the share.
#
# Layout: the marker sits in the share's parent (where a server bug would
# lead), the mount point elsewhere, so the host kernel's own ".." handling
# at the mount point never reaches the marker.
#
#   tests/fuse/run-probe-host.sh [ARCA_FUSE_HOST [PROBE]]
#   FUSE_HOST_ARGS="--split=4500" tests/fuse/run-probe-host.sh   extra server options
# Needs root and /dev/fuse; skipped (exit 0) without them.
# Last line: probe-host: N passed, N failed, N skipped
set -u
HOST_BIN=${1:-${ARCA_FUSE_HOST:-build/arca-fuse-host}}
PROBE=${2:-${ARCA_PROBE:-tests/probe/probe}}
MARKER=arca-escape-marker

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || [ ! -x "$HOST_BIN" ] || [ ! -x "$PROBE" ]; then
	echo "probe-host: skipped (needs root, /dev/fuse, $HOST_BIN and $PROBE)"
	echo "probe-host: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
PROBE=$(realpath "$PROBE")

T=$(mktemp -d /tmp/arca-probe.XXXXXX)
S=$T/outer/share M=$T/mnt/m
mkdir -p "$S" "$M"
printf 'arca escape marker %s\n' "$$" > "$T/outer/$MARKER"
chmod 0644 "$T/outer/$MARKER"
marker_sum=$(sha256sum < "$T/outer/$MARKER")
cleanup() {
	mountpoint -q "$M" && umount "$M"
	rm -rf "$T"
}
trap cleanup EXIT

pass=0 fail=0 skip=0
# run LABEL CMD...: run a probe subcommand, echo its lines, add its summary.
run() {
	local label=$1 out line p f s
	shift
	out=$(timeout 300 "$@" 2>&1)
	echo "$out" | sed "s/^/[$label] /"
	line=$(echo "$out" | grep '^probe: ' | tail -n1)
	if [ -z "$line" ]; then
		echo "[$label] no summary line (probe crashed or timed out)"
		fail=$((fail + 1))
		return
	fi
	read -r p f s < <(echo "$line" | sed 's/probe: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\1 \2 \3/')
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	echo "$label: $line"
}
host_check() { # host_check NAME COND...
	local n=$1
	shift
	if "$@"; then pass=$((pass + 1)); echo "ok host $n"; else fail=$((fail + 1)); echo "not ok host $n"; fi
}

# shellcheck disable=SC2086
"$HOST_BIN" --daemon ${FUSE_HOST_ARGS:-} "$S" "$M" || { echo "probe-host: cannot mount"; exit 1; }

run conformance "$PROBE" conformance "$M"
run tree-guest-to-host-write "$PROBE" write-tree "$M/t1"
run tree-guest-to-host-check "$PROBE" check-tree "$S/t1"
run tree-host-to-guest-write "$PROBE" write-tree "$S/t2"
run tree-host-to-guest-check "$PROBE" check-tree "$M/t2"
outside() { find "$T" -path "$S" -prune -o -path "$M" -prune -o -printf '%p %y %s %m\n' | sort; }
before=$(outside)
cd /
PROBE_RACE_MS=${PROBE_RACE_MS:-1000} run escape "$PROBE" escape "$M" "$MARKER"
host_check "marker unchanged" test "$(sha256sum < "$T/outer/$MARKER")" = "$marker_sum"
host_check "nothing new outside the share" test "$(outside)" = "$before"
host_check "no device node in the share" test -z "$(find "$S" \( -type b -o -type c \) -print -quit)"
host_check "no setuid/setgid file in the share" test -z "$(find "$S" -type f -perm /6000 -print -quit)"

umount "$M"
echo "probe-host: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
