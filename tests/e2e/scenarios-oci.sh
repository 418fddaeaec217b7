#!/bin/sh
# End-to-end scenarios for the OCI runtime (`arca-runtime`, launcher/ocirt.h): the runtime's
# command line driven as an engine drives it. POSIX sh: runs under busybox sh in the nested
# test host (tests/e2e/run) as well as natively.
#
#   scenarios-oci.sh [-k PATTERN]
#   env: ARCA (default: arca next to the repo), CI=true turns skips into failures.
#
# The engine's part is tests/oci/engine: a child subreaper, as conmon and containerd's shim
# are, which adopts the container process `create` leaves behind and logs its exit status.
# Output as the other scenario scripts, ending with `e2e-oci: N passed, N failed, N skipped`.

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${ENGINE:-}" ]; then
	ENGINE=/opt/arca/oci-engine # in the test host
	[ -x "$ENGINE" ] || ENGINE=$HERE/../oci/engine
fi
# shellcheck source=harness.sh
. "$HERE/harness.sh" "$@"

# arca-runtime is arca by that name: a symlink in the scenario's directory.
rt_setup() {
	mkdir -p "$T/bin" "$T/state" && ln -sf "$ARCA" "$T/bin/arca-runtime" || return 1
	RT="$T/bin/arca-runtime"
	[ -x "$ENGINE" ] || { echo "no $ENGINE (make tests/oci/engine)"; return 1; }
}

# rt ARG...: the runtime with this scenario's state root; stdout/stderr in $T/out, $T/err.
rt() {
	timeout -k 10 "$LIMIT" "$RT" --root "$T/state" "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
}

# As root arca-vmm runs as 65534:65534 (scenarios-fs.sh says why): what the guest writes to
# must be that user's.
if [ "$(id -u)" = 0 ]; then VMM_IDS=65534:65534; else VMM_IDS=; fi
give() { [ -z "$VMM_IDS" ] || chown -R "$VMM_IDS" "$@"; }

# bundle DIR: a bundle directory with a busybox root file system (config.json is the
# caller's).
bundle() {
	mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/sys" "$1/rootfs/dev" \
		"$1/rootfs/tmp" "$1/rootfs/data" || return 1
	for _b in /usr/bin/busybox /bin/busybox; do [ -x "$_b" ] && break; done
	cp "$_b" "$1/rootfs/bin/busybox" && ln -sf busybox "$1/rootfs/bin/sh"
}

# state_field FILE KEY: a top-level field of a state JSON.
state_field() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# wait_exit LOG PID: the exit status the engine logged for PID (waits up to 120 s).
wait_exit() {
	_i=0
	while [ $_i -lt 1200 ]; do
		_s=$(awk -v p="$2" '$1 == p { print $2 }' "$1" 2>/dev/null)
		[ -n "$_s" ] && { echo "$_s"; return 0; }
		sleep 0.1
		_i=$((_i + 1))
	done
	echo none
	return 1
}

sc_oci_errors() {
	rt_setup || return 1
	rt features
	[ "$RC" = 0 ] && python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))
assert f["ociVersionMax"].startswith("1."), f' "$T/out" 2>"$T/err" ||
		{ echo "features: $(why)"; return 1; }
	rt state nope
	[ "$RC" = 125 ] && [ "$(cat "$T/err")" = "arca-runtime: container 'nope' does not exist" ] ||
		{ echo "state of nothing: $(why)"; return 1; }
	rt state ../x
	[ "$RC" = 125 ] && one_line_error && grep -q "invalid container id" "$T/err" ||
		{ echo "id ../x: $(why)"; return 1; }
	bundle "$T/b" || return 1
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.0.2", "root": { "path": "rootfs" },
  "process": { "cwd": "/", "args": [ "sh" ], "env": [ "PATH=/bin", "HOME" ] } }
JSON
	rt --log "$T/log" --log-format json create --bundle "$T/b" c1
	[ "$RC" = 125 ] && one_line_error && grep -q "process.env\[1\]: not NAME=VALUE" "$T/err" ||
		{ echo "env without =: $(why)"; return 1; }
	python3 -c 'import json, sys
l = json.loads(open(sys.argv[1]).readline())
assert l["level"] == "error" and "process.env[1]" in l["msg"], l' "$T/log" 2>"$T/err" ||
		{ echo "--log-format json: $(cat "$T/err" "$T/log" | head -c 300)"; return 1; }
	[ -z "$(ls "$T/state")" ] || { echo "a failed create left state: $(ls "$T/state")"; return 1; }
	rt kill c1 TERM
	[ "$RC" = 125 ] && one_line_error || { echo "kill of nothing: $(why)"; return 1; }
	rt bogus
	[ "$RC" = 125 ] && one_line_error || { echo "unknown command: $(why)"; return 1; }
}

