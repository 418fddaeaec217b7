#!/bin/sh
# bench-in.sh DIR: the measurements of tests/bench/fs, run inside DIR (which holds fsbench and
# tree.tar) on whatever file system DIR is on. Prints "BENCH key=value" lines, "BENCH
# error=STEP" plus the tool's message for a failed step, and "BENCH done=1" at the end.
# env: BENCH_SEQ_MIB (default 256), BENCH_SEQ_REPS (default 3), BENCH_FILES (default 2000)
d=$1
cd "$d" || exit 1
o=${TMPDIR:-/tmp}/bench-in.$$
# b STEP RENAME ARG...: run fsbench ARG..., its key=value lines as BENCH lines (time_s renamed
# to RENAME), or its message and an error line.
b() {
	_step=$1 _as=$2
	shift 2
	if ./fsbench "$@" >"$o" 2>&1; then
		sed -e "s/^time_s=/$_as=/" -e 's/^/BENCH /' "$o"
	else
		sed 's/^/bench-in: /' "$o"
		echo "BENCH error=$_step"
	fi
}
# The sequential pass BENCH_SEQ_REPS times (default 3), each figure the median: one pass
# swings by 2x in a nested test host.
reps=${BENCH_SEQ_REPS:-3} i=0 ok=1
: >"$o.seq"
while [ "$i" -lt "$reps" ]; do
	if ./fsbench seq "$d/seq.dat" "${BENCH_SEQ_MIB:-256}" >"$o" 2>&1; then
		cat "$o" >>"$o.seq"
	else
		sed 's/^/bench-in: /' "$o"
		echo "BENCH error=seq"
		ok=0
		break
	fi
	i=$((i + 1))
done
if [ "$ok" = 1 ]; then
	for k in seq_write_MBps seq_read_MBps; do
		sed -n "s/^$k=//p" "$o.seq" | sort -n | awk -v k="$k" '{ v[NR] = $0 } END { print "BENCH " k "=" v[int((NR + 1) / 2)] }'
	done
	echo "BENCH seq_all=$(sed -n 's/^seq_\(write\|read\)_MBps=//p' "$o.seq" | tr '\n' ' ')"
	grep '^seq_read_cold=' "$o.seq" | tail -n 1 | sed 's/^/BENCH /'
fi
rm -f "$o.seq"
b files - files "$d/files" "${BENCH_FILES:-2000}"
mkdir -p "$d/x" || exit 1
b tar tar_x_s time tar -xf "$d/tree.tar" -C "$d/x"
echo "BENCH tar_files=$(find "$d/x" -type f | wc -l)"
b rm rm_rf_s time rm -rf "$d/x"
rm -f "$o"
echo "BENCH done=1"
