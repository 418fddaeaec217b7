#!/bin/sh
# bench-in.sh DIR: the measurements of tests/bench/fs, run inside DIR (which holds fsbench and
# tree.tar) on whatever file system DIR is on. Prints "BENCH key=value" lines, "BENCH
# error=STEP" plus the tool's message for a failed step, and "BENCH done=1" at the end.
# env: BENCH_SEQ_MIB (default 256), BENCH_FILES (default 2000)
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
b seq - seq "$d/seq.dat" "${BENCH_SEQ_MIB:-256}"
b files - files "$d/files" "${BENCH_FILES:-2000}"
mkdir -p "$d/x" || exit 1
b tar tar_x_s time tar -xf "$d/tree.tar" -C "$d/x"
echo "BENCH tar_files=$(find "$d/x" -type f | wc -l)"
b rm rm_rf_s time rm -rf "$d/x"
rm -f "$o"
echo "BENCH done=1"