# create, state, start, the exit status, stdout/stderr apart, a read-only bind mount, a
# read-only root, delete.
sc_oci_lifecycle() {
	rt_setup || return 1
	bundle "$T/b" || return 1
	mkdir -p "$T/ws" && printf 'from the host' >"$T/ws/f" && printf 'nameserver 192.0.2.1\n' >"$T/resolv" || return 1
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.0.2",
  "root": { "path": "rootfs", "readonly": true },
  "process": { "cwd": "/data", "env": [ "PATH=/bin", "A=hello there" ],
               "args": [ "sh", "-c", "echo out; echo err >&2; /bin/busybox cat f; echo; echo \"\$A\"; echo x >/new; { echo x >f; } 2>/dev/null || echo ro; exit 3" ] },
  "mounts": [ { "destination": "/proc", "type": "proc", "source": "proc" },
              { "destination": "/dev", "type": "tmpfs", "source": "tmpfs" },
              { "destination": "/data", "type": "bind", "source": "$T/ws", "options": [ "rbind", "ro" ] },
              { "destination": "/etc/resolv.conf", "type": "bind", "source": "$T/resolv", "options": [ "bind" ] } ],
  "linux": { "resources": { "memory": { "limit": 268435456 } } },
  "annotations": { "test": "yes" } }
JSON
	cat >"$T/s.sh" <<SH
