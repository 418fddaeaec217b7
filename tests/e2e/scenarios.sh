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
# shellcheck source=harness.sh
. "$HERE/harness.sh" "$@"

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

# --timings: the boot breakdown (vmm/timeline.h) on stderr at the end and nothing else there:
# every step timed, the command's step covers its 1 s sleep, the steps add up to the total,
# stdout untouched. --verbose prints it too, after the console and init's log, and says the
# kernel booted is the one decompressed into the cache (the default); --kaslr boots the bzImage.
# breakdown_ok MIN_CMD_MS: the VMM's 11 steps add up to its total, then the launcher's 4 lines
# (its own start, the VMM's exit, its clean-up, and a whole total no less than the VMM's) and,
# indented under them, its 9 own steps, which fit in the breakdown's launcher step.
breakdown_ok() {
	sed -n '/^arca: boot breakdown/,$p' "$T/err" | awk '
		/^arca:     / { v = $NF; nd++; ds += v; if (!after || v == "?" || v < 0) bad = 1; next }
		/^arca:   / && after { v = $NF; m++; if (v == "?" || v < 0) bad = 1
			if ($0 ~ /total, arca/) whole = v; next }
		/^arca:   / { v = $NF; if (v == "?") { print "untimed step: " $0; bad = 1 }
			if ($0 ~ /total/) { total = v; after = 1 } else { sum += v; n++ }
			if ($0 ~ /arca:   launcher:/) launch = v
			if ($0 ~ /arca:   the command /) cmd = v }
		END { if (bad) { print "an untimed or negative line"; exit 1 }
			if (n != 11) { print n " steps, want 11"; exit 1 }
			if (m != 4) { print m " lines after the total, want 4"; exit 1 }
			if (nd != 9) { print nd " launcher steps, want 9"; exit 1 }
			if (ds > launch + 1) { print "launcher steps " ds " ms, more than its " launch; exit 1 }
			if (whole < total) { print "arca total " whole " below the VMM total " total; exit 1 }
			if (cmd < '"$1"' || cmd > 60000) { print "command step " cmd " ms"; exit 1 }
			d = total - sum; if (d < 0) d = -d
			if (d > 1) { print "steps add up to " sum " ms, total " total; exit 1 } }' ||
		{ sed -n '/^arca: boot breakdown/,$p' "$T/err" | tr '\n' '|'; echo; return 1; }
}

sc_timings() {
	arca run --timings -- sh -c 'sleep 1; echo out' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	[ "$(cat "$T/out")" = out ] || { why; return 1; }
	[ "$(head -n 1 "$T/err")" = "arca: boot breakdown, ms (arca-init's steps by the guest's clock):" ] ||
		{ echo "stderr does not start with the breakdown: $(head -c 300 "$T/err" | tr '\n' '|')"; return 1; }
	[ "$(grep -vc '^arca:   ' "$T/err")" = 1 ] || { echo "more than the breakdown on stderr: $(head -c 600 "$T/err" | tr '\n' '|')"; return 1; }
	breakdown_ok 1000 || return 1
	arca run --verbose -- sh -c 'exit 4' </dev/null
	[ "$RC" = 4 ] || { why; return 1; }
	grep -q '^arca-init: ' "$T/err" || { echo "no init log with --verbose"; return 1; }
	grep -q '^arca: booting the decompressed kernel from the cache' "$T/err" ||
		{ echo "not the decompressed kernel by default: $(grep -m 3 '^arca: ' "$T/err" | tr '\n' '|')"; return 1; }
	breakdown_ok 0 || return 1
	# Where the guest kernel's text starts (the guest's root reads
	# /proc/kallsyms unmasked): the link-time base without --kaslr, a
	# randomized one with it (the decompressor picks one of ~500 slots; the
	# link-time base twice in a row is a 1 in ~250,000 chance).
	local text='grep -m 1 " _text$" /proc/kallsyms; exit 5' try
	arca run -- sh -c "$text" </dev/null
	[ "$RC" = 5 ] && grep -q '^ffffffff81000000 ' "$T/out" ||
		{ echo "default: _text not at the link-time base: $(head -c 200 "$T/out")"; why; return 1; }
	# --kaslr: the bzImage through its own decompressor, same result
	for try in 1 2; do
		arca run --kaslr --verbose -- sh -c "$text" </dev/null
		[ "$RC" = 5 ] && grep -q '^ffffffff[0-9a-f]* [Tt] _text$' "$T/out" || { why; return 1; }
		grep -q '^ffffffff81000000 ' "$T/out" || break
		[ "$try" = 2 ] && { echo "--kaslr: _text at the link-time base twice: $(cat "$T/out")"; return 1; }
	done
	grep -q '^arca: booting the decompressed kernel' "$T/err" &&
		{ echo "the decompressed kernel with --kaslr"; return 1; }
	breakdown_ok 0
}

# --warm (vmm/warm.h, launcher/snapcache.h): the first run of a configuration boots and saves a
# snapshot at arca-init's HELLO; the next ones start from it. A private cache dir makes "first"
# certain. Warm runs give what cold ones give: stdout/stderr split and exact, exit codes, a
# signal's 128+N, stdin, env and workdir, a share's files both ways; each restored guest has the
# host's time and its own random numbers; two at once do not see each other's writes.
warm_run() { ARCA_CACHE_DIR=$WCACHE arca run --warm "$@"; }
sc_warm() {
	WCACHE=$T/wcache
	mkdir -p "$T/ws" && chmod 0777 "$T/ws" && echo host >"$T/ws/in" || return 1
	warm_run --verbose -v "$T/ws:/w" -- sh -c 'echo cold; exit 3' </dev/null
	[ "$RC" = 3 ] && [ "$(cat "$T/out")" = cold ] || { why; return 1; }
	grep -q '^arca: --warm: booting, then saving ' "$T/err" &&
		grep -q '^arca-vmm: snapshot saved in ' "$T/err" &&
		grep -q '^arca: snapshot stored as ' "$T/err" ||
		{ echo "no snapshot made: $(grep -m 5 -e warm -e snapshot "$T/err" | tr '\n' '|')"; return 1; }
	_snap=$(ls "$WCACHE"/snap-*.arca) && [ "$(echo "$_snap" | wc -l)" = 1 ] ||
		{ echo "snapshots in the cache: $(ls "$WCACHE" | tr '\n' ' ')"; return 1; }
	[ "$(stat -c '%u %a' "$_snap")" = "0 600" ] || { echo "snapshot $(stat -c '%u %a' "$_snap")"; return 1; }
	# the same VM again: restored, and everything as a cold run has it
	printf 'a\nb\n\nc\r\nd' >"$T/want_out"
	printf 'err1\nerr2' >"$T/want_err"
	warm_run -v "$T/ws:/w" -- sh -c "printf 'a\\nb\\n'; printf 'err1\\n' >&2; printf '\\nc\\r\\nd'; printf 'err2' >&2; exit 4" </dev/null
	[ "$RC" = 4 ] || { why; return 1; }
	cmp -s "$T/out" "$T/want_out" && cmp -s "$T/err" "$T/want_err" ||
		{ echo "warm stdio differs: $(why)"; return 1; }
	warm_run --verbose -v "$T/ws:/w" -e K=v -w /w -- sh -c 'echo "$K $(pwd) $(cat in)"; echo guest >out; kill -9 $$' </dev/null
	[ "$RC" = 137 ] && [ "$(cat "$T/out")" = "v /w host" ] && [ "$(cat "$T/ws/out")" = guest ] || { why; return 1; }
	grep -q '^arca: --warm: starting from ' "$T/err" && grep -q '^arca-vmm: restored from the snapshot in ' "$T/err" ||
		{ echo "not restored: $(grep -m 5 -e warm -e snapshot "$T/err" | tr '\n' '|')"; return 1; }
	warm_run --timings -v "$T/ws:/w" -- sh -c 'sleep 1' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	breakdown_ok 1000 || return 1
	head -c 100000 /dev/urandom >"$T/in"
	warm_run -v "$T/ws:/w" -- sh -c 'cat; echo; date +%s' <"$T/in"
	[ "$RC" = 0 ] && [ "$(head -c 100000 "$T/out" | sha256sum)" = "$(sha256sum <"$T/in")" ] ||
		{ echo "stdin: $(why)"; return 1; }
	_d=$(tail -n 1 "$T/out"); _now=$(date +%s)
	[ $((_now - _d)) -le 30 ] && [ $((_d - _now)) -le 30 ] || { echo "guest clock $_d, host $_now"; return 1; }
	# two at once, from the same snapshot: their own memory, their own random numbers
	# (In the nested test host a guest may triple-fault under load, as the harness's arca
	# retries once: so is this pair.)
	for _try in 1 2; do
		for _i in 1 2; do
			( ARCA_CACHE_DIR=$WCACHE timeout -k 10 "$LIMIT" "$ARCA" run --warm -v "$T/ws:/w" -- sh -c \
				"[ -e /tmp/x ] && echo seen; echo $_i >/tmp/x; sleep 2; cat /tmp/x; head -c 16 /dev/urandom | od -An -tx1" \
				</dev/null >"$T/p$_i" 2>"$T/p$_i.err"; echo $? >"$T/p$_i.rc" ) &
		done
		wait
		[ -n "${ARCA_E2E_NESTED:-}" ] && [ "$_try" = 1 ] &&
			grep -q "the guest reset (triple fau" "$T/p1.err" "$T/p2.err" || break
		echo "note: warm: a guest reset (triple fault) in the nested test host; the pair once more"
	done
	[ "$(head -n 1 "$T/p1")" = 1 ] && [ "$(head -n 1 "$T/p2")" = 2 ] ||
		{ echo "parallel runs: $(cat "$T/p1" "$T/p2" | tr '\n' '|') status $(cat "$T/p1.rc") $(cat "$T/p2.rc"), stderr: $(tail -c 300 "$T/p1.err" | tr '\n' '|') / $(tail -c 300 "$T/p2.err" | tr '\n' '|')"; return 1; }
	[ "$(sed -n 2p "$T/p1")" != "$(sed -n 2p "$T/p2")" ] && [ -n "$(sed -n 2p "$T/p1")" ] ||
		{ echo "the same random numbers: $(cat "$T/p1" "$T/p2" | tr '\n' '|')"; return 1; }
	[ "$(ls "$WCACHE"/snap-*.arca)" = "$_snap" ] ||
		{ echo "another snapshot appeared: $(ls "$WCACHE" | tr '\n' ' ') $(cat "$T/p1.err" "$T/p2.err" | tr '\n' '|')"; return 1; }
}

