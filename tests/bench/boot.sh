#!/bin/sh
# Boot benchmark payload (POSIX sh, runs under busybox): wall time of `arca run -- true`
# (as is, with --kaslr: the bzImage through its decompressor, and with --warm: from a snapshot, made by one untimed run first)
# against QEMU microvm booting the same kernel to a busybox init that runs `true`, plus each
# VMM's peak RSS. The rows' runs are interleaved (round after round, each row once per round).
# Driven by tests/bench/boot, natively or inside the nested test host.
#
#   boot.sh [-n RUNS] [-p "N N ..."]
#   env: ARCA, BENCH_QEMU, BENCH_KERNEL, BENCH_MICROVM_INITRD, BENCH_MEM (MiB, default 512)
#
# Then where one arca run's time goes (`arca run --timings`, cold and --warm, the median run
# of RUNS by total), and many at once: for each N of -p (default "1 2 4 8 16"), N
# `arca run -- true` (then N `arca run --warm -- true`) started together, the wall time until
# the last ended, and how many failed.
#
# Times come from /proc/uptime (10 ms resolution): busybox date has no sub-second format.

N=5
PAR="1 2 4 8 16"
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift 2 ;;
	-p) PAR=$2; shift 2 ;;
	*) echo "usage: $0 [-n RUNS] [-p \"N N ...\"]" >&2; exit 2 ;;
	esac
done
case "$N" in '' | *[!0-9]* | 0) echo "boot.sh: -n wants a positive integer" >&2; exit 2 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
ARCA=${ARCA:-/opt/arca/arca}
QEMU=${BENCH_QEMU:-qemu-system-x86_64}
KERNEL=${BENCH_KERNEL:-/opt/arca/build/kernel/vmlinuz}
INITRD=${BENCH_MICROVM_INITRD:-$HERE/microvm.cpio}
MEM=${BENCH_MEM:-512}
T=$(mktemp -d /tmp/arca-bench.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
FAILED=0

now() { read -r _u _ </proc/uptime; echo "$_u"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# stats FILE: "median min max" of one number per line.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}

qemu_true() {
	timeout 120 "$QEMU" -M microvm,acpi=on -accel kvm -cpu host -m "$MEM" -smp 1 \
		-nodefaults -no-user-config -nographic -no-reboot -serial stdio \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 quiet reboot=k panic=-1" </dev/null >"$T/qemu.log" 2>&1
}
arca_true() {
	timeout 120 "$ARCA" run --memory "$MEM" -- true </dev/null >"$T/arca.log" 2>&1
}
# The bzImage through its own decompressor (KASLR), not the copy decompressed into the cache.
kaslr_true() {
	timeout 120 "$ARCA" run --kaslr --memory "$MEM" -- true </dev/null >"$T/kaslr.log" 2>&1
}

# From a snapshot (--warm): the first such run (not timed) boots and saves it.
warm_true() {
	timeout 120 "$ARCA" run --warm --memory "$MEM" -- true </dev/null >"$T/warm.log" 2>&1
}

# sample_rss PID: until PID exits, print "VmHWM_kB outside_kB" where outside_kB is the peak
# of RSS outside the guest-RAM mapping (any mapping at least as large as the guest RAM);
# guest RAM is only partly touched by a short boot, so VmHWM alone understates nothing and
# overstates the VMM by whatever the guest touched.
# Guest RAM and what lies outside it: tests/e2e/guest-ram.awk (here beside this script in the
# test host, BENCH_GUEST_RAM_AWK when run directly).
GUEST_RAM_AWK=${BENCH_GUEST_RAM_AWK:-$HERE/guest-ram.awk}

sample_rss() {
	_hwm=0 _out=0
	while :; do
		_h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -n "$_h" ] || break
		_o=$(awk -v ram=$((MEM * 1024 * 1024)) -f "$GUEST_RAM_AWK" "/proc/$1/smaps" 2>/dev/null)
		[ "$_h" -gt "$_hwm" ] && _hwm=$_h
		[ -n "$_o" ] && [ "$_o" -gt "$_out" ] && _out=$_o
		sleep 0.05
	done
	echo "$_hwm $_out"
}

# The rows: NAME LABEL FN PROC (PROC: the process whose RSS is sampled, - for none).
row_of() {
	case "$1" in
	arca) echo "arca|arca run -- true|arca_true|arca-vmm" ;;
	kaslr) echo "kaslr|arca run --kaslr -- true|kaslr_true|arca-vmm" ;;
	warm) echo "warm|arca run --warm -- true|warm_true|arca-vmm" ;;
	qemu) echo "qemu|qemu microvm true|qemu_true|$(basename "$QEMU")" ;;
	exec) echo "exec|arca exec -- true|exec_true|-" ;;
	esac
}

