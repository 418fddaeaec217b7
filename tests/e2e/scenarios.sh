#!/bin/sh
# End-to-end scenarios through the real `arca` binary. POSIX sh: runs under busybox sh in the
# nested test host (tests/e2e/run) as well as natively.
#
#   scenarios.sh [-k PATTERN]      PATTERN: shell glob matched against scenario names
#                                  (implicitly *PATTERN*)
#   env: ARCA (default: arca next to the repo), CI=true turns skips into failures.
#
# Output: one line per scenario, `ok NAME` / `not ok NAME: reason` / `skip NAME: reason`,
# then exactly `e2e: N passed, N failed, N skipped`. Exit status 1 if anything failed.
#
# Every scenario that boots a VM costs ~10 s in the nested host, so each boot checks as much
# as is natural for it; option errors and --version never boot.

HERE=$(cd "$(dirname "$0")" && pwd)
ARCA=${ARCA:-$HERE/../../arca}
PATTERN=
while [ $# -gt 0 ]; do
	case "$1" in
	-k) PATTERN=$2; shift 2 ;;
	-k*) PATTERN=${1#-k}; shift ;;
	*) echo "usage: $0 [-k PATTERN]" >&2; exit 2 ;;
	esac
done

# Harness limit per arca invocation: a stalled inner VM fails its scenario instead of the run.
LIMIT=${E2E_ARCA_LIMIT:-120}
T=$(mktemp -d "${TMPDIR:-/tmp}/arca-e2e.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
PASS=0 FAIL=0 SKIP=0

# ---- helpers -------------------------------------------------------------------------------
now() { read -r _u _ </proc/uptime; echo "$_u"; }

# arca ARG...: run arca under the harness timeout; stdout/stderr go to $T/out and $T/err,
# stdin is the caller's. Sets RC.
arca() {
	timeout "$LIMIT" "$ARCA" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# why: a short description of the last arca call for failure messages.
why() {
	_e=$(head -c 200 "$T/err" | tr '\n' '|')
	if [ "$RC" = 143 ] || [ "$RC" = 124 ] && [ "${1:-}" != timeout ]; then
		echo "status $RC (harness limit ${LIMIT}s hit? stalled VM) stderr: $_e"
	else
		echo "status $RC, stderr: $_e"
	fi
}

# one_line_error: arca's own errors are exactly one non-empty line on stderr, nothing on stdout.
one_line_error() {
	[ -s "$T/err" ] || { echo "no message on stderr"; return 1; }
	_n=$(wc -l <"$T/err")
	[ "$_n" -le 1 ] || { echo "$_n lines on stderr, want one: $(head -c 200 "$T/err" | tr '\n' '|')"; return 1; }
	[ ! -s "$T/out" ] || { echo "unexpected stdout: $(head -c 100 "$T/out")"; return 1; }
	return 0
}

need_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && return 0
	echo "no usable /dev/kvm"
	return 1
}

# ---- scenarios: each prints nothing on success, a reason and non-zero on failure, or
# ---- "SKIP: reason" and status 77 to be skipped. NEEDS_VM lists those that boot.

sc_version() {
	arca --version </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	[ -s "$T/out" ] || { echo "no version on stdout"; return 1; }
}

sc_help() {
	arca help </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	grep -q run "$T/out" "$T/err" || { echo "help does not mention run"; return 1; }
}

sc_bad_cpus() {
	arca run --cpus 0 -- true </dev/null
	[ "$RC" = 125 ] || { why; return 1; }
	one_line_error
}

sc_bad_option() {
	arca run --bogus -- true </dev/null
	[ "$RC" = 125 ] || { why; return 1; }
	one_line_error
}

sc_bad_memory() {
	arca run --memory lots -- true </dev/null
	[ "$RC" = 125 ] || { why; return 1; }
	one_line_error
}

sc_no_command() {
	arca run </dev/null
	[ "$RC" = 125 ] || { why; return 1; }
	one_line_error
}

sc_missing_kernel() {
	arca run --kernel /nonexistent/vmlinuz -- true </dev/null
	[ "$RC" = 125 ] || { why; return 1; }
	one_line_error
}

sc_exit_0() {
	arca run -- true </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	[ ! -s "$T/out" ] || { echo "unexpected stdout: $(head -c 100 "$T/out")"; return 1; }
}

sc_exit_7() {
	arca run -- sh -c 'exit 7' </dev/null
	[ "$RC" = 7 ] || { why; return 1; }
}

sc_signal() {
	arca run -- sh -c 'kill -9 $$' </dev/null
	[ "$RC" = 137 ] || { why; return 1; }
}

# stdout and stderr stay separate and byte-exact: no trailing newline, a blank line, a CR
# (a tty in the path would turn \n into \r\n), and bytes written in an interleaved order.
sc_stdio_split() {
	printf 'a\nb\n\nc\r\nd' >"$T/want_out"
	printf 'err1\nerr2' >"$T/want_err"
	arca run -- sh -c "printf 'a\\nb\\n'; printf 'err1\\n' >&2; printf '\\nc\\r\\nd'; printf 'err2' >&2" </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	cmp -s "$T/out" "$T/want_out" || { echo "stdout differs: $(od -c "$T/out" | head -n 3 | tr '\n' '|')"; return 1; }
	cmp -s "$T/err" "$T/want_err" || { echo "stderr differs: $(od -c "$T/err" | head -n 3 | tr '\n' '|')"; return 1; }
}

sc_stdin_5mib() {
	head -c 5242880 /dev/urandom >"$T/in"
	arca run -- cat <"$T/in"
	[ "$RC" = 0 ] || { why; return 1; }
	_a=$(sha256sum <"$T/in" | cut -d' ' -f1)
	_b=$(sha256sum <"$T/out" | cut -d' ' -f1)
	[ "$_a" = "$_b" ] || { echo "stdout ($(wc -c <"$T/out") bytes) differs from 5 MiB stdin"; return 1; }
}

sc_stdin_eof() {
	arca run -- cat </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	[ ! -s "$T/out" ] || { echo "unexpected stdout: $(head -c 100 "$T/out")"; return 1; }
}

sc_env_workdir() {
	arca run -e FOO=bar -e 'SPACED=a b' -w /tmp -- sh -c 'echo "$FOO"; echo "$SPACED"; pwd' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	printf 'bar\na b\n/tmp\n' >"$T/want"
	cmp -s "$T/out" "$T/want" || { echo "got: $(tr '\n' '|' <"$T/out")"; return 1; }
}

sc_cpus_memory() {
	arca run --cpus 2 --memory 256 -- sh -c 'grep -c ^processor /proc/cpuinfo; grep ^MemTotal: /proc/meminfo' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	_c=$(sed -n 1p "$T/out")
	_m=$(sed -n '2s/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$T/out")
	[ "$_c" = 2 ] || { echo "--cpus 2: guest sees '$_c' CPUs"; return 1; }
	[ -n "$_m" ] || { echo "no MemTotal in: $(tr '\n' '|' <"$T/out")"; return 1; }
	# MemTotal excludes the kernel's own reservations, so it is a bit under 256 MiB.
	[ "$_m" -ge $((200 * 1024)) ] && [ "$_m" -le $((256 * 1024)) ] ||
		{ echo "--memory 256: MemTotal ${_m} kB"; return 1; }
}

sc_not_found() {
	arca run -- arca-no-such-command </dev/null
	[ "$RC" = 127 ] || { why; return 1; }
	[ -s "$T/err" ] || { echo "no message on stderr"; return 1; }
}

sc_not_executable() {
	arca run -- /proc/cpuinfo </dev/null
	[ "$RC" = 126 ] || { why; return 1; }
	[ -s "$T/err" ] || { echo "no message on stderr"; return 1; }
}

sc_timeout() {
	_t0=$(now)
	arca run --timeout 3 -- sleep 60 </dev/null
	_dt=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
	[ "$RC" = 124 ] || { why timeout; return 1; }
	# The guest's sleep would take 60 s; boot plus 3 s plus teardown must stay well under.
	[ "$_dt" -lt 45 ] || { echo "took ${_dt}s"; return 1; }
	[ -s "$T/err" ] || { echo "no message on stderr"; return 1; }
}

# Order: cheap option checks first, then one VM boot each.
NO_VM="version help bad_cpus bad_option bad_memory no_command missing_kernel"
NEEDS_VM="exit_0 exit_7 signal stdio_split stdin_5mib stdin_eof env_workdir cpus_memory not_found not_executable timeout"

report() { # NAME STATUS REASON
	case "$2" in
	0) echo "ok $1"; PASS=$((PASS + 1)) ;;
	77)
		if [ "${CI:-}" = true ]; then
			echo "not ok $1: skipped, and skips fail in CI: $3"; FAIL=$((FAIL + 1))
		else
			echo "skip $1: $3"; SKIP=$((SKIP + 1))
		fi ;;
	*) echo "not ok $1: ${3:-failed}"; FAIL=$((FAIL + 1)) ;;
	esac
}

for name in $NO_VM $NEEDS_VM; do
	if [ -n "$PATTERN" ]; then
		# shellcheck disable=SC2254
		case "$name" in *$PATTERN*) ;; *) continue ;; esac
	fi
	rm -f "$T/out" "$T/err"
	if [ ! -x "$ARCA" ]; then
		report "$name" 1 "$ARCA is not an executable"
		continue
	fi
	case " $NEEDS_VM " in
	*" $name "*)
		if ! _r=$(need_kvm); then report "$name" 77 "$_r"; continue; fi ;;
	esac
	_r=$("sc_$name" 2>&1)
	report "$name" $? "$(echo "$_r" | tr '\n' ' ' | sed 's/ *$//')"
done

echo "e2e: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