# A snapshot is only used for the VM it was made for: other cpus make another one. One that
# is truncated, foreign-owned or writable by others is refused, removed and made again; a
# --disk run boots as usual.
sc_warm_refuse() {
	WCACHE=$T/wcache-refuse
	warm_run -- true </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	_snap=$(ls "$WCACHE"/snap-*.arca) || { echo "no snapshot made"; return 1; }
	warm_run --verbose --cpus 2 -- sh -c 'nproc' </dev/null
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = 2 ] && grep -q '^arca: --warm: booting, then saving ' "$T/err" ||
		{ echo "--cpus 2: $(why)"; return 1; }
	[ "$(ls "$WCACHE"/snap-*.arca | wc -l)" = 2 ] || { echo "cache: $(ls "$WCACHE" | tr '\n' ' ')"; return 1; }
	for _bad in truncate chown chmod; do
		case $_bad in
		truncate) truncate -s $(($(stat -c %s "$_snap") - 4096)) "$_snap" ;;
		chown) chown 12345 "$_snap" ;;
		chmod) chmod 0622 "$_snap" ;;
		esac
		warm_run --verbose -- sh -c 'echo again' </dev/null
		[ "$RC" = 0 ] && [ "$(cat "$T/out")" = again ] || { echo "$_bad: $(why)"; return 1; }
		grep -q '^arca: --warm: refused .*; making a new one' "$T/err" &&
			grep -q '^arca: snapshot stored as ' "$T/err" ||
			{ echo "$_bad: not refused and made again: $(grep -m 5 -e warm -e snapshot "$T/err" | tr '\n' '|')"; return 1; }
		[ "$(stat -c '%u %a' "$_snap")" = "0 600" ] || { echo "$_bad: remade as $(stat -c '%u %a' "$_snap")"; return 1; }
	done
	warm_run --verbose -- sh -c 'echo warm' </dev/null
	[ "$RC" = 0 ] && grep -q '^arca: --warm: starting from ' "$T/err" || { echo "not restored after remaking: $(why)"; return 1; }
	truncate -s 8M "$T/d.img" || return 1
	warm_run --verbose --disk "$T/d.img,id=d" -- sh -c 'test -b /dev/disk/by-id/virtio-d && echo disk' </dev/null
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = disk ] && grep -q 'arca: --warm: booting as usual: disks' "$T/err" ||
		{ echo "--disk: $(why)"; return 1; }
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
	# --ulimit rides along: the limits reach the command (ARCA_SPEC_RLIMIT).
	arca run -e FOO=bar -e 'SPACED=a b' -w /tmp --ulimit nofile=64:128 -- \
		sh -c 'echo "$FOO"; echo "$SPACED"; pwd; ulimit -Sn; ulimit -Hn' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	printf 'bar\na b\n/tmp\n64\n128\n' >"$T/want"
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

# ---- arca-vmm's seccomp confinement (policy/, vmm/seccomp_thread.c) -----------------------

# status_field FILE NAME: the value of "NAME:\tVALUE" in a /proc status file.
status_field() { sed -n "s/^$2:[[:space:]]*//p" "$1" 2>/dev/null | head -n 1; }

# A running VM's VMM: no_new_privs, and every thread (main + each vCPU) in seccomp filter
# mode with the same number of filters, i.e. the vCPUs did not inherit the main thread's.
sc_vmm_seccomp() {
	timeout "$LIMIT" "$ARCA" run --cpus 2 -- sh -c 'echo up; sleep 6' \
		</dev/null >"$T/out" 2>"$T/err" &
	_apid=$!
	# "up" on stdout means guest code runs, so every filter is in (the barrier).
	_i=0
	while ! grep -q up "$T/out" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -lt 900 ] || { kill "$_apid"; echo "guest never printed up: $(cat "$T/err")"; return 1; }
		sleep 0.1
	done
	_vpid=$(pidof arca-vmm | awk '{ print $1 }')
	[ -n "$_vpid" ] || { echo "no arca-vmm process while the VM runs"; return 1; }
	_st=/proc/$_vpid/status
	_sc=$(status_field "$_st" Seccomp)
	_nnp=$(status_field "$_st" NoNewPrivs)
	_nf=$(status_field "$_st" Seccomp_filters)
	_bad=
	_ntask=0
	for _t in /proc/"$_vpid"/task/*; do
		# io_uring's kernel worker threads (iou-wrk-*) come and go with the
		# shares' I/O; they inherit their share thread's filter, so they are
		# checked below like the others but not counted.
		case "$(cat "$_t/comm" 2>/dev/null)" in iou-*) ;; *) _ntask=$((_ntask + 1)) ;; esac
		[ "$(status_field "$_t/status" Seccomp)" = 2 ] || _bad="$_bad ${_t##*/}:seccomp=$(status_field "$_t/status" Seccomp)"
		[ "$(status_field "$_t/status" Seccomp_filters)" = "$_nf" ] ||
			_bad="$_bad ${_t##*/}:filters=$(status_field "$_t/status" Seccomp_filters)/$_nf"
	done
	wait "$_apid"
	RC=$?
	[ "$_sc" = 2 ] || { echo "Seccomp: '$_sc', want 2"; return 1; }
	[ "$_nnp" = 1 ] || { echo "NoNewPrivs: '$_nnp', want 1"; return 1; }
	# main + 2 vCPUs + the share thread of the default root (the host's /usr)
	[ "$_ntask" = 4 ] || { echo "$_ntask threads, want 4 (main + 2 vCPUs + /usr share)"; return 1; }
	[ -z "$_bad" ] || { echo "threads not confined alike:$_bad"; return 1; }
	[ "$RC" = 0 ] || { why; return 1; }
}