# timed NAME FN: one timed run of FN, its seconds appended to NAME.times; 1 if it failed
# (then NAME.failed holds why).
timed() {
	_t0=$(now)
	"$2"
	_rc=$?
	_t1=$(now)
	if [ "$_rc" -ne 0 ]; then
		echo "bench: $1 failed (status $_rc); last output:" >&2
		tail -n 15 "$T/$1.log" | sed 's/^/  | /' >&2
		echo "FAILED (status $_rc)" >"$T/$1.failed"
		return 1
	fi
	if [ "$1" = qemu ] && ! grep -q 'bench-guest: true ran' "$T/qemu.log"; then
		echo "bench: qemu guest did not report running true; output:" >&2
		tail -n 15 "$T/qemu.log" | sed 's/^/  | /' >&2
		echo "FAILED (no 'true ran')" >"$T/$1.failed"
		return 1
	fi
	sub "$_t0" "$_t1" >>"$T/$1.times"
	echo >>"$T/$1.times"
	# progress: the nested runner stops a test host that prints nothing for long
	echo "bench: $1: $(sub "$_t0" "$_t1") s"
}

# bench NAME...: RUNS rounds, each running every NAME once in turn (interleaved: in the
# nested host timings drift by tens of percent between spells of minutes, so rows run one
# after the other would compare spells, not VMMs), then one run of each sampling the RSS of
# its PROC. Appends one table row per NAME.
bench() {
	for _v in "$@"; do : >"$T/$_v.times"; rm -f "$T/$_v.failed"; done
	_i=0
	while [ "$_i" -lt "$N" ]; do
		_i=$((_i + 1))
		echo "bench: round $_i/$N"
		for _v in "$@"; do
			[ -e "$T/$_v.failed" ] && continue
			IFS='|' read -r _name _label _fn _proc <<EOR
$(row_of "$_v")
EOR
			timed "$_name" "$_fn" || FAILED=1
		done
	done
	for _v in "$@"; do
		IFS='|' read -r _name _label _fn _proc <<EOR
$(row_of "$_v")
EOR
		if [ -e "$T/$_v.failed" ]; then
			printf '%-24s %s\n' "$_label" "$(cat "$T/$_v.failed")" >>"$T/table"
			continue
		fi
		_rss="0 0"
		if [ "$_proc" != - ]; then
			"$_fn" &
			_bg=$!
			_pid=
			# FN runs in a subshell (and under timeout), so find the VMM by name while it runs.
			while [ -z "$_pid" ] && kill -0 "$_bg" 2>/dev/null; do
				_pid=$(pidof "$_proc" | awk '{ print $1 }')
				[ -n "$_pid" ] || sleep 0.02
			done
			[ -n "$_pid" ] && _rss=$(sample_rss "$_pid")
			wait "$_bg"
		fi
		# shellcheck disable=SC2046,SC2086 # word splitting wanted: five numbers
		set -- $(stats "$T/$_v.times") $_rss
		awk -v n="$_label" -v med="$1" -v mn="$2" -v mx="$3" -v h="$4" -v o="$5" 'BEGIN {
			printf "%-24s %7s %7s %7s %9.1f %11.1f\n", n, med, mn, mx, h / 1024, o / 1024 }' >>"$T/table"
	done
}

[ -c /dev/kvm ] || { echo "bench: no /dev/kvm" >&2; exit 1; }
# The point of a long-lived sandbox: a command in a VM that is already up (no RSS column:
# the sandbox's VMM outlives each exec).
exec_true() {
	timeout 120 "$ARCA" exec bench-sb -- true </dev/null >"$T/exec.log" 2>&1
}
ROWS=qemu
if [ -x "$ARCA" ]; then
	ROWS="arca kaslr qemu"
	if warm_true; then
		echo "bench: snapshot for --warm made"
		ROWS="arca kaslr warm qemu"
	else
		printf '%-24s %s\n' "arca run --warm -- true" "FAILED (making the snapshot)" >>"$T/table"
		FAILED=1
	fi
else
	printf '%-24s %s\n' "arca run -- true" "n/a ($ARCA not built)" >>"$T/table"