R="$RT --root $T/state"
\$R create --bundle $T/b --pid-file $T/pid c1 >$T/c.out 2>$T/c.err </dev/null
echo "create \$?" >$T/steps
\$R state c1 >$T/state1 2>>$T/steps
\$R start c1 2>>$T/steps
echo "start \$?" >>$T/steps
SH
	timeout -k 10 "$LIMIT" "$ENGINE" "$T/elog" ". $T/s.sh" </dev/null
	grep -qx "create 0" "$T/steps" && grep -qx "start 0" "$T/steps" ||
		{ echo "steps: $(tr '\n' '|' <"$T/steps") $(head -c 300 "$T/c.err")"; return 1; }
	_pid=$(cat "$T/pid")
	[ "$(state_field "$T/state1" status)" = created ] && [ "$(state_field "$T/state1" pid)" = "$_pid" ] &&
		[ "$(state_field "$T/state1" bundle)" = "$T/b" ] ||
		{ echo "state after create: $(tr '\n' ' ' <"$T/state1")"; return 1; }
	_st=$(wait_exit "$T/elog" "$_pid")
	[ "$_st" = 3 ] || { echo "container exit status $_st, want 3; stderr: $(head -c 300 "$T/c.err")"; return 1; }
	[ "$(cat "$T/c.out")" = "out
from the host
hello there
ro" ] || { echo "stdout: $(tr '\n' '|' <"$T/c.out")"; return 1; }
	[ "$(cat "$T/c.err")" = err ] || { echo "stderr: $(tr '\n' '|' <"$T/c.err")"; return 1; }
	[ ! -e "$T/b/rootfs/new" ] || { echo "a read-only root was written"; return 1; }
	[ "$(cat "$T/ws/f")" = "from the host" ] || { echo "a read-only mount was written"; return 1; }
	rt state c1
	[ "$RC" = 0 ] && [ "$(state_field "$T/out" status)" = stopped ] &&
		[ "$(state_field "$T/out" annotations | tr -d "{}' ")" = "test:yes" ] ||
		{ echo "state after exit: $(why)"; return 1; }
	rt delete c1
	[ "$RC" = 0 ] || { echo "delete: $(why)"; return 1; }
	rt state c1
	[ "$RC" = 125 ] || { echo "state after delete: $(why)"; return 1; }
	[ ! -e "$T/state/c1" ] || { echo "state directory left: $(ls "$T/state/c1")"; return 1; }
	"$ARCA" ls >"$T/ls" 2>&1
	! grep -q '^c1 ' "$T/ls" || { echo "the sandbox is left: $(cat "$T/ls")"; return 1; }
}

# exec into a running container, ps, kill with TERM (forwarded into the guest), a root that
# writes through (arca.root_rw), delete of a running container refused; then SIGKILL of another.
sc_oci_exec_kill() {
	rt_setup || return 1
	bundle "$T/b" || return 1
	give "$T/b/rootfs" || return 1
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.1.0",
  "root": { "path": "rootfs" },
  "process": { "cwd": "/", "env": [ "PATH=/bin" ],
               "args": [ "sh", "-c", "trap 'echo term; exit 7' TERM; echo kept >/written; echo up; while :; do /bin/busybox sleep 0.1; done" ] },
  "annotations": { "arca.cpus": "2", "arca.root_rw": "true" } }
JSON
	cat >"$T/proc.json" <<JSON
{ "cwd": "/tmp", "env": [ "PATH=/bin", "B=2" ], "user": { "uid": 1000, "gid": 1000 },
  "noNewPrivileges": true,
  "capabilities": { "bounding": [ "CAP_CHOWN", "CAP_KILL" ], "effective": [ "CAP_KILL" ],
                    "permitted": [ "CAP_KILL" ], "inheritable": [ "CAP_KILL" ], "ambient": [ "CAP_KILL" ] },
  "args": [ "sh", "-c", "echo in-exec \$B \$(pwd) \$(/bin/busybox id -u); /bin/busybox grep -c ^processor /proc/cpuinfo; /bin/busybox grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; exit 4" ] }
JSON
	cat >"$T/s.sh" <<SH
R="$RT --root $T/state"
\$R create --bundle $T/b --pid-file $T/pid c2 >$T/c.out 2>$T/c.err </dev/null
\$R start c2 || echo "start failed" >>$T/steps
i=0; while ! grep -q up $T/c.out && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
\$R exec --process $T/proc.json c2 >$T/x.out 2>$T/x.err </dev/null
echo "exec \$?" >>$T/steps
\$R state c2 >$T/state1
\$R ps --format json c2 >$T/ps
\$R delete c2 2>$T/del.err
echo "delete-running \$?" >>$T/steps
\$R kill c2 TERM
echo "kill \$?" >>$T/steps
SH
	timeout -k 10 "$LIMIT" "$ENGINE" "$T/elog" ". $T/s.sh" </dev/null
	_pid=$(cat "$T/pid" 2>/dev/null)
	[ -n "$_pid" ] || { echo "no pid file: $(head -c 300 "$T/c.err")"; return 1; }
	# The capabilities as the kernel leaves them after the exec of a non-root command: the
	# ambient one in effective, the bounding set cut to two; no_new_privs.
	grep -qx "exec 4" "$T/steps" && [ "$(cat "$T/x.out")" = "in-exec 2 /tmp 1000
2
CapEff:	0000000000000020
CapBnd:	0000000000000021
NoNewPrivs:	1" ] || { echo "exec: $(tr '\n' '|' <"$T/steps") out: $(tr '\n' '|' <"$T/x.out") err: $(head -c 300 "$T/x.err")"; return 1; }
	[ "$(state_field "$T/state1" status)" = running ] || { echo "state: $(tr '\n' ' ' <"$T/state1")"; return 1; }
	[ "$(cat "$T/ps")" = "[$_pid]" ] || { echo "ps: $(cat "$T/ps"), pid $_pid"; return 1; }
	grep -qx "delete-running 125" "$T/steps" && grep -q "is running" "$T/del.err" ||
		{ echo "delete of a running container: $(tr '\n' '|' <"$T/steps") $(cat "$T/del.err")"; return 1; }
	grep -qx "kill 0" "$T/steps" || { echo "kill: $(tr '\n' '|' <"$T/steps")"; return 1; }
	_st=$(wait_exit "$T/elog" "$_pid")
	[ "$_st" = 7 ] && grep -qx term "$T/c.out" ||
		{ echo "after TERM: status $_st, stdout $(tr '\n' '|' <"$T/c.out") stderr $(head -c 300 "$T/c.err")"; return 1; }
	[ "$(cat "$T/b/rootfs/written" 2>/dev/null)" = kept ] || { echo "a writable root's write did not reach the bundle"; return 1; }
	rt delete c2
	[ "$RC" = 0 ] || { echo "delete: $(why)"; return 1; }

	# SIGKILL: the container process and the VM at once.
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.0.0", "root": { "path": "rootfs" },
  "process": { "cwd": "/", "args": [ "sh", "-c", "echo up; while :; do /bin/busybox sleep 1; done" ] } }
JSON
	cat >"$T/s.sh" <<SH
R="$RT --root $T/state"
\$R create --bundle $T/b --pid-file $T/pid3 c3 >$T/c3.out 2>$T/c3.err </dev/null
\$R start c3
i=0; while ! grep -q up $T/c3.out && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
\$R kill c3 KILL
echo "kill9 \$?" >>$T/steps
SH
	timeout -k 10 "$LIMIT" "$ENGINE" "$T/elog" ". $T/s.sh" </dev/null
	_pid=$(cat "$T/pid3" 2>/dev/null)
	_st=$(wait_exit "$T/elog" "$_pid")
	[ "$_st" = 137 ] || { echo "after KILL: status $_st $(tr '\n' '|' <"$T/steps") $(head -c 300 "$T/c3.err")"; return 1; }
	rt state c3
	[ "$(state_field "$T/out" status)" = stopped ] || { echo "state after KILL: $(why)"; return 1; }
	rt delete c3
	[ "$RC" = 0 ] || { echo "delete after KILL: $(why)"; return 1; }
	"$ARCA" ls >"$T/ls" 2>&1
	! grep -q '^c[23] ' "$T/ls" || { echo "a sandbox is left: $(cat "$T/ls")"; return 1; }
}

