# Shared by the e2e scenario scripts (sourced, POSIX sh; busybox sh in the nested test host).
#
#   . "$HERE/harness.sh" "$@"      parses -k PATTERN, makes $T, defines the helpers
#   ... sc_NAME() functions, NO_VM="..." (no boot) and NEEDS_VM="..." (boot a VM) ...
#   harness_run PREFIX             runs them; last line `PREFIX: N passed, N failed, N skipped`
#
# A scenario prints nothing and returns 0 on success, prints a reason and returns non-zero on
# failure, or prints "SKIP: reason" and returns 77. In CI (CI=true) a skip is a failure.

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
# Scenarios run in subdirectories (harness_run); the rootless ones open theirs to the test user.
chmod 711 "$T" || exit 1
# Shares may be left with read-only directories (the probe's trees have 0555 ones).
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
PASS=0 FAIL=0 SKIP=0

now() { read -r _u _ </proc/uptime; echo "$_u"; }

# arca ARG...: run arca under the harness limit; stdout/stderr go to $T/out and $T/err, stdin
# is the caller's. Sets RC.
arca() {
	# -k: an arca that ignores TERM (its VMM stuck in an unkillable KVM_RUN, as a stalled
	# nested host can leave it) is killed, so one stall cannot hang the whole run.
	# A name of its own: scenarios keep their own start times (_t0) across a call.
	_arca_t0=$(date +%s)
	timeout -k 10 "$LIMIT" "$ARCA" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	# 137 is also what a SIGKILL after an ignored TERM gives: the time tells.
	HIT_LIMIT=
	[ $(($(date +%s) - _arca_t0)) -ge "$LIMIT" ] && HIT_LIMIT=1
	return 0
}

# why [timeout]: a short description of the last arca call for failure messages.
why() {
	_e=$(head -c 300 "$T/err" | tr '\n' '|')
	_o=$(head -c 200 "$T/out" 2>/dev/null | tr '\n' '|')
	if { [ "$RC" = 143 ] || [ "$RC" = 124 ] || [ -n "${HIT_LIMIT:-}" ]; } &&
		[ "${1:-}" != timeout ]; then
		echo "status $RC (harness limit ${LIMIT}s hit? stalled VM) stdout: $_o stderr: $_e"
	else
		echo "status $RC, stdout: $_o stderr: $_e"
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

# pod_netns NAME NET: a network namespace /run/netns/NAME as a CNI plugin leaves a pod's (--net
# ns=PATH, arca-runtime's linux.namespaces): a veth whose end in it is eth0 with NET.2/24 and a
# default route via NET.1, the address of its host end NAME0 (NET: three octets, "10.77.0").
# A leftover of the same name is removed first; pod_netns_del NAME removes it.
pod_netns() {
	pod_netns_del "$1"
	/usr/sbin/ip netns add "$1" && /usr/sbin/ip link add "${1}0" type veth peer name eth0 netns "$1" &&
		/usr/sbin/ip addr add "$2.1/24" dev "${1}0" && /usr/sbin/ip link set "${1}0" up &&
		/usr/sbin/ip -n "$1" addr add "$2.2/24" dev eth0 && /usr/sbin/ip -n "$1" link set eth0 up &&
		/usr/sbin/ip -n "$1" link set lo up && /usr/sbin/ip -n "$1" route add default via "$2.1" ||
		{ echo "cannot make the pod's netns $1"; return 1; }
}
pod_netns_del() {
	/usr/sbin/ip netns del "$1" 2>/dev/null
	/usr/sbin/ip link del "${1}0" 2>/dev/null
	return 0
}

need_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && return 0
	echo "no usable /dev/kvm"
	return 1
}

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