# Test builds of arca-vmm (ARCA_TEST_HOOKS) make a forbidden call on purpose right after the
# filters go in: build/test/trap-{main,vcpu}/arca-vmm through arca (ARCA_LIBEXEC points at a
# copy; ARCA_CACHE_DIR keeps the base initrd, keyed by the arca-init path, out of the shared
# cache): arca exits 125 and its one stderr line names the call and the thread. Then
# build/test/arca-vmm by hand with --no-seccomp: the same call goes through, with a warning.
sc_vmm_seccomp_trap() {
	_top=$(cd "$(dirname "$ARCA")" && pwd)
	for _c in main vcpu; do
		_tv=$_top/build/test/trap-$_c/arca-vmm
		[ -x "$_tv" ] || { echo "SKIP: $_tv not built (make e2e builds it)"; return 77; }
		mkdir -p "$T/libexec-$_c" || return 1
		cp "$_tv" "$T/libexec-$_c/arca-vmm" && cp "$_top/arca-init" "$T/libexec-$_c/" || return 1
		ARCA_LIBEXEC=$T/libexec-$_c ARCA_CACHE_DIR=$T/cache arca run -- echo hi </dev/null
		[ "$RC" = 125 ] || { echo "$_c: $(why)"; return 1; }
		grep -q "^arca: arca-vmm made a forbidden system call: socket (nr 41) in the $_c thread\$" "$T/err" ||
			{ echo "$_c: $(why)"; return 1; }
		one_line_error || { echo "$_c"; return 1; }
	done
	_tv=$_top/build/test/arca-vmm
	[ -x "$_tv" ] || { echo "SKIP: $_tv not built (make e2e builds it)"; return 77; }
	timeout 3 "$_tv" --no-seccomp --test-forbidden-syscall=vcpu --kvm-fd=3 --kernel-fd=4 \
		--cmdline=console=ttyS0 3<>/dev/kvm 4<"$_top/build/kernel/vmlinuz" >"$T/out" 2>"$T/err" </dev/null
	grep -q "warning: --no-seccomp" "$T/err" || { echo "--no-seccomp: no warning: $(head -c 300 "$T/err")"; return 1; }
	grep -q "socket() in the vcpu thread was not stopped" "$T/err" ||
		{ echo "--no-seccomp: hook did not run: $(head -c 300 "$T/err")"; return 1; }
	! grep -q "forbidden system call" "$T/err" || { echo "--no-seccomp: still confined"; return 1; }
}

# Order: cheap option checks first, then one VM boot each.
# ---- privilege separation (launcher/jail.c, cgroup.c, privsep.c) ---------------------------

# vmm_of PID: the arca-vmm process whose parent is PID (after its exec: argv[0] arca-vmm).
vmm_of() {
	for _p in /proc/[0-9]*; do
		[ "$(cut -d' ' -f4 "$_p/stat" 2>/dev/null)" = "$1" ] || continue
		[ "$(head -c 8 "$_p/cmdline" 2>/dev/null)" = arca-vmm ] && { echo "${_p#/proc/}"; return 0; }
	done
	return 1
}

# wait_vmm PID: wait (up to 90 s) for PID's arca-vmm; sets VMM.
wait_vmm() {
	_i=0
	while ! VMM=$(vmm_of "$1"); do
		_i=$((_i + 1))
		[ "$_i" -lt 900 ] && kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
}

need_root() {
	[ "$(id -u)" = 0 ] && return 0
	echo "SKIP: needs root (simulates sudo with SUDO_UID)"
	return 77
}