# podman_prep [APPLET...]: podman with a store of the scenario's own and the image
# localhost/arca-e2e (busybox, with these applets linked) imported; sets PMC (podman with its
# options), PM (...with the runtime as --runtime, logging to $T/rt.log) and pm ARG... (PM,
# stdout/stderr in $T/out, $T/err, status in RC). Returns 77 (skip) without podman.
podman_prep() {
	rt_setup || return 1
	for _p in podman conmon; do
		command -v "$_p" >/dev/null 2>&1 || { echo "SKIP: no $_p (apt-get install podman conmon)"; return 77; }
	done
	mkdir -p "$T/ptmp" "$T/ws" && printf 'from the host' >"$T/ws/f" || return 1
	bundle "$T/img" || return 1
	for _a in cat sleep id "$@"; do ln -sf busybox "$T/img/rootfs/bin/$_a" || return 1; done
	tar -C "$T/img/rootfs" -cf "$T/img.tar" . || return 1
	export TMPDIR="$T/ptmp"
	# The runtime as podman calls it, with a --log of its own (for failure messages).
	printf '#!/bin/sh\nexec %s --log %s "$@"\n' "$RT" "$T/rt.log" >"$T/bin/rt-logged" &&
		chmod +x "$T/bin/rt-logged" || return 1
	# podman refuses a runroot over 50 characters: a short one of its own.
	_prun=$(mktemp -d /tmp/arca-prun.XXXXXX) || return 1
	PMC="podman --storage-driver vfs --root $T/pstore --runroot $_prun --tmpdir $T/ptmp
		--cgroup-manager cgroupfs --events-backend file"
	PM="$PMC --runtime $T/bin/rt-logged"
	pm() {
		# shellcheck disable=SC2086
		timeout -k 10 "$LIMIT" $PM "$@" >"$T/out" 2>"$T/err"
		RC=$?
	}
	pm import "$T/img.tar" localhost/arca-e2e </dev/null
	[ "$RC" = 0 ] || { echo "podman import: $(why)"; return 1; }
}

# rt_log [BYTES]: the end of the runtime's --log (podman_prep's rt-logged), on one line.
rt_log() { tail -c "${1:-600}" "$T/rt.log" 2>/dev/null | tr '\n' '|'; }

# pm_wait_up NAME: until container NAME's log has the line "up" (2 minutes at most).
pm_wait_up() {
	_i=0
	while [ $_i -lt 600 ]; do
		pm logs "$1" </dev/null
		grep -qx up "$T/out" && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	echo "$1 never printed up: $(why) runtime log: $(rt_log) kernel: $(dmesg 2>/dev/null | tail -n 5 | tr '\n' '|')"
	return 1
}

# pm_nothing_left: no container in podman's store, no arca sandbox, no arca-vmm running.
pm_nothing_left() {
	pm ps -a -q </dev/null
	[ ! -s "$T/out" ] || { echo "containers left: $(why)"; return 1; }
	"$ARCA" ls >"$T/ls" 2>&1
	[ "$(grep -vc '^NAME' "$T/ls")" = 0 ] || { echo "sandboxes left: $(cat "$T/ls")"; return 1; }
	_left=$(grep -l '^arca-vmm' /proc/[0-9]*/comm 2>/dev/null | tr '\n' ' ')
	[ -z "$_left" ] || { echo "arca-vmm left running: $_left"; return 1; }
}