harness_run() { # PREFIX
	# E2E_LAST="a,b": these run after the others (the runner's next boot after a test host
	# froze in one of them: tests/e2e/run).
	_first= _last=
	# OPT_IN="...": VM scenarios that run only when -k names them (not yet reliable enough
	# for every run; the script says why).
	for name in $NO_VM $NEEDS_VM ${PATTERN:+${OPT_IN:-}}; do
		case ",${E2E_LAST:-}," in
		*",$name,"*) _last="$_last $name" ;;
		*) _first="$_first $name" ;;
		esac
	done
	for name in $_first $_last; do
		if [ -n "$PATTERN" ]; then
			# shellcheck disable=SC2254
			case "$name" in *$PATTERN*) ;; *) continue ;; esac
		fi
		# E2E_EXCLUDE="a b": scenarios not run at all (make asan-e2e leaves out the ones
		# that cannot finish in time under a sanitizer); they are not counted.
		# Commas too: the runner's resumed boot passes its list through NESTED_ENV, which
		# splits on spaces.
		case " $(echo "${E2E_EXCLUDE:-}" | tr ',' ' ') " in *" $name "*) continue ;; esac
		# Each scenario gets its own directory, removed when it ends: the test host's
		# /tmp is a tmpfs in its 3 GiB, and what scenarios leave (warm snapshots, disk
		# images, 5 MiB stdin files) would otherwise pile up until the end of the script.
		if [ ! -x "$ARCA" ]; then
			report "$name" 1 "$ARCA is not an executable"
			continue
		fi
		case " $NEEDS_VM ${OPT_IN:-} " in
		*" $name "*)
			if ! _r=$(need_kvm); then report "$name" 77 "$_r"; continue; fi ;;
		esac
		_base=$T
		T=$(mktemp -d "$_base/$name.XXXXXX") || exit 1
		# Which scenario was running when a nested test host froze: the runner reads the
		# last of these lines that no result line follows (tests/e2e/run).
		echo "# start $name"
		# E2E_TEST_FREEZE=NAME (the runner's own test, tests/e2e/README.md): freeze the
		# nested test host in NAME as a lockup would: every process stopped, this one silent.
		if [ -n "${ARCA_E2E_NESTED:-}" ] && [ "${E2E_TEST_FREEZE:-}" = "$name" ]; then
			kill -STOP -1
			while :; do sleep 3600; done
		fi
		_r=$("sc_$name" 2>&1)
		_st=$?
		# The nested test host (QEMU TCG running KVM) is known to stall an inner
		# guest about once in 50 boots (../shared/NESTED-KVM.md). A scenario
		# that hit the harness limit, or arca's boot deadline, runs once more,
		# and the retry is printed: a real hang fails twice.
		# In the nested test host only, a guest that triple-faulted gets the same
		# retry (and, reset again, a second one below): its KVM runs on QEMU's
		# emulated SVM, where a stock guest kernel has been seen to reset now and
		# then (fs_escape, net_publish, fs_root_dir, oci_containerd) whatever arca did.
		_retry=
		case "$_r" in
		*"harness limit"* | *"the guest never started"*) _retry=stalled ;;
		# "fau", not "fault": containerd's shim cuts the runtime's error message
		# short ("...(triple fau: unknown", oci_containerd).
		*"the guest reset (triple fau"*) [ -n "${ARCA_E2E_NESTED:-}" ] && _retry=reset ;;
		esac
		case "$_retry" in
		stalled | reset)
			if [ "$_retry" = reset ]; then
				echo "note: $name: the guest reset (triple fault) in the nested test host; running it once more"
			else
				echo "note: $name stalled (harness limit ${LIMIT}s or the boot deadline); running it once more"
			fi
			# In a fresh directory: the first try may have left its files.
			_outer_T=$T
			T=$(mktemp -d "$_outer_T/retry.XXXXXX") || exit 1
			_r=$("sc_$name" 2>&1)
			_st=$?
			# A reset again: one more try. QEMU's own microvm guests reset early in
			# boot in this test host too, 1 of 2 booted together in one check
			# (README, Performance), and in such a spell two in a row were seen
			# (asan-e2e's tty); a guest arca makes reset fails all three.
			case "$_retry:$_st:$_r" in
			reset:[1-9]*:*"the guest reset (triple fau"*)
				echo "note: $name: the guest reset (triple fault) again; running it a last time"
				T=$(mktemp -d "$_outer_T/retry.XXXXXX") || exit 1
				_r=$("sc_$name" 2>&1)
				_st=$?
				;;
			esac
			T=$_outer_T
			;;
		esac
		report "$name" "$_st" "$(echo "$_r" | sed 's/^SKIP: //' | tr '\n' ' ' | sed 's/ *$//')"
		chmod -R u+w "$T" 2>/dev/null
		rm -rf "$T"
		T=$_base
		# What the test host has left after each scenario: a stall that follows a
		# shrinking line points at memory.
		[ -r /proc/meminfo ] && echo "# $name: $(awk '/^MemAvailable:/ { printf "MemAvailable %d MiB", $2 / 1024 }' /proc/meminfo)"
	done
	echo "$1: $PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" = 0 ]
}