# As root with SUDO_UID/SUDO_GID (what sudo sets), the VMM of a running VM: runs as 1000:1000
# with no groups, no capability in any set, no_new_privs; sees an empty root (or, for a
# dynamically linked arca-vmm, only its loader and libraries); has its own mount/pid/net/ipc/
# uts namespaces; holds no fd but stdio, its four inputs and anonymous inodes it made itself;
# lives in a cgroup with the computed limits. Afterwards nothing is left behind.
sc_privsep() {
	need_root || return $?
	_mounts=$(wc -l </proc/mounts)
	SUDO_UID=1000 SUDO_GID=1000 "$ARCA" run -- sleep 3 </dev/null >"$T/out" 2>"$T/err" &
	_a=$!
	wait_vmm "$_a" || { kill -9 "$_a" 2>/dev/null; echo "no arca-vmm appeared: $(head -c 200 "$T/err")"; return 1; }
	_s=/proc/$VMM/status
	_bad=
	[ "$(status_field "$_s" Uid)" = "$(printf '1000\t1000\t1000\t1000')" ] || _bad="$_bad Uid=$(status_field "$_s" Uid)"
	[ "$(status_field "$_s" Gid)" = "$(printf '1000\t1000\t1000\t1000')" ] || _bad="$_bad Gid=$(status_field "$_s" Gid)"
	[ -z "$(status_field "$_s" Groups)" ] || _bad="$_bad Groups=$(status_field "$_s" Groups)"
	for _f in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(status_field "$_s" $_f)" = 0000000000000000 ] || _bad="$_bad $_f=$(status_field "$_s" $_f)"
	done
	[ "$(status_field "$_s" NoNewPrivs)" = 1 ] || _bad="$_bad NoNewPrivs=$(status_field "$_s" NoNewPrivs)"
	# Not dumpable: its /proc files belong to root, not to uid 1000, so no process of that
	# user can open its memory (PR_SET_DUMPABLE 0).
	[ "$(stat -c %u /proc/$VMM/mem)" = 0 ] || _bad="$_bad dumpable(mem owned by $(stat -c %u /proc/$VMM/mem))"
	for _n in mnt pid net ipc uts cgroup; do
		[ "$(readlink /proc/$VMM/ns/$_n)" != "$(readlink /proc/self/ns/$_n)" ] || _bad="$_bad same-$_n-ns"
	done
	# The root: empty (arca-vmm is static, so not even a loader is bound in).
	for _e in $(ls -A /proc/$VMM/root/); do _bad="$_bad root-has-$_e"; done
	touch /proc/$VMM/root/x 2>/dev/null && _bad="$_bad root-writable"
	[ "$(readlink /proc/$VMM/fd/3)" = /dev/kvm ] || _bad="$_bad fd3=$(readlink /proc/$VMM/fd/3)"
	for _fd in /proc/$VMM/fd/*; do
		_n=${_fd##*/}
		[ "$_n" -le 6 ] && continue
		# fd 7: the result pipe (--result-fd); fd 8, the log (--log-fd), is on 2 by
		# now; fds 9 and 10 are --warm's (snapshot, spec: launcher/jail.h), not passed
		# here, so the copy of the command's stderr that --log-fd set aside (arca's
		# stderr here) lands on 9; fd 11: the default root's share (the host's /usr, a
		# detached mount of its own, so its path reads as "/": launcher/sharemnt.h),
		# fd 12: the VMM's own /proc/self/fd (its FUSE server reopens files through it).
		case "$_n:$(readlink "$_fd")" in
		7:pipe:* | 11:/ | 12:/*/fd | *:anon_inode:* | "9:$T/err") ;;
		*) _bad="$_bad fd$_n=$(readlink "$_fd")" ;;
		esac
		# fd 12's procfs is the VMM's own pid namespace's, without /proc/sys:
		# '..' from it must show no host process and no kernel files.
		if [ "$_n" = 12 ]; then
			[ -d "$_fd/../../1" ] || _bad="$_bad procfs-unreadable"
			for _e in $(ls -A "$_fd/../.." 2>/dev/null); do
				case "$_e" in 1 | self | thread-self) ;; *) _bad="$_bad procfs-shows-$_e" ;; esac
			done
		fi
	done
	_cg=$(sed -n 's/^0:://p' /proc/$VMM/cgroup)
	# cgroup v2: its root file (busybox stat -f does not name cgroup2fs)
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		[ "$_cg" = "/arca/run-$_a" ] || _bad="$_bad cgroup=$_cg"
		[ "$(cat /sys/fs/cgroup/arca/run-$_a/memory.max 2>/dev/null)" = $(((512 + 256) * 1048576)) ] ||
			_bad="$_bad memory.max=$(cat /sys/fs/cgroup/arca/run-$_a/memory.max 2>&1)"
		# 1 vCPU + 8, + 3 for the default root's share (README: limits)
		[ "$(cat /sys/fs/cgroup/arca/run-$_a/pids.max 2>/dev/null)" = 12 ] ||
			_bad="$_bad pids.max=$(cat /sys/fs/cgroup/arca/run-$_a/pids.max 2>&1)"
	fi
	wait "$_a"
	RC=$?
	# A VMM gone before the checks ended: arca's own words (a guest reset in the nested test
	# host gets the harness's one retry from them).
	[ -z "$_bad" ] || { echo "VMM $VMM:$_bad (arca exited $RC: $(tail -c 300 "$T/err"))"; return 1; }
	[ "$RC" = 0 ] || { why; return 1; }
	[ ! -e "/sys/fs/cgroup/arca/run-$_a" ] || { echo "cgroup run-$_a left behind"; return 1; }
	[ "$(wc -l </proc/mounts)" = "$_mounts" ] || { echo "mounts changed: $(grep -c . /proc/mounts) vs $_mounts"; return 1; }
	! grep -q arca-jail /proc/mounts || { echo "a jail mount is visible on the host"; return 1; }
}

# arca killed with SIGKILL mid-run: the VMM dies with it (PDEATHSIG), its cgroup stays until
# the next run removes it; no mount is ever left on the host. `arca gc` finds nothing then.
sc_kill9_cleanup() {
	need_root || return $?
	"$ARCA" run -- sleep 60 </dev/null >/dev/null 2>&1 &
	_a=$!
	wait_vmm "$_a" || { kill -9 "$_a" 2>/dev/null; echo "no arca-vmm appeared"; return 1; }
	kill -9 "$_a"
	wait "$_a" 2>/dev/null
	_i=0
	while [ -d "/proc/$VMM" ]; do
		_i=$((_i + 1))
		[ "$_i" -lt 50 ] || { echo "arca-vmm $VMM outlived its arca"; kill -9 "$VMM"; return 1; }
		sleep 0.1
	done
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		[ -d "/sys/fs/cgroup/arca/run-$_a" ] || { echo "no stale cgroup to clean (test is moot)"; return 1; }
	fi
	arca run -- true </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	[ ! -e "/sys/fs/cgroup/arca/run-$_a" ] || { echo "the next run left run-$_a behind"; return 1; }
	_left=$(ls /sys/fs/cgroup/arca 2>/dev/null | grep '^run-')
	[ -z "$_left" ] || { echo "cgroups left: $_left"; return 1; }
	! grep -q arca-jail /proc/mounts || { echo "a jail mount is visible on the host"; return 1; }
	arca gc </dev/null
	[ "$RC" = 0 ] && grep -q "removed 0 " "$T/out" || { echo "gc: $(why) out: $(cat "$T/out")"; return 1; }
}

# SIGTERM to arca: forwarded; the VMM (PID 1 of its namespace, no handler) is SIGKILLed after
# the grace period; arca exits 128+15 and removes the cgroup.
sc_sigterm() {
	"$ARCA" run -- sleep 60 </dev/null >"$T/out" 2>"$T/err" &
	_a=$!
	wait_vmm "$_a" || { kill -9 "$_a" 2>/dev/null; echo "no arca-vmm appeared"; return 1; }
	_t0=$(now)
	kill -TERM "$_a"
	wait "$_a"
	RC=$?
	_dt=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
	[ "$RC" = 143 ] || { why; return 1; }
	[ "$_dt" -lt 15 ] || { echo "took ${_dt}s to stop"; return 1; }
	[ ! -e "/sys/fs/cgroup/arca/run-$_a" ] || { echo "cgroup run-$_a left behind"; return 1; }
}

# bg_until_ready ARG...: arca run ARG... in the background ($BG its pid), output in $T/out and
# $T/err, until the command has printed a line "ready" (it runs in the guest by then).
bg_until_ready() {
	: >"$T/out"
	"$ARCA" run "$@" </dev/null >"$T/out" 2>"$T/err" &
	BG=$!
	_i=0
	while ! grep -qx ready "$T/out" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -ge 900 ] || ! kill -0 "$BG" 2>/dev/null; then
			kill -9 "$BG" 2>/dev/null
			wait "$BG"
			RC=$?
			return 1
		fi
		sleep 0.1
	done
}

# bg_wait [SECONDS]: wait for $BG, at most SECONDS (default 120; then it is killed, and the
# status says so); sets RC. A zombie counts as finished (kill -0 still succeeds on one).
bg_wait() {
	_i=0
	while [ -d "/proc/$BG" ] && [ "$(cut -d' ' -f3 "/proc/$BG/stat" 2>/dev/null)" != Z ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt $((${1:-120} * 10)) ]; then
			kill -9 "$BG" 2>/dev/null
			echo "(arca still ran after ${1:-120}s: killed)" >>"$T/err"
			break
		fi
		sleep 0.1
	done
	wait "$BG"
	RC=$?
}

# Signals sent to arca are the command's (issue 10): they reach its process group in the
# guest, and its own exit status is the run's. A trapped SIGTERM runs the command's handler
# (exit 5), USR1 and HUP arrive; a command ignoring SIGINT survives one, and a second within
# 2 s stops the VM (130); a command ignoring SIGTERM is stopped after --stop-timeout (143).
sc_signals() {
	bg_until_ready -- sh -c 'trap "echo usr1" USR1; trap "echo hup" HUP; trap "echo term; exit 5" TERM
		echo ready; while :; do sleep 0.2; done' || { echo "never ready: $(why)"; return 1; }
	kill -USR1 "$BG"
	sleep 1
	kill -HUP "$BG"
	sleep 1
	kill -TERM "$BG"
	bg_wait
	[ "$RC" = 5 ] && grep -qx usr1 "$T/out" && grep -qx hup "$T/out" && grep -qx term "$T/out" ||
		{ echo "trapped: $(why)"; return 1; }
	bg_until_ready -- sh -c 'trap "" INT; echo ready; sleep 60' ||
		{ echo "never ready: $(why)"; return 1; }
	kill -INT "$BG"
	sleep 0.5
	[ -d "/proc/$BG" ] && [ "$(cut -d' ' -f3 "/proc/$BG/stat" 2>/dev/null)" != Z ] ||
		{ wait "$BG"; RC=$?; echo "one SIGINT ended it: $(why)"; return 1; }
	kill -INT "$BG"
	bg_wait
	[ "$RC" = 130 ] || { echo "second SIGINT: $(why)"; return 1; }
	bg_until_ready --stop-timeout 1 -- sh -c 'trap "" TERM; echo ready; sleep 60' ||
		{ echo "never ready: $(why)"; return 1; }
	_t0=$(now)
	kill -TERM "$BG"
	bg_wait
	_dt=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
	[ "$RC" = 143 ] && [ "$_dt" -lt 10 ] || { echo "--stop-timeout 1: after ${_dt}s: $(why)"; return 1; }
}

# -t (issue 10): CMD gets a pty in the guest. Without a terminal here, stdin, stdout and stderr
# are still terminals in the guest and output has the pty's CRLF. On a terminal of its own
# (script(1), sized 40x100), the guest's pty has that size, and a ^C typed while CMD runs goes
# through raw mode to the guest's line discipline, which interrupts CMD (exit 130); the
# terminal's settings are the same afterwards.
sc_tty() {
	arca run -t -- sh -c '[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo tty-ok; tty' </dev/null
	[ "$RC" = 0 ] && grep -q "^tty-ok$(printf '\r')\$" "$T/out" && grep -q '^/dev/pts/' "$T/out" ||
		{ echo "no terminal: $(why)"; return 1; }
	[ -x /usr/bin/script ] || { echo "SKIP: no script(1) here (bsdutils)"; return 77; }
	# On a pty of its own: the size is the guest's, a ^C typed once the command runs
	# interrupts it there (130), stty -g is the same before and after.
	cat >"$T/tty1.sh" <<EOF
stty rows 40 cols 100
stty -g
"$ARCA" run -t -- sh -c 'stty size; echo ready; sleep 60'
echo rc=\$?
stty -g
touch "$T/tty1.done"
EOF
	# Resizes of arca's terminal (made by a helper on the same pty once the guest is ready)
	# reach the guest's pty, and the command gets SIGWINCH. Two at once (stty sets rows and
	# cols with one ioctl each): both arrive, in order, so the last size is the guest's.
	cat >"$T/tty2.sh" <<EOF
stty rows 40 cols 100
( while ! grep -q ready "$T/tty2.out"; do sleep 0.2; done; stty rows 50 cols 120 </dev/tty ) &
"$ARCA" run -t -- sh -c 'w=0; trap "w=1" WINCH; echo ready; i=0
	while [ "\$(stty size)" != "50 120" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
	echo "size \$(stty size) winch=\$w"; exit 3'
echo rc=\$?
touch "$T/tty2.done"
EOF
	# Without -t, a ^C typed at the terminal (its line discipline signals the foreground
	# process group) reaches the command once: it traps it and exits 5. Had the VMM had
	# the terminal's SIGINT too, it would count two and stop the VM (130).
	cat >"$T/tty3.sh" <<EOF
trap 'echo wrapper-int' INT
"$ARCA" run -- sh -c 'trap "echo int-once; exit 5" INT; echo ready; while :; do sleep 0.1; done'
echo rc=\$?
touch "$T/tty3.done"
EOF
	: >"$T/tty1.out"
	: >"$T/tty2.out"
	# script's input: ^C once "ready" shows (tty1 only), then open until the run is done.
	( _i=0; while ! grep -q ready "$T/tty1.out" && [ "$_i" -lt 1200 ]; do sleep 0.1; _i=$((_i + 1)); done
	  printf '\003'
	  while [ ! -e "$T/tty1.done" ] && [ "$_i" -lt 1500 ]; do sleep 0.1; _i=$((_i + 1)); done ) |
		timeout -k 5 150 /usr/bin/script -q -e -c "sh $T/tty1.sh" /dev/null >"$T/tty1.out" 2>&1
	( _i=0; while [ ! -e "$T/tty2.done" ] && [ "$_i" -lt 1500 ]; do sleep 0.1; _i=$((_i + 1)); done ) |
		timeout -k 5 150 /usr/bin/script -q -e -c "sh $T/tty2.sh" /dev/null >"$T/tty2.out" 2>&1
	: >"$T/tty3.out"
	( _i=0; while ! grep -q ready "$T/tty3.out" && [ "$_i" -lt 1200 ]; do sleep 0.1; _i=$((_i + 1)); done
	  printf '\003'
	  while [ ! -e "$T/tty3.done" ] && [ "$_i" -lt 1500 ]; do sleep 0.1; _i=$((_i + 1)); done ) |
		timeout -k 5 150 /usr/bin/script -q -e -c "sh $T/tty3.sh" /dev/null >"$T/tty3.out" 2>&1
	_o=$(tr -d '\r' <"$T/tty1.out")
	echo "$_o" | grep -qx '40 100' || { echo "guest pty size: $(echo "$_o" | head -c 300 | tr '\n' '|')"; return 1; }
	echo "$_o" | grep -q 'rc=130$' || { echo "^C: $(echo "$_o" | head -c 300 | tr '\n' '|')"; return 1; }
	_g=$(echo "$_o" | grep -E '^[0-9a-f]+(:[0-9a-f]+){10,}$')
	[ "$(echo "$_g" | sort -u | wc -l)" = 1 ] && [ "$(echo "$_g" | wc -l)" = 2 ] ||
		{ echo "terminal settings changed: $(echo "$_g" | tr '\n' '|')"; return 1; }
	_o=$(tr -d '\r' <"$T/tty2.out")
	echo "$_o" | grep -qx 'size 50 120 winch=1' && echo "$_o" | grep -q 'rc=3$' ||
		{ echo "resize: $(echo "$_o" | head -c 300 | tr '\n' '|')"; return 1; }
	_o=$(tr -d '\r' <"$T/tty3.out")
	echo "$_o" | grep -q 'int-once$' && echo "$_o" | grep -q 'rc=5$' ||
		{ echo "^C without -t: $(echo "$_o" | head -c 300 | tr '\n' '|')"; return 1; }
	# -it with an interactive shell: the prompt comes, ^C interrupts the running `sleep`
	# (the rest of its line does not run) without killing the shell, which then says 130,
	# and `exit 3` is arca's status.
	cat >"$T/tty4.sh" <<EOF
"$ARCA" run -it -- sh -i
echo rc=\$?
touch "$T/tty4.done"
EOF
	: >"$T/tty4.out"
	( _i=0; while ! grep -q '# ' "$T/tty4.out" && [ "$_i" -lt 1200 ]; do sleep 0.1; _i=$((_i + 1)); done
	  printf 'sleep 30; echo after-sleep\n'; sleep 3; printf '\003'; sleep 1
	  printf 'echo alive-$?\n'; sleep 1; printf 'exit 3\n'
	  while [ ! -e "$T/tty4.done" ] && [ "$_i" -lt 1500 ]; do sleep 0.1; _i=$((_i + 1)); done ) |
		timeout -k 5 150 /usr/bin/script -q -e -c "sh $T/tty4.sh" /dev/null >"$T/tty4.out" 2>&1
	_o=$(tr -d '\r' <"$T/tty4.out")
	echo "$_o" | grep -q 'alive-130' && echo "$_o" | grep -q 'rc=3$' &&
		! echo "$_o" | grep -q '^after-sleep' ||
		{ echo "interactive shell: $(echo "$_o" | head -c 400 | tr '\n' '|')"; return 1; }
}

# --kernel-arg appends to arca's kernel command line (the guest sees it in /proc/cmdline);
# --cmdline replaces the defaults and keeps rdinit=/init, so the run still works.
sc_kernel_args() {
	arca run --kernel-arg arca.e2e=42 -- cat /proc/cmdline </dev/null
	[ "$RC" = 0 ] && grep -q ' arca.e2e=42$' "$T/out" && grep -q 'pci=off' "$T/out" ||
		{ echo "--kernel-arg: $(why)"; return 1; }
	arca run --cmdline 'console=ttyS0 quiet panic=-1 reboot=k' --kernel-arg arca.e2e=7 \
		-- cat /proc/cmdline </dev/null
	[ "$RC" = 0 ] && grep -qx 'console=ttyS0 quiet panic=-1 reboot=k rdinit=/init arca.e2e=7' "$T/out" ||
		{ echo "--cmdline: $(why)"; return 1; }
}

# A kernel argument that would replace arca-init is refused before anything boots.
sc_kernel_arg_bad() {
	arca run --kernel-arg init=/bin/sh -- true </dev/null
	[ "$RC" = 125 ] && grep -q "arca-init must be the guest's init" "$T/err" || { why; return 1; }
	one_line_error
}

# as_user CMD...: run a shell command line as the test host's ordinary user (uid 1000).
have_user() {
	[ "$(id -u)" = 0 ] && id user >/dev/null 2>&1 && return 0
	echo "SKIP: needs root and a user named 'user' (the nested test host has one)"
	return 77
}

# Rootless: an ordinary user in the kvm group runs arca without sudo (user namespace).
# Its shares are detached mounts made in the VMM's own user namespace (jail.c): a read-write
# share takes the guest's files as the user's, a :ro one refuses writes.
sc_rootless() {
	have_user || return $?
	_d=$T/rl
	mkdir -p "$_d/rw" "$_d/ro" && echo old >"$_d/ro/f" && echo one >"$_d/file" &&
		chown -R 1000:1000 "$_d" && chmod 755 "$T" || return 1
	# A file share too: the jail's child clones it in its own user namespace.
	su -s /bin/sh user -c "'$ARCA' run -v '$_d/rw:/w' -v '$_d/ro:/r:ro' -v '$_d/file:/etc/file' -- sh -c 'id -u;
		echo hi >/w/new; echo x >/r/f 2>/dev/null || echo ro-refused; cat /etc/file; echo two >/etc/file; exit 3'" \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
	[ "$RC" = 3 ] || { why; return 1; }
	[ "$(tr '\n' ' ' <"$T/out")" = "0 ro-refused one " ] || { echo "guest said: $(why)"; return 1; }
	[ "$(cat "$_d/rw/new")" = hi ] && [ "$(stat -c %u "$_d/rw/new")" = 1000 ] &&
		[ "$(cat "$_d/ro/f")" = old ] && [ "$(cat "$_d/file")" = two ] ||
		{ echo "host files: $(ls -ln "$_d/rw" "$_d/ro" "$_d/file" | tr '\n' '|')"; return 1; }
}

# Rootless, a privileged-only option is a clear one-line error, not a crash.
sc_rootless_vmm_user() {
	have_user || return $?
	su -s /bin/sh user -c "'$ARCA' run --vmm-user 5 -- true" </dev/null >"$T/out" 2>"$T/err"
	RC=$?
	[ "$RC" = 125 ] || { why; return 1; }
	grep -q -- "--vmm-user needs arca to run as root" "$T/err" || { why; return 1; }
	one_line_error
}

# --config: a JSON file holds the options and the command; a flag overrides its value.
sc_config() {
	mkdir -p "$T/cw" && printf cfg >"$T/cw/f" || return 1
	cat >"$T/c.json" <<EOF
{ "memory": "256M", "env": { "A": "file", "B": "file" }, "workdir": "/cw",
  "share": [ "$T/cw:/cw:ro" ], "command": [ "sh", "-c", "cat f; echo \" \$A \$B\"; exit 4" ] }
EOF
	arca run --config "$T/c.json" -e A=flag </dev/null
	[ "$RC" = 4 ] && [ "$(cat "$T/out")" = "cfg flag file" ] || { why; return 1; }
	printf '{ "cpus": 2,\n  "sharez": [] }' >"$T/bad.json"
	arca run --config "$T/bad.json" -- true </dev/null
	[ "$RC" = 125 ] && one_line_error && grep -q "bad.json: unknown field 'sharez'" "$T/err" ||
		{ why; return 1; }
}

# ---- libarca: the examples/ programs, built against the tree's libarca.a ----------------------

# ex NAME ARGS...: run examples/NAME (build/examples) like arca(), with the tree's helpers,
# kernel and cache through the setters the examples call for ARCA_LIBEXEC.
ex() {
	_n=$1
	shift
	ARCA_LIBEXEC=$_top timeout -k 10 "$LIMIT" "$_top/build/examples/$_n" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# A one-shot through arca_vm_run: stdout and stderr apart, the status, and a command killed
# by a signal in the guest reported as "signaled 9", not as "exited 137" (the VMM's result
# record); a share through arca_vm_add_share. Then a long-lived sandbox (examples/sandbox.c:
# execs, 4 threads at once, a console session, a signal, stop); nothing left behind.
sc_libarca() {
	_top=$(cd "$(dirname "$ARCA")" && pwd)
	[ -x "$_top/build/examples/oneshot" ] || { echo "no $_top/build/examples (make examples)"; return 1; }
	mkdir -p "$T/lw" && printf lib >"$T/lw/f" || return 1
	# In the share's directory, EXAMPLE_SHARE=1: it is the guest's /work and the workdir.
	(cd "$T/lw" && export EXAMPLE_SHARE=1 && ex oneshot sh -c 'cat f; echo err >&2; exit 3' \
		</dev/null; exit "$RC")
	RC=$?
	[ "$RC" = 3 ] && [ "$(cat "$T/out")" = lib ] && grep -q '^err$' "$T/err" &&
		grep -q '^result: exited 3$' "$T/err" || { why; return 1; }
	ex oneshot sh -c 'kill -9 $$' </dev/null
	[ "$RC" = 137 ] && grep -q '^result: signaled 9$' "$T/err" || { why; return 1; }
	ex oneshot sh -c 'exit 137' </dev/null
	[ "$RC" = 137 ] && grep -q '^result: exited 137$' "$T/err" || { why; return 1; }
	ex sandbox e2e-lib </dev/null
	[ "$RC" = 0 ] || { echo "sandbox example: $(why) $(grep -v '^ok' "$T/out" | head -c 400 | tr '\n' '|')"
		"$ARCA" kill e2e-lib >/dev/null 2>&1 </dev/null; return 1; }
	[ "$(grep -c '^ok ' "$T/out")" = 7 ] || { why; return 1; }
	"$ARCA" ls </dev/null | grep -q '^e2e-lib ' && { echo "e2e-lib still listed"; return 1; }
	pidof arca-vmm >/dev/null 2>&1 && { echo "an arca-vmm is left"; return 1; }
	return 0
}

# ---- long-lived sandboxes (arca start / exec / ls / stop / kill / logs) ----------------------

# sb_fail MSG: a sandbox scenario failed; kill what it started so the next one starts clean.
sb_fail() {
	echo "$1"
	"$ARCA" kill e2e-sb >/dev/null 2>&1 </dev/null
	"$ARCA" kill e2e-sb2 >/dev/null 2>&1 </dev/null
	return 1
}

# One boot, many commands: start returns once the agent is ready; exec keeps run's stdio,
# exit codes, -e/-w and adds -u; 20 execs in a row and 4 at once each get their own output
# and status; another user is refused by the sandbox's socket itself (SO_PEERCRED), not only
# by the directory's mode; ls shows it, logs has its console, stop removes everything.
sc_sandbox() {
	mkdir -p "$T/ws" && printf data >"$T/ws/f" || return 1
	arca start --name e2e-sb -v "$T/ws:/w" </dev/null
	[ "$RC" = 0 ] || { sb_fail "start: $(why)"; return 1; }
	arca start --name e2e-sb </dev/null
	[ "$RC" = 125 ] && grep -q "exists already" "$T/err" || { sb_fail "second start: $(why)"; return 1; }
	arca ls </dev/null
	grep -q '^e2e-sb  *running  *[0-9smh]*  *1  *512M  *.*:/w' "$T/out" ||
		{ sb_fail "ls: $(why)"; return 1; }
	arca ls --json </dev/null
	python3 -c 'import json, sys
l = [s for s in json.load(open(sys.argv[1])) if s["name"] == "e2e-sb"]
assert len(l) == 1 and l[0]["state"] == "running" and l[0]["cpus"] == 1, l
assert l[0]["memory_mib"] == 512 and l[0]["shares"].endswith(":/w"), l' "$T/out" 2>"$T/err" ||
		{ sb_fail "ls --json: $(why)"; return 1; }
	arca exec -e A=1 -w /w e2e-sb -- sh -c 'cat f; echo; echo "$A" >&2; pwd; exit 3' </dev/null
	[ "$RC" = 3 ] && [ "$(cat "$T/out")" = "data
/w" ] && [ "$(cat "$T/err")" = 1 ] || { sb_fail "exec: $(why)"; return 1; }
	arca exec -u 1000:1001 --ulimit core=0:0 e2e-sb -- sh -c 'echo $(id -u):$(id -g):$HOME:$(ulimit -c)' </dev/null
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = 1000:1001:/:0 ] || { sb_fail "exec -u: $(why)"; return 1; }
	printf 'in\nput' >"$T/in"
	arca exec e2e-sb -- sh -c 'cat; echo "|$?"' <"$T/in"
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = "in
put|0" ] || { sb_fail "exec stdin: $(why)"; return 1; }
	arca exec -t e2e-sb -- sh -c '[ -t 0 ] && [ -t 1 ] && echo tty-ok' </dev/null
	[ "$RC" = 0 ] && grep -q "^tty-ok$(printf '\r')\$" "$T/out" || { sb_fail "exec -t: $(why)"; return 1; }
	# A signal sent to arca exec reaches the command, which decides (here: exit 7).
	( "$ARCA" exec e2e-sb -- sh -c 'trap "exit 7" TERM; echo up; while :; do sleep 0.1; done' \
		>"$T/s.out" 2>&1 </dev/null & echo $! >"$T/s.pid"; wait $!; echo $? >"$T/s.rc" ) &
	_i=0
	while ! grep -q up "$T/s.out" 2>/dev/null && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -TERM "$(cat "$T/s.pid")"
	wait
	[ "$(cat "$T/s.rc")" = 7 ] || { sb_fail "exec SIGTERM: $(cat "$T/s.rc") $(cat "$T/s.out")"; return 1; }
	# A spec over one frame (a 10 KB variable) travels in parts.
	_big=$(head -c 10000 /dev/zero | tr '\0' x)
	arca exec -e "BIG=$_big" e2e-sb -- sh -c 'echo ${#BIG}' </dev/null
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = 10000 ] || { sb_fail "exec big env: $(why)"; return 1; }
	arca exec e2e-sb -- /no/such/cmd </dev/null
	[ "$RC" = 127 ] || { sb_fail "exec not found: $(why)"; return 1; }
	arca exec e2e-sb -- sh -c 'kill -9 $$' </dev/null
	[ "$RC" = 137 ] || { sb_fail "exec killed: $(why)"; return 1; }
	_i=0
	while [ $_i -lt 20 ]; do
		arca exec e2e-sb -- sh -c "echo seq$_i; exit $((_i % 5))" </dev/null
		[ "$RC" = $((_i % 5)) ] && [ "$(cat "$T/out")" = "seq$_i" ] ||
			{ sb_fail "exec $_i of 20: $(why)"; return 1; }
		_i=$((_i + 1))
	done
	for _j in 1 2 3 4; do
		( "$ARCA" exec e2e-sb -- sh -c "sleep 1; echo par$_j; exit $((_j + 10))" \
			>"$T/p$_j.out" 2>&1 </dev/null; echo $? >"$T/p$_j.rc" ) &
	done
	wait
	for _j in 1 2 3 4; do
		[ "$(cat "$T/p$_j.rc")" = $((_j + 10)) ] && [ "$(cat "$T/p$_j.out")" = "par$_j" ] ||
			{ sb_fail "parallel exec $_j: status $(cat "$T/p$_j.rc"): $(head -c 200 "$T/p$_j.out")"; return 1; }
	done
	# Flow control is per session: a command that never reads its stdin (fed 2 MB) and a
	# client that stops reading its output (5 MB, read 6 s later, all of it) hold up
	# nothing else; another exec meanwhile runs at once.
	( head -c 2000000 /dev/zero | "$ARCA" exec e2e-sb -- sh -c 'echo held; sleep 6; echo done' \
		>"$T/h.out" 2>&1; echo $? >"$T/h.rc" ) &
	( "$ARCA" exec e2e-sb -- sh -c 'yes | head -c 5000000' </dev/null 2>"$T/y.err" |
		{ sleep 6; wc -c >"$T/y.count"; } ) &
	_i=0
	while ! grep -q held "$T/h.out" 2>/dev/null && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	sleep 1
	arca exec e2e-sb -- echo through </dev/null
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = through ] && ! grep -q done "$T/h.out" &&
		[ ! -s "$T/y.count" ] || { sb_fail "exec beside held sessions: $(why) / $(cat "$T/h.out")"; return 1; }
	wait
	[ "$(cat "$T/h.rc")" = 0 ] && [ "$(tr -d ' ' <"$T/y.count")" = 5000000 ] ||
		{ sb_fail "held sessions: $(cat "$T/h.rc") $(cat "$T/h.out") count $(cat "$T/y.count") $(cat "$T/y.err")"; return 1; }
	# Another user, even with the way to the socket opened up for the test, is refused.
	if [ "$(id -u)" = 0 ] && id user >/dev/null 2>&1; then
		_s=/run/arca/e2e-sb
		chmod 711 /run/arca "$_s" && chmod 777 "$_s/sock" || { sb_fail "chmod"; return 1; }
		su -s /bin/sh user -c "XDG_RUNTIME_DIR= '$ARCA' exec e2e-sb -- true" </dev/null \
			>"$T/out" 2>"$T/err"
		RC=$?
		chmod 700 /run/arca "$_s"
		[ "$RC" = 125 ] || { sb_fail "other user: $(why)"; return 1; }
		# Its own runtime directory has no such sandbox; reach root's socket by path.
		grep -q "no sandbox named" "$T/err" || { sb_fail "other user: $(why)"; return 1; }
		chmod 711 /run/arca "$_s"
		su -s /bin/sh user -c "python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); \
s.connect(\"$_s/sock\"); print(s.recv(4096))'" </dev/null >"$T/out" 2>"$T/err"
		RC=$?
		chmod 700 /run/arca "$_s"
		grep -q "not this sandbox's owner" "$T/out" || { sb_fail "SO_PEERCRED: $(why)"; return 1; }
	fi
	arca logs e2e-sb </dev/null
	[ "$RC" = 0 ] && [ -s "$T/out" ] || { sb_fail "logs: $(why)"; return 1; }
	# stop: a running exec's command gets SIGTERM (143), then the VM powers off.
	( "$ARCA" exec e2e-sb -- sleep 60 >"$T/st.out" 2>&1 </dev/null; echo $? >"$T/st.rc" ) &
	sleep 2
	arca stop e2e-sb </dev/null
	[ "$RC" = 0 ] || { sb_fail "stop: $(why)"; return 1; }
	wait
	[ "$(cat "$T/st.rc")" = 143 ] || { sb_fail "exec during stop: $(cat "$T/st.rc") $(cat "$T/st.out")"; return 1; }
	arca ls </dev/null
	! grep -q e2e-sb "$T/out" || { sb_fail "still listed after stop: $(why)"; return 1; }
	[ ! -e /run/arca/e2e-sb ] || { sb_fail "left behind: $(ls /run/arca/e2e-sb)"; return 1; }
	# Nothing else either: no VMM, no mux, no supervisor, no cgroup of its own.
	! pidof arca-vmm arca-mux >/dev/null 2>&1 || { sb_fail "processes left: $(pidof arca-vmm arca-mux)"; return 1; }
	! ls -d /sys/fs/cgroup/arca/run-* >/dev/null 2>&1 ||
		{ sb_fail "cgroups left: $(ls -d /sys/fs/cgroup/arca/run-*)"; return 1; }
	arca exec e2e-sb -- true </dev/null
	[ "$RC" = 125 ] && grep -q "no sandbox named 'e2e-sb'" "$T/err" || { sb_fail "exec after stop: $(why)"; return 1; }
	# kill: no grace, same cleanup; a running exec sees the sandbox go (125).
	arca start --name e2e-sb2 </dev/null
	[ "$RC" = 0 ] || { sb_fail "start 2: $(why)"; return 1; }
	( "$ARCA" exec e2e-sb2 -- sleep 60 >"$T/k.out" 2>&1 </dev/null; echo $? >"$T/k.rc" ) &
	sleep 2
	arca kill e2e-sb2 </dev/null
	[ "$RC" = 0 ] || { sb_fail "kill: $(why)"; return 1; }
	wait
	[ "$(cat "$T/k.rc")" = 125 ] || { sb_fail "exec during kill: $(cat "$T/k.rc") $(cat "$T/k.out")"; return 1; }
	[ ! -e /run/arca/e2e-sb2 ] || { sb_fail "left behind after kill"; return 1; }
	# A guest that dies under a command: exec says why, from the sandbox's log (here the
	# kernel's panic, which ends the VM: panic=-1 reboots it, and a reset stops it).
	arca start --name e2e-sb3 </dev/null
	[ "$RC" = 0 ] || { sb_fail "start 3: $(why)"; return 1; }
	arca exec e2e-sb3 -- sh -c 'echo c >/proc/sysrq-trigger; sleep 30' </dev/null
	[ "$RC" = 125 ] && grep -q "^arca: sandbox 'e2e-sb3' stopped while the command ran: ." "$T/err" ||
		{ sb_fail "exec in a dying guest: $(why) log: $(tail -n 3 /run/arca/e2e-sb3/log 2>/dev/null | tr '\n' '|')"; return 1; }
	echo "# exec in a dying guest: $(head -c 200 "$T/err")"
	arca kill e2e-sb3 </dev/null
}

# Errors that need no VM: a bad name, a missing sandbox, a missing name.
sc_sandbox_errors() {
	arca start --name ../x </dev/null
	[ "$RC" = 125 ] && one_line_error && grep -q "invalid sandbox name" "$T/err" || { why; return 1; }
	arca exec no-such-sandbox -- true </dev/null
	[ "$RC" = 125 ] && one_line_error && grep -q "no sandbox named 'no-such-sandbox'" "$T/err" ||
		{ why; return 1; }
	arca stop no-such-sandbox </dev/null
	[ "$RC" = 125 ] && one_line_error || { why; return 1; }
	arca start </dev/null
	[ "$RC" = 125 ] && one_line_error && grep -q "missing sandbox name" "$T/err" || { why; return 1; }
}

# ---- hosts arca must run on (launcher/doctor.c, privsep_nofile, the VMM's boot deadline) ----

# `arca doctor` where VMs run: every requirement ok or a warning, exit 0; --json is one
# object that a JSON parser reads, agreeing with the text.
sc_doctor() {
	arca doctor </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	! grep -q '^FAIL' "$T/out" || { echo "a check failed: $(grep '^FAIL' "$T/out" | head -n 1)"; return 1; }
	for _c in kvm-device kvm-api kvm-guest kernel initrd arca-vmm nofile seccomp io_uring net passt; do
		grep -q "^ok  *$_c " "$T/out" || grep -q "^warn  *$_c " "$T/out" ||
			{ echo "no line for $_c: $(tr '\n' '|' <"$T/out")"; return 1; }
	done
	grep -q "^ok  *kvm-guest  *a 64-bit test guest ran correctly" "$T/out" ||
		{ echo "kvm-guest: $(grep kvm-guest "$T/out")"; return 1; }
	tail -n 1 "$T/out" | grep -q "^arca doctor: 'arca run' can work on this host" ||
		{ echo "summary: $(tail -n 1 "$T/out")"; return 1; }
	_nlines=$(grep -c . "$T/out")
	arca doctor --json </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3 to parse the JSON"; return 77; }
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True, d
names = [c["name"] for c in d["checks"]]
assert len(names) == int(sys.argv[2]) - 1, (names, sys.argv[2])
for c in d["checks"]:
    assert set(c) == {"name", "status", "detail", "fix"}, c
    assert c["status"] in ("ok", "warn"), c
    assert c["detail"], c
assert "kvm-guest" in names and "nofile" in names, names
' "$T/out" "$_nlines" 2>&1 || { echo "bad JSON: $(head -c 300 "$T/out")"; return 1; }
}

# nocap_nofile N CMD...: run CMD as root without CAP_SYS_RESOURCE (dropped from the bounding
# and inheritable sets, as in Docker's default set) under a hard NOFILE limit of N.
nocap_nofile() {
	_lim=$1
	shift
	timeout "$LIMIT" sh -c 'ulimit -n "$1" && ulimit -H -n "$1" && shift && exec "$@"' sh "$_lim" \
		"$SETPRIV" --bounding-set=-sys_resource --inh-caps=-sys_resource -- "$ARCA" "$@" \
		>"$T/out" 2>"$T/err"
	RC=$?
}

# util-linux's setpriv, by path: busybox sh (the nested test host's) runs its own applet of
# that name, which cannot change the bounding set, whatever PATH says.
SETPRIV=/usr/bin/setpriv
need_setpriv() {
	need_root || return $?
	[ -x "$SETPRIV" ] && return 0
	echo "SKIP: needs $SETPRIV (util-linux)"
	return 77
}

# Root without CAP_SYS_RESOURCE, hard NOFILE 20000 (Docker's defaults): the VMM's limit is
# clamped and split between the default root's share and -v's; the run works through both.
sc_nofile_nocap() {
	need_setpriv || return $?
	# Plain root: the VMM runs as nobody, who must be able to write the share.
	mkdir -p "$T/ws" && chmod 0777 "$T/ws" && printf 'hello\n' >"$T/ws/in" || return 1
	nocap_nofile 20000 run --verbose -v "$T/ws:/w" -- \
		sh -c 'cat /w/in && ls /usr/bin >/dev/null && echo out >/w/o && exit 5' </dev/null
	[ "$RC" = 5 ] || { why; return 1; }
	grep -q '^hello$' "$T/out" || { echo "share not read: $(head -c 200 "$T/out")"; return 1; }
	[ "$(cat "$T/ws/o" 2>/dev/null)" = out ] || { echo "share not written"; return 1; }
	# 2 shares: (20000 - 128 - 2 * 1 vCPU) / 2 - 8 fds each
	grep -q "hard NOFILE limit 20000 cannot be raised to [0-9]*: each share may hold 9927 host fds" "$T/err" ||
		{ echo "no clamp message: $(grep -m 3 NOFILE "$T/err" | tr '\n' '|')"; return 1; }
}

# The same user under a hard limit too small for any share: one line naming the limit and
# what the run needs, exit 125, before anything boots.
sc_nofile_too_small() {
	need_setpriv || return $?
	nocap_nofile 300 run -- true </dev/null
	[ "$RC" = 125 ] || { why; return 1; }
	grep -q "^arca: the hard open-files limit (RLIMIT_NOFILE) is 300, too small for this run: it needs at least 394 (1 share)" "$T/err" ||
		{ why; return 1; }
	one_line_error
}

# A guest whose init never reports: arca-init swapped for busybox (its init applet waits on
# the console forever, saying nothing on arca's control channel). The boot deadline stops the
# VM: exit 125, the reason first, then the guest console's last lines, within the deadline.
sc_boot_deadline() {
	_top=$(cd "$(dirname "$ARCA")" && pwd)
	# A path: busybox sh's `command -v` names its own applets without one.
	_bb=/bin/busybox
	[ -x "$_bb" ] || { echo "SKIP: no $_bb (busybox-static)"; return 77; }
	mkdir -p "$T/libexec" || return 1
	cp "$_top/arca-vmm" "$T/libexec/" && cp "$_bb" "$T/libexec/arca-init" || return 1
	_t0=$(now)
	ARCA_LIBEXEC=$T/libexec ARCA_CACHE_DIR=$T/cache arca run --boot-timeout 4 -- true </dev/null
	_dt=$(awk -v a="$_t0" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
	[ "$RC" = 125 ] || { why; return 1; }
	head -n 1 "$T/err" | grep -q "^arca: the guest never started: arca-init did not report within 4 s" ||
		{ why; return 1; }
	[ ! -s "$T/out" ] || { echo "unexpected stdout"; return 1; }
	# 4 s from the VMM's start, plus building the initrd (a first run of this cache) and
	# teardown: far below the 60 s default and the harness limit.
	[ "$_dt" -lt 30 ] || { echo "took ${_dt}s"; return 1; }
	_i=0
	while pidof arca-vmm >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ "$_i" -lt 50 ] || { echo "arca-vmm still runs"; return 1; }
		sleep 0.1
	done
}

NO_VM="sandbox_errors kernel_arg_bad version help bad_cpus bad_option bad_memory no_command missing_kernel rootless_vmm_user nofile_too_small"
NEEDS_VM="doctor nofile_nocap boot_deadline exit_0 exit_7 signal timings warm warm_refuse stdio_split stdin_5mib stdin_eof env_workdir cpus_memory not_found not_executable timeout vmm_seccomp vmm_seccomp_trap privsep kill9_cleanup sigterm signals tty kernel_args config rootless sandbox libarca"

harness_run e2e