# podman with arca-runtime as its OCI runtime (--runtime), on an image imported from a
# rootfs tarball (no registry): run's exit status and stdio, a volume; exec into a
# running container; stop (TERM into the guest, the container's own exit status); kill;
# nothing left behind. Its own storage under $T, so a host's podman state is not touched.
sc_oci_podman() {
	podman_prep || return $?
	# ...and through containers.conf, as the README says to configure it: the runtime by name.
	printf '[engine]\nruntime = "arca"\n[engine.runtimes]\narca = ["%s"]\n' "$T/bin/rt-logged" \
		>"$T/containers.conf" || return 1
	export CONTAINERS_CONF="$T/containers.conf"
	pmc() {
		# shellcheck disable=SC2086
		timeout -k 10 "$LIMIT" $PMC "$@" >"$T/out" 2>"$T/err"
		RC=$?
	}

	pm run --rm --network none -v "$T/ws:/w:ro" localhost/arca-e2e \
		sh -c 'echo out; echo err >&2; cat /w/f; echo; exit 3' </dev/null
	[ "$RC" = 3 ] && [ "$(cat "$T/out")" = "out
from the host" ] && grep -qx err "$T/err" ||
		{ echo "podman run: status $RC, stdout: $(tr '\n' '|' <"$T/out"), stderr: $(tail -c 300 "$T/err" | tr '\n' '|') runtime log: $(rt_log)"; return 1; }

	# The engine's files (its /etc/hostname, /etc/hosts, /run/.containerenv) and a file of the
	# user's (-v FILE:PATH:ro) are file shares: the container sees podman's own.
	pm run --rm --network none --hostname arcabox -v "$T/ws/f:/etc/extra.txt:ro" localhost/arca-e2e \
		sh -c 'echo "$(cat /etc/hostname)"; grep -q "arcabox" /etc/hosts && echo hosts-ok
			[ -f /run/.containerenv ] && echo containerenv-ok; cat /etc/extra.txt; echo
			echo x 2>/dev/null >/etc/extra.txt || echo extra-ro' </dev/null
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = "arcabox
hosts-ok
containerenv-ok
from the host
extra-ro" ] || { echo "podman's files: status $RC, stdout: $(tr '\n' '|' <"$T/out"), stderr: $(tail -c 300 "$T/err" | tr '\n' '|') runtime log: $(rt_log)"; return 1; }

	# -t: the runtime's pty, its master sent over conmon's console socket.
	pm run --rm -t --network none localhost/arca-e2e sh -c '[ -t 0 ] && [ -t 1 ] && echo tty-ok; exit 5' </dev/null
	[ "$RC" = 5 ] && grep -q "^tty-ok" "$T/out" ||
		{ echo "podman run -t: status $RC, stdout: $(tr '\n' '|' <"$T/out"), stderr: $(tail -c 300 "$T/err" | tr '\n' '|') runtime log: $(rt_log 400)"; return 1; }

	pm run -d --name c1 --network none localhost/arca-e2e \
		sh -c 'trap "echo term; exit 7" TERM; echo up; while :; do sleep 0.1; done' </dev/null
	[ "$RC" = 0 ] || { echo "podman run -d: $(why)"; return 1; }
	pm_wait_up c1 || return 1
	pm exec c1 sh -c 'echo in-exec $(id -u); exit 4' </dev/null
	[ "$RC" = 4 ] && [ "$(cat "$T/out")" = "in-exec 0" ] || { echo "podman exec: $(why)"; return 1; }
	pm stop -t 60 c1 </dev/null
	[ "$RC" = 0 ] || { echo "podman stop: $(why)"; return 1; }
	pm inspect --format '{{.State.ExitCode}}' c1 </dev/null
	[ "$(cat "$T/out")" = 7 ] || { echo "c1's exit code after stop: $(why)"; return 1; }
	pm logs c1 </dev/null
	grep -qx term "$T/out" || { echo "c1 did not see TERM: $(why)"; return 1; }
	pm rm c1 </dev/null
	[ "$RC" = 0 ] || { echo "podman rm: $(why)"; return 1; }

	pmc run -d --name c2 --network none localhost/arca-e2e sh -c 'echo up; while :; do sleep 1; done' </dev/null
	[ "$RC" = 0 ] || { echo "podman run -d c2 (containers.conf): $(why)"; return 1; }
	pmc inspect --format '{{.OCIRuntime}}' c2 </dev/null
	[ "$(cat "$T/out")" = arca ] || { echo "c2's runtime: $(why)"; return 1; }
	pmc kill c2 </dev/null
	[ "$RC" = 0 ] || { echo "podman kill: $(why)"; return 1; }
	pmc wait c2 </dev/null
	[ "$(cat "$T/out")" = 137 ] || { echo "podman wait after kill: $(why)"; return 1; }
	pmc rm c2 </dev/null
	[ "$RC" = 0 ] || { echo "podman rm c2: $(why)"; return 1; }

	pm_nothing_left || return 1
	pm rmi -a -f </dev/null
	rm -rf "$_prun"
}

# podman's default network: CNI's bridge plugin as Debian's podman configures it (a veth into
# the container's netns on the cni-podman0 bridge, its conflist's subnet, masquerade, the firewall
# plugin), no arca-specific setup. The runtime takes the netns's eth0 over for the VM (tc
# redirect), so the guest has the container's address: the test host reaches a server in one
# container, and a second container reaches the first. Nothing is left behind: no container,
# sandbox, VMM, or CNI netns.
sc_oci_podman_cni() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: podman's bridge network needs root"; return 77; }
	[ -x /usr/lib/cni/bridge ] && [ -f /etc/cni/net.d/87-podman-bridge.conflist ] ||
		{ echo "SKIP: no CNI plugins (apt-get install containernetworking-plugins)"; return 77; }
	podman_prep nc || return $?
	pm run -d --name srv localhost/arca-e2e \
		sh -c 'echo up; while :; do echo from-srv | nc -l -p 8080; done' </dev/null
	[ "$RC" = 0 ] || { echo "podman run -d srv: $(why) runtime log: $(rt_log)"; return 1; }
	pm_wait_up srv || return 1
	pm inspect --format '{{.NetworkSettings.IPAddress}}' srv </dev/null
	_addr=$(cat "$T/out")
	# In the subnet the packaged conflist gives (10.88.0.0/16 in Debian 12's podman): the
	# first two octets, not a pinned value.
	_net=$(sed -n 's/.*"subnet": *"\([0-9]*\.[0-9]*\)\..*/\1/p' /etc/cni/net.d/87-podman-bridge.conflist | head -n 1)
	case "$_addr" in "$_net".*) ;; *) echo "srv's address (want one in $_net.0.0 from the conflist): $(why)"; return 1 ;; esac
	# The test host, through the bridge (the listener may start a moment after "up").
	_i=0 _got=
	while [ $_i -lt 60 ]; do
		_got=$(timeout 10 nc "$_addr" 8080 </dev/null 2>&1)
		[ "$_got" = from-srv ] && break
		sleep 0.5
		_i=$((_i + 1))
	done
	[ "$_got" = from-srv ] || { echo "the test host got '$_got' from $_addr:8080"; return 1; }
	# Another container, on the same bridge.
	pm run --rm localhost/arca-e2e sh -c "nc $_addr 8080 </dev/null; exit 6" </dev/null
	[ "$RC" = 6 ] && [ "$(cat "$T/out")" = from-srv ] ||
		{ echo "a second container reaching $_addr:8080: status $RC, stdout: $(tr '\n' '|' <"$T/out"), stderr: $(tail -c 300 "$T/err" | tr '\n' '|')"; return 1; }
	pm rm -f -t 0 srv </dev/null
	[ "$RC" = 0 ] || { echo "podman rm -f srv: $(why)"; return 1; }

	pm_nothing_left || return 1
	_left=$(ls /run/netns 2>/dev/null | grep '^cni-' | tr '\n' ' ')
	[ -z "$_left" ] || { echo "CNI network namespaces left: $_left"; return 1; }
	pm rmi -a -f </dev/null
	rm -rf "$_prun"
}

