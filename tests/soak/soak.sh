#!/bin/sh
# Load and soak (make soak; not part of make test): 8 sandboxes in parallel, then N runs in a
# row (SOAK_RUNS, default 100), through the real `arca` binary. A scenario script with the
# e2e contract (tests/e2e/harness.sh), run by tests/e2e/run in the nested test host the same
# way (E2E_SCENARIOS=tests/soak/soak.sh), or natively as root: ARCA=./arca sh tests/soak/soak.sh
#
# Every run must exit with its command's status and print its own line; afterwards nothing
# may be left: no arca or arca-vmm process, no extra mount, no per-run cgroup, and the number
# of open fds of all processes (/proc/*/fd) back where it was (SOAK_FD_SLACK, 32; file-nr is
# a per-CPU estimate, too coarse for this).
# Prints `soak: ...` lines with the per-run wall time distribution (min / median / p90 / max),
# then `e2e-soak: N passed, N failed, N skipped`.

HERE=$(cd "$(dirname "$0")" && pwd)
# In the test host the runner puts harness.sh next to this script; in the tree it is in e2e/.
if [ -f "$HERE/harness.sh" ]; then
	# shellcheck source=../e2e/harness.sh
	. "$HERE/harness.sh" "$@"
else
	ARCA=${ARCA:-$HERE/../../arca}
	. "$HERE/../e2e/harness.sh" "$@"
fi

RUNS=${SOAK_RUNS:-100}
PAR=${SOAK_PARALLEL:-8}
FD_SLACK=${SOAK_FD_SLACK:-32}
# In the nested test host (QEMU TCG, 2 CPUs) 8 guests booting at once take minutes: the
# boot deadline and the per-run limit are raised for the parallel runs.
PAR_LIMIT=${SOAK_PARALLEL_LIMIT:-900}

exec 3>&1
say() { echo "soak: $*" >&3; }

files_open() {
	for _p in /proc/[0-9]*/fd; do ls "$_p" 2>/dev/null; done | wc -l
}

# What runs may leave behind; snapshot first, check after.
snapshot() {
	_m0=$(wc -l </proc/mounts)
	_f0=$(files_open)
}
leftovers() {
	_bad=
	for _p in /proc/[0-9]*; do
		case "$(cut -d' ' -f2 "$_p/stat" 2>/dev/null)" in
		"(arca)" | "(arca-vmm)") _bad="$_bad process-${_p#/proc/}" ;;
		esac
	done
	[ "$(wc -l </proc/mounts)" = "$_m0" ] || _bad="$_bad mounts($_m0->$(wc -l </proc/mounts))"
	_cg=$(ls /sys/fs/cgroup/arca 2>/dev/null | grep '^run-')
	[ -z "$_cg" ] || _bad="$_bad cgroups($(echo $_cg))"
	_f1=$(files_open)
	[ "$_f1" -le $((_f0 + FD_SLACK)) ] || _bad="$_bad open-files($_f0->$_f1)"
	say "after: open fds of all processes $_f0 -> $_f1, mounts $_m0 -> $(wc -l </proc/mounts)"
	[ -z "$_bad" ] || { echo "left behind:$_bad"; return 1; }
}

# dist FILE: "min X median Y p90 Z max W (s)" of the numbers in FILE, one a line.
dist() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "no runs"; exit }
		p = int(NR * 0.9 + 0.999999); if (p < 1) p = 1
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "n=%d min %.2f median %.2f p90 %.2f max %.2f (s)\n", NR, v[1], m, v[p], v[NR] }'
}

# one_run I DIR LIMIT [ARCA_ARGS...]: one sandbox printing its index and exiting with I % 50
# (stdout DIR/I.out, stderr DIR/I.err, status DIR/I.rc, wall seconds DIR/I.t).
one_run() {
	_n=$1 _d=$2 _l=$3
	shift 3
	_s=$(now)
	timeout -k 10 "$_l" "$ARCA" run "$@" -- sh -c "echo run-$_n; exit $((_n % 50))" \
		</dev/null >"$_d/$_n.out" 2>"$_d/$_n.err"
	echo $? >"$_d/$_n.rc"
	awk -v a="$_s" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }' >"$_d/$_n.t"
}

# check_runs DIR N: every run's status and line; their times into DIR/times.
check_runs() {
	_bad=0
	: >"$1/times"
	_i=0
	while [ "$_i" -lt "$2" ]; do
		_rc=$(cat "$1/$_i.rc" 2>/dev/null)
		if [ "$_rc" != $((_i % 50)) ] || [ "$(cat "$1/$_i.out" 2>/dev/null)" != "run-$_i" ]; then
			echo "run $_i: status ${_rc:-none} (want $((_i % 50))), stdout '$(head -c 80 "$1/$_i.out" 2>/dev/null)', stderr: $(head -c 300 "$1/$_i.err" 2>/dev/null | tr '\n' '|' | sed 's/the guest never started/boot deadline/')"
			_bad=$((_bad + 1))
		fi
		cat "$1/$_i.t" >>"$1/times" 2>/dev/null
		_i=$((_i + 1))
	done
	[ "$_bad" = 0 ] || { echo "$_bad of $2 runs failed"; return 1; }
}

sc_soak_parallel() {
	snapshot
	mkdir -p "$T/par" || return 1
	_t0=$(now)
	_i=0
	while [ "$_i" -lt "$PAR" ]; do
		one_run "$_i" "$T/par" "$PAR_LIMIT" --memory 128 --boot-timeout "$PAR_LIMIT" &
		_i=$((_i + 1))
	done
	wait
	_wall=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	check_runs "$T/par" "$PAR" || { say "parallel: per run $(dist "$T/par/times")"; return 1; }
	say "parallel: $PAR sandboxes (--memory 128) at once, all ok in ${_wall}s; per run $(dist "$T/par/times")"
	leftovers
}

sc_soak_sequential() {
	snapshot
	mkdir -p "$T/seq" || return 1
	_t0=$(now)
	_i=0
	while [ "$_i" -lt "$RUNS" ]; do
		one_run "$_i" "$T/seq" "$LIMIT"
		if [ $((_i % 10)) = 9 ]; then
			cat "$T"/seq/*.t >"$T/seq/sofar"
			say "sequential: $((_i + 1)) of $RUNS done, so far $(dist "$T/seq/sofar")"
		fi
		_i=$((_i + 1))
	done
	_wall=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	check_runs "$T/seq" "$RUNS" || { say "sequential: per run $(dist "$T/seq/times")"; return 1; }
	say "sequential: $RUNS runs, all ok in ${_wall}s; per run $(dist "$T/seq/times")"
	leftovers
}

NO_VM=""
NEEDS_VM="soak_parallel soak_sequential"

harness_run e2e-soak