fi
# shellcheck disable=SC2086 # one word per row
bench $ROWS
# After the others: the sandbox's idle VM would take memory and CPU from their runs.
SB=
[ -x "$ARCA" ] && "$ARCA" start --name bench-sb --memory "$MEM" </dev/null >"$T/exec.log" 2>&1 &&
	SB=1 && bench exec
if [ -n "$SB" ]; then
	"$ARCA" stop bench-sb </dev/null >/dev/null 2>&1
elif [ -x "$ARCA" ]; then
	printf '%-24s %s\n' "arca exec -- true" "n/a (arca start failed)" >>"$T/table"
fi

# Where the time goes: RUNS runs with --timings, the one with the median total printed.
# breakdown [--warm]
breakdown() {
	_i=0
	: >"$T/bd.totals"
	while [ "$_i" -lt "$N" ]; do
		timeout 120 "$ARCA" run --timings "$@" --memory "$MEM" -- true </dev/null >"$T/bd.$_i" 2>&1 ||
			{ echo "bench: arca run --timings failed:" >&2; tail -n 5 "$T/bd.$_i" >&2; return 1; }
		awk -v i="$_i" '/^arca:   total +[0-9]/ { print $NF, i }' "$T/bd.$_i" >>"$T/bd.totals"
		_i=$((_i + 1))
		echo "bench: --timings run $_i/$N: $(tail -n 1 "$T/bd.totals" | cut -d' ' -f1) ms"
	done
	_med=$(sort -n "$T/bd.totals" | awk '{ v[NR] = $2 } END { print v[int((NR + 1) / 2)] }')
	{
		echo "one run, the median of $N by total (arca run --timings $* -- true):"
		sed -n '/^arca: boot breakdown/,$p' "$T/bd.$_med" | sed 's/^arca: /  /'
	} >>"$T/bd.out"
}

# Many at once: N runs started together; the wall time until the last one ended.
# parallel [--warm]
parallel() {
	: >"$T/par"
	for _n in $PAR; do
		_t0=$(now)
		_j=0
		while [ "$_j" -lt "$_n" ]; do
			# No boot deadline here: N guests on fewer CPUs boot N/CPUs times slower by
			# design, which is what this measures.
			( timeout 900 "$ARCA" run "$@" --boot-timeout 0 --memory "$MEM" -- true </dev/null >"$T/par.$_j" 2>&1
			  echo $? >"$T/par.$_j.rc" ) &
			_j=$((_j + 1))
		done
		wait
		_t1=$(now)
		_bad=0 _j=0
		while [ "$_j" -lt "$_n" ]; do
			[ "$(cat "$T/par.$_j.rc")" = 0 ] || { _bad=$((_bad + 1)); tail -n 3 "$T/par.$_j" >&2; }
			_j=$((_j + 1))
		done
		[ "$_bad" = 0 ] || FAILED=1
		awk -v n="$_n" -v a="$_t0" -v b="$_t1" -v f="$_bad" 'BEGIN {
			printf "  %4d %9.2f %13.2f %7d\n", n, b - a, (b - a) / n, f }' >>"$T/par"
		echo "bench: $_n parallel runs $*: $(sub "$_t0" "$_t1") s, $_bad failed" >&2
	done
	echo "parallel runs (arca run $* -- true, guest RAM $MEM MiB; $(grep -c ^processor /proc/cpuinfo) CPUs here):"
	printf '  %4s %9s %13s %7s\n' N "wall s" "wall/N s" failed
	cat "$T/par"
}

if [ -x "$ARCA" ]; then
	: >"$T/bd.out"
	breakdown || FAILED=1
	breakdown --warm || FAILED=1
	if [ -n "$PAR" ]; then
		parallel >"$T/par.out"
		parallel --warm >>"$T/par.out"
	fi
fi
echo "boot benchmark: $N runs each, guest RAM $MEM MiB, kernel $(basename "$(readlink -f "$KERNEL")")"
printf '%-24s %7s %7s %7s %9s %11s\n' "" "median" "min" "max" "VmHWM" "RSS-non-RAM"
printf '%-24s %7s %7s %7s %9s %11s\n' "(wall time: s, RSS: MiB)" "s" "s" "s" "MiB" "MiB"
cat "$T/table"
for f in bd.out par.out; do
	[ -s "$T/$f" ] && { echo; grep -v '^bench: ' "$T/$f"; }
done
exit "$FAILED"