# containerd through its runc v2 shim with arca-runtime as the runc binary (ctr run
# --runc-binary, what a containerd config's BinaryName does): the exit status and output of
# ctr run --rm; a task exec; a kill. A containerd of the scenario's own (state, root and socket
# under $T).
sc_oci_containerd() {
	rt_setup || return 1
	for _p in containerd ctr containerd-shim-runc-v2; do
		command -v "$_p" >/dev/null 2>&1 || { echo "SKIP: no $_p (apt-get install containerd)"; return 77; }
	done
	bundle "$T/b" || return 1
	ln -sf busybox "$T/b/rootfs/bin/sleep" || return 1
	cat >"$T/ctd.toml" <<TOML
version = 2
root = "$T/ctd/root"
state = "$T/ctd/state"
[grpc]
  address = "$T/ctd.sock"
[ttrpc]
  address = "$T/ctd.sock.ttrpc"
TOML
	containerd --config "$T/ctd.toml" >"$T/ctd.log" 2>&1 &
	_ctd=$!
	_i=0
	while [ ! -S "$T/ctd.sock" ] && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -S "$T/ctd.sock" ] || { kill $_ctd; echo "containerd did not start: $(tail -c 300 "$T/ctd.log")"; return 1; }
	_ctr=$(command -v ctr)
	ctr() {
		timeout -k 10 "$LIMIT" "$_ctr" --address "$T/ctd.sock" -n arca-e2e "$@" >"$T/out" 2>"$T/err"
		RC=$?
	}
	_fail=
	ctr run --rm --runc-binary "$RT" --rootfs "$T/b/rootfs" c1 \
		sh -c 'echo out; echo err >&2; exit 3' </dev/null
	[ "$RC" = 3 ] && grep -qx out "$T/out" && grep -qx err "$T/err" ||
		_fail="ctr run --rm: $(why)"
	if [ -z "$_fail" ]; then
		ctr run -d --runc-binary "$RT" --rootfs "$T/b/rootfs" c2 \
			sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' </dev/null
		[ "$RC" = 0 ] || _fail="ctr run -d: $(why)"
	fi
	if [ -z "$_fail" ]; then
		ctr task exec --exec-id x1 c2 sh -c 'echo in-exec; exit 4' </dev/null
		[ "$RC" = 4 ] && grep -qx in-exec "$T/out" || _fail="ctr task exec: $(why)"
	fi
	if [ -z "$_fail" ]; then
		ctr task kill c2 </dev/null
		[ "$RC" = 0 ] || _fail="ctr task kill: $(why)"
	fi
	if [ -z "$_fail" ]; then
		_i=0
		while [ $_i -lt 300 ]; do
			ctr task ls </dev/null
			grep -q '^c2 .*STOPPED' "$T/out" && break
			sleep 0.2
			_i=$((_i + 1))
		done
		grep -q '^c2 .*STOPPED' "$T/out" || _fail="c2 did not stop on TERM: $(why)"
	fi
	if [ -z "$_fail" ]; then
		ctr task delete c2 </dev/null
		grep -q 7 "$T/out" || [ "$RC" = 0 ] || _fail="ctr task delete: $(why)"
		ctr containers delete c2 </dev/null
	fi
	kill $_ctd
	wait $_ctd 2>/dev/null
	[ -z "$_fail" ] || { echo "$_fail"; return 1; }
	"$ARCA" ls >"$T/ls" 2>&1
	[ "$(grep -vc '^NAME' "$T/ls")" = 0 ] || { echo "sandboxes left: $(cat "$T/ls")"; return 1; }
}

# A pod's sandbox (pause) container (the CRI annotation) gets no VM: its process waits for a
# signal, as pause does, and ends with 0. Needs no /dev/kvm.
sc_oci_pod_sandbox() {
	rt_setup || return 1
	bundle "$T/b" || return 1
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.0.2", "root": { "path": "rootfs", "readonly": true },
  "process": { "cwd": "/", "args": [ "/pause" ] },
  "annotations": { "io.kubernetes.cri.container-type": "sandbox" } }
JSON
	cat >"$T/s.sh" <<SH
R="$RT --root $T/state"
\$R create --bundle $T/b --pid-file $T/pid pod1 >$T/c.out 2>$T/c.err </dev/null
echo "create \$?" >>$T/steps
\$R start pod1 && echo "start 0" >>$T/steps
\$R create --bundle $T/b pod1 2>$T/again.err </dev/null; echo "create-again \$?" >>$T/steps
\$R start pod1 2>$T/start2.err; echo "start-again \$?" >>$T/steps
\$R state pod1 >$T/state1
"$ARCA" ls >$T/ls 2>&1
\$R kill pod1 TERM && echo "kill 0" >>$T/steps
SH
	timeout -k 10 "$LIMIT" "$ENGINE" "$T/elog" ". $T/s.sh" </dev/null
	grep -qx "create 0" "$T/steps" && grep -qx "start 0" "$T/steps" && grep -qx "kill 0" "$T/steps" ||
		{ echo "steps: $(tr '\n' '|' <"$T/steps" 2>/dev/null) $(head -c 300 "$T/c.err")"; return 1; }
	grep -qx "create-again 125" "$T/steps" && grep -q "already exists" "$T/again.err" ||
		{ echo "a second create of pod1: $(tr '\n' '|' <"$T/steps") $(cat "$T/again.err")"; return 1; }
	grep -qx "start-again 125" "$T/steps" && grep -q "is running, not created" "$T/start2.err" ||
		{ echo "a second start of pod1: $(tr '\n' '|' <"$T/steps") $(cat "$T/start2.err")"; return 1; }
	[ "$(state_field "$T/state1" status)" = running ] || { echo "state: $(tr '\n' ' ' <"$T/state1")"; return 1; }
	! grep -q '^pod1 ' "$T/ls" || { echo "a VM for the pod's sandbox: $(cat "$T/ls")"; return 1; }
	_st=$(wait_exit "$T/elog" "$(cat "$T/pid")")
	[ "$_st" = 0 ] || { echo "pause's exit status $_st, want 0"; return 1; }
	rt delete pod1
	[ "$RC" = 0 ] && [ ! -e "$T/state/pod1" ] || { echo "delete: $(why)"; return 1; }
}

# A container in a pod's network namespace (linux.namespaces: network with a path, as CNI
# leaves it): the guest takes over its eth0 and reaches a server on the host through it; its
# resolver is the one of the engine's resolv.conf; afterwards the pod's own stack has eth0
# back. Root only (the namespace is root's).
sc_oci_netns() {
	rt_setup || return 1
	[ "$(id -u)" = 0 ] || { echo "SKIP: a pod's netns needs root"; return 77; }
	_ip=/usr/sbin/ip # by path: busybox sh names its own applet
	[ -x "$_ip" ] || { echo "SKIP: no ip (iproute2)"; return 77; }
	pod_netns e2eocipod 10.78.0 || return 1
	python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.1", 8099)); s.listen(4); s.settimeout(300)
c, _ = s.accept(); c.settimeout(30); c.recv(4096)
c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nhello pod\n"); c.close()' &
	_srv=$!
	bundle "$T/b" || return 1
	# busybox's nc, not its wget (which crashes in a root with no /etc of its own).
	mkdir -p "$T/b/rootfs/etc" && ln -sf busybox "$T/b/rootfs/bin/nc" || return 1
	printf 'search example\nnameserver 192.0.2.53\n' >"$T/resolv" || return 1
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.0.2", "root": { "path": "rootfs", "readonly": true },
  "process": { "cwd": "/", "env": [ "PATH=/bin" ],
               "args": [ "sh", "-c", "/bin/busybox grep nameserver /etc/resolv.conf; printf 'GET /x HTTP/1.0\\\\r\\\\n\\\\r\\\\n' | nc 10.78.0.1 8099 | /bin/busybox tail -n 1" ] },
  "mounts": [ { "destination": "/etc/resolv.conf", "type": "bind", "source": "$T/resolv", "options": [ "bind" ] } ],
  "linux": { "namespaces": [ { "type": "pid" }, { "type": "network", "path": "/run/netns/e2eocipod" } ] } }
JSON
	cat >"$T/s.sh" <<SH
R="$RT --root $T/state"
\$R create --bundle $T/b --pid-file $T/pid n1 >$T/c.out 2>$T/c.err </dev/null
\$R start n1
SH
	timeout -k 10 "$LIMIT" "$ENGINE" "$T/elog" ". $T/s.sh" </dev/null
	_st=$(wait_exit "$T/elog" "$(cat "$T/pid" 2>/dev/null)")
	rt delete n1
	$_ip netns exec e2eocipod ping -c 1 -W 5 10.78.0.1 >/dev/null 2>&1
	_ping=$?
	kill "$_srv" 2>/dev/null
	pod_netns_del e2eocipod
	[ "$_st" = 0 ] && [ "$(cat "$T/c.out")" = "nameserver 192.0.2.53
hello pod" ] || { echo "status $_st, stdout $(tr '\n' '|' <"$T/c.out") stderr $(head -c 300 "$T/c.err")"; return 1; }
	[ "$_ping" = 0 ] || { echo "the pod's eth0 still redirected after delete"; return 1; }
}

# Hooks, run on the host with the state on their stdin: createRuntime at create, poststart at
# start, poststop at delete; a createRuntime hook that fails fails create (its exit status
# named) and leaves nothing. Through a pod's sandbox container: no VM needed.
sc_oci_hooks() {
	rt_setup || return 1
	bundle "$T/b" || return 1
	_sh=/bin/sh
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.0.2", "root": { "path": "rootfs" }, "process": { "cwd": "/", "args": [ "/pause" ] },
  "annotations": { "io.kubernetes.cri.container-type": "sandbox" },
  "hooks": {
    "createRuntime": [ { "path": "$_sh", "args": [ "sh", "-c", "cat >$T/h.create; echo \$HOOK >>$T/h.create" ],
                         "env": [ "HOOK=cr" ] } ],
    "poststart": [ { "path": "$_sh", "args": [ "sh", "-c", "cat >$T/h.poststart" ], "timeout": 30 } ],
    "poststop": [ { "path": "$_sh", "args": [ "sh", "-c", "cat >$T/h.poststop" ] } ] } }
JSON
	cat >"$T/s.sh" <<SH
R="$RT --root $T/state"
\$R create --bundle $T/b --pid-file $T/pid h1 >$T/c.out 2>$T/c.err </dev/null
echo "create \$?" >>$T/steps
\$R start h1 && echo "start 0" >>$T/steps
\$R kill h1 TERM
SH
	timeout -k 10 "$LIMIT" "$ENGINE" "$T/elog" ". $T/s.sh" </dev/null
	grep -qx "create 0" "$T/steps" && grep -qx "start 0" "$T/steps" ||
		{ echo "steps: $(tr '\n' '|' <"$T/steps" 2>/dev/null) $(head -c 300 "$T/c.err")"; return 1; }
	_st=$(wait_exit "$T/elog" "$(cat "$T/pid")")
	rt delete h1
	[ "$RC" = 0 ] || { echo "delete: $(why)"; return 1; }
	python3 -c 'import json, sys
t = sys.argv[1]
c = open(t + "/h.create").read()
s, end = json.JSONDecoder().raw_decode(c)
assert s["id"] == "h1" and s["status"] == "creating", s
assert c[end:].strip() == "cr", c[end:]
s = json.load(open(t + "/h.poststart")); assert s["status"] == "running" and s["pid"] > 0, s
s = json.load(open(t + "/h.poststop")); assert s["status"] == "stopped", s' "$T" 2>"$T/py.err" ||
		{ echo "hooks saw: $(cat "$T/h.create" "$T/h.poststart" "$T/h.poststop" 2>&1 | head -c 400) $(tail -n 2 "$T/py.err")"; return 1; }

	# A failing createRuntime hook.
	cat >"$T/b/config.json" <<JSON
{ "ociVersion": "1.0.2", "root": { "path": "rootfs" }, "process": { "cwd": "/", "args": [ "/pause" ] },
  "annotations": { "io.kubernetes.cri.container-type": "sandbox" },
  "hooks": { "createRuntime": [ { "path": "$_sh", "args": [ "sh", "-c", "exit 3" ] } ] } }
JSON
	rt create --bundle "$T/b" h2
	[ "$RC" = 125 ] && grep -q 'hooks.createRuntime\[0\] /bin/sh: exited with 3' "$T/err" ||
		{ echo "a failing hook: $(why)"; return 1; }
	[ ! -e "$T/state/h2" ] || { echo "a failed create left state"; return 1; }
}

NO_VM="oci_errors oci_pod_sandbox oci_hooks"
NEEDS_VM="oci_lifecycle oci_exec_kill oci_netns oci_podman oci_containerd"
# oci_podman_cni: passed 4 times of 5; once (in a full make test) the server container's VM
# stopped before its command printed, and exec's error does not say why. Run it with
# -k oci_podman_cni until that is understood.
OPT_IN="oci_podman_cni"

harness_run e2e-oci
