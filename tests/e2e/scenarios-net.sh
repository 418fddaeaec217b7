#!/bin/sh
# End-to-end scenarios for networking (--net: a TAP in the run's own netns, virtio-net, NAT and
# the egress filter in nftables, the supervisor's DNS relay), through the real `arca` binary.
# POSIX sh: runs under busybox sh in the nested test host (tests/e2e/run runs it after the other
# scenario scripts in the same boot) as well as natively, as root.
#
#   scenarios-net.sh [-k PATTERN]  PATTERN: shell glob matched against scenario names
#   env: ARCA (as scenarios.sh), CI=true turns skips into failures.
#
# Output: one line per scenario, then exactly `e2e-net: N passed, N failed, N skipped`.
#
# The test host's "internet" is a network namespace `arcainet` behind a veth pair, with an HTTP
# server (python3) on 198.51.100.2:8080 and :8081, and a DNS server on 198.51.100.2:53 that
# answers A records for *.test names (good.test, other.test -> 198.51.100.2). The test host's
# /etc/resolv.conf names that server while these scenarios run, so the relay in arca's
# supervisor forwards to it as it would to a real resolver.

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=harness.sh
. "$HERE/harness.sh" "$@"

# iproute2's ip by path: busybox sh runs its own applet for a bare `ip` (no netns, no veth).
IP=/usr/sbin/ip
[ -x "$IP" ] || IP=/sbin/ip
INET=198.51.100.2
HOSTADDR=198.51.100.1
# IPv6 of the test's internet (net_ipv6 only): 3fff::/20 is documentation space (RFC 9637)
# that arca does not refuse (2001:db8::/32, the older one, it does).
INET6=3fff:0:0:5::2
HOSTADDR6=3fff:0:0:5::1

need_net() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: --net needs root"; return 77; }
	[ -x "$IP" ] && command -v python3 >/dev/null ||
		{ echo "SKIP: needs ip (iproute2) and python3"; return 77; }
	[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; return 77; }
	inet_up || { echo "cannot set up the test's internet namespace"; return 1; }
}

# The "internet": made once per script run, torn down at exit. Its host link is e2einet0, not
# arca-anything: arca's host tables match their own links as "arca*". Its files live in $NETD, not in
# a scenario's $T (harness_run gives each scenario its own, removed when it ends). Each scenario
# runs in a subshell: the marker file, not a variable, says it is up.
NETD=$T/inet
mkdir -p "$NETD" || exit 1
inet_up() {
	[ -e "$NETD/inet.up" ] && return 0
	$IP netns del arcainet 2>/dev/null; $IP link del e2einet0 2>/dev/null # a failed try's
	$IP netns add arcainet || return 1
	$IP link add e2einet0 type veth peer name e2einet1 netns arcainet || return 1
	$IP addr add "$HOSTADDR/24" dev e2einet0 && $IP link set e2einet0 up || return 1
	$IP -n arcainet addr add "$INET/24" dev e2einet1 && $IP -n arcainet link set e2einet1 up &&
		$IP -n arcainet link set lo up && $IP -n arcainet route add default via "$HOSTADDR" || return 1
	cat >"$NETD/inet.py" <<'EOF'
import socket, struct, sys, threading
addr = sys.argv[1]
# HTTP by hand: the test host's python3 is python3.11-minimal (no http package).
def serve(port):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port)); ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=answer, args=(c, port), daemon=True).start()
def answer(c, port):
    try:
        c.settimeout(10)
        req = b""
        while b"\r\n\r\n" not in req and len(req) < 8192:
            d = c.recv(4096)
            if not d: break
            req += d
        path = req.split(b" ")[1].decode() if req.count(b" ") >= 2 else "?"
        body = ("hello from %s:%d %s\n" % (addr, port, path)).encode()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    c.close()
for port in (8080, 8081):
    threading.Thread(target=serve, args=(port,), daemon=True).start()
# DNS: A records for NAME.test -> addr (TTL 60), NXDOMAIN for everything else; AAAA: empty.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 53))
log = open(sys.argv[2], "a", buffering=1)
while True:
    q, peer = u.recvfrom(4096)
    if len(q) < 17: continue
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i+1:i+1+q[i]].decode(errors="replace")); i += 1 + q[i]
    name = ".".join(labels).lower(); qtype = struct.unpack(">H", q[i+1:i+3])[0]
    log.write(name + "\n")
    question = q[12:i+5]
    if name.endswith(".test"):
        ans = b""
        if qtype == 1:
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        elif qtype == 28:
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + socket.inet_pton(socket.AF_INET6, sys.argv[3])
        hdr = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if ans else 0, 0, 0)
    else:
        ans, hdr = b"", q[:2] + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0)
    u.sendto(hdr + question + ans, peer)
EOF
	$IP netns exec arcainet python3 "$NETD/inet.py" "$INET" "$NETD/dns.log" "$INET6" </dev/null >"$NETD/inet.log" 2>&1 &
	INET_PID=$!
	if [ -e /etc/resolv.conf ] || [ -L /etc/resolv.conf ]; then
		cp -P /etc/resolv.conf "$NETD/resolv.conf.saved"
	fi
	rm -f /etc/resolv.conf
	echo "nameserver $INET" >/etc/resolv.conf
	: >"$NETD/inet.up"
	# the servers listening (python3 starts slowly in the emulated test host)
	_i=0
	while ! grep -q ':1F91 .* 0A ' "/proc/$INET_PID/net/tcp" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -ge 600 ] || ! kill -0 "$INET_PID" 2>/dev/null; then
			echo "the test's internet servers did not start: $(tail -n 3 "$NETD/inet.log" | tr '\n' '|')"
			inet_down
			return 1
		fi
		sleep 0.1
	done
}
inet_down() {
	[ -e "$NETD/inet.up" ] || [ -n "${INET_PID:-}" ] || return 0
	[ -n "${INET_PID:-}" ] && kill "$INET_PID" 2>/dev/null
	# the servers' pid, from a scenario's subshell, is gone with it: kill what is in the netns
	for _p in $($IP netns pids arcainet 2>/dev/null); do kill "$_p" 2>/dev/null; done
	$IP netns del arcainet 2>/dev/null
	$IP link del e2einet0 2>/dev/null
	rm -f /etc/resolv.conf "$NETD/inet.up"
	{ [ -e "$NETD/resolv.conf.saved" ] || [ -L "$NETD/resolv.conf.saved" ]; } && cp -P "$NETD/resolv.conf.saved" /etc/resolv.conf
	INET_PID=
}
trap 'inet_down; chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

# What a run must leave behind: no link of arca's on the host, no netns of its own.
no_leftovers() {
	_l=$($IP -o link show | grep -o ' arca[0-9][0-9]*' | tr '\n' ' ')
	[ -z "$_l" ] || { echo "links left on the host: $_l"; return 1; }
}

# Guest-side HTTP GET with a bounded wait (python3 by hand: the guest's /usr is the test host's,
# python3.11-minimal; its glibc resolver reads the resolv.conf arca-init wrote): the body or FAIL.
# 30 s: python3 starts from the host's /usr over the share. In a freshly booted test host, with
# 4 ASan VMs starting at once, one net_parallel get printed FAIL within 10 s (asan-e2e,
# 2026-12-03, the scenario rerun first after a freeze). A cold start is the likely cause; it
# was not proven. A refused or dropped connection still fails at connect's 4 s.
GET='get() { timeout 30 python3 -c "
import socket, sys
u = sys.argv[1].split(\"/\", 3); host, _, port = u[2].partition(\":\")
c = socket.create_connection((host, int(port or 80)), timeout=4)
c.sendall((\"GET /%s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n\" % (u[3], host)).encode())
r = b\"\"
while True:
    d = c.recv(4096)
    if not d: break
    r += d
sys.stdout.write(r.split(b\"\\r\\n\\r\\n\", 1)[1].decode())
" "$1" 2>/dev/null || echo "FAIL $1"; }
resolves() { timeout 10 python3 -c "import socket, sys; socket.gethostbyname(sys.argv[1])" "$1" 2>/dev/null && echo resolved || echo unresolved; }'

sc_net_errors() {
	for _v in bogus 'allow=10.0.0.300/8' 'allow=1.2.3.4:0' 'allow=1.2.3.4:70000' 'allow=1.2.3.4/33' \
		'allow=bad_name!.com' 'nat,pool=10.0.0.0/40' 'allow=' 'ns=rel' 'ns=/x,dns=1.2.3' 'ns=/x,bogus'; do
		arca run --net "$_v" -- true </dev/null
		[ "$RC" = 125 ] || { echo "--net '$_v': $(why)"; return 1; }
		one_line_error || { echo "--net '$_v'"; return 1; }
		grep -q -- '--net' "$T/err" || { echo "--net '$_v': $(cat "$T/err")"; return 1; }
	done
}

# Default: no network at all, only loopback.
sc_net_none() {
	arca run -- sh -c 'ls /sys/class/net; grep -c nameserver /etc/resolv.conf; exit 0' </dev/null
	[ "$RC" = 0 ] && [ "$(tr '\n' ' ' <"$T/out")" = "lo 0 " ] || { why; return 1; }
}

# --net nat: the internet is reachable by address and by name; private ranges, link-local
# (cloud metadata) and the host's own addresses are refused; nothing is left behind.
sc_net_nat() {
	need_net || return $?
	arca run --verbose --net nat -- sh -c "$GET"'
		/usr/sbin/ip -4 -o addr show | grep -v " lo " | sed "s/.*inet \([0-9./]*\).*/\1/"
		get http://'"$INET"':8080/a
		get http://good.test:8081/b
		get http://'"$HOSTADDR"':8080/host
		get http://169.254.169.254/meta
		get http://10.1.2.3/private
		exit 5' </dev/null
	[ "$RC" = 5 ] || { why; return 1; }
	_o=$(tr '\n' '|' <"$T/out")
	case "$_o" in
	10.213.*/30\|"hello from $INET:8080 /a|hello from $INET:8081 /b|FAIL http://$HOSTADDR:8080/host|FAIL http://169.254.169.254/meta|FAIL http://10.1.2.3/private|") ;;
	*) echo "guest saw: $_o err: $(grep -v '^\[' "$T/err" | tail -n 5 | tr '\n' '|')"; return 1 ;;
	esac
	grep -q '^arca: net: refused [1-9]' "$T/err" || { echo "no refused count: $(grep 'arca: net' "$T/err" | tr '\n' '|')"; return 1; }
	no_leftovers
}

# --net allow=: only the listed destinations; a listed name resolves (and its addresses are let
# through for their TTL), any other name does not resolve and never reaches the resolver.
sc_net_allow() {
	need_net || return $?
	: >"$NETD/dns.log"
	arca run --net "allow=good.test:8080/tcp" -- sh -c "$GET"'
		get http://good.test:8080/a
		get http://good.test:8081/b
		get http://other.test:8080/c
		resolves other.test' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	_o=$(tr '\n' '|' <"$T/out")
	[ "$_o" = "hello from $INET:8080 /a|FAIL http://good.test:8081/b|FAIL http://other.test:8080/c|unresolved|" ] ||
		{ echo "guest saw: $_o"; return 1; }
	! grep -q other.test "$NETD/dns.log" || { echo "other.test reached the resolver"; return 1; }
	arca run --net "allow=$INET/32:8081" -- sh -c "$GET"'
		get http://'"$INET"':8081/x
		get http://'"$INET"':8080/y' </dev/null
	[ "$RC" = 0 ] && [ "$(tr '\n' '|' <"$T/out")" = "hello from $INET:8081 /x|FAIL http://$INET:8080/y|" ] ||
		{ why; return 1; }
	no_leftovers
}

# arca killed with SIGKILL: its netns dies with it; what remains on the host (the veth's host
# end goes with its peer) is gone, and the next run works.
sc_net_kill9() {
	need_net || return $?
	timeout -k 10 "$LIMIT" "$ARCA" run --net nat -- sleep 60 </dev/null >"$T/out" 2>"$T/err" &
	_p=$!
	_i=0
	until $IP -o link show | grep -q ' arca[0-9]'; do
		_i=$((_i + 1)); [ "$_i" -lt 600 ] || { echo "no link appeared"; kill -9 $_p; return 1; }
		sleep 0.1
	done
	sleep 1
	kill -9 $_p
	wait $_p 2>/dev/null
	# the VMM dies with its supervisor (PR_SET_PDEATHSIG / the pidfd): give it a moment
	_i=0
	while $IP -o link show | grep -q ' arca[0-9]'; do
		_i=$((_i + 1)); [ "$_i" -lt 100 ] || break
		sleep 0.1
	done
	"$ARCA" gc >/dev/null 2>&1
	no_leftovers || return 1
	arca run --net nat -- sh -c "$GET"'; get http://'"$INET"':8080/after' </dev/null
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = "hello from $INET:8080 /after" ] || { why; return 1; }
}

# Four runs at once: distinct addresses, all reach the internet.
sc_net_parallel() {
	need_net || return $?
	# 8 at once, as the issue asks: each its own slot, addresses, TAP and rules. In the
	# nested test host 4: its kernel (KVM under QEMU's emulated SVM, 2 vCPUs) has been seen
	# to panic with a corrupted task stack under many VMs at once (16 QEMU microvms in the
	# bench; once 4 arca runs here), whoever the VMM.
	_n=${E2E_NET_PARALLEL:-8}
	[ -n "${ARCA_E2E_NESTED:-}" ] && _n=${E2E_NET_PARALLEL:-4}
	_i=1 _pids=
	while [ "$_i" -le "$_n" ]; do
		( timeout -k 10 "$LIMIT" "$ARCA" run --net nat -- sh -c "$GET"'
			/usr/sbin/ip -4 -o addr show | grep -v " lo " | sed "s/.*inet \([0-9./]*\).*/\1/"
			get http://'"$INET"':8080/p'"$_i" </dev/null >"$T/p$_i" 2>"$T/p$_i.err"
		  echo $? >"$T/p$_i.rc" ) &
		_pids="$_pids $!"
		_i=$((_i + 1))
	done
	# These runs only: where this is the first scenario, need_net's server is a job of this
	# shell too, and a bare wait would wait for it forever.
	# shellcheck disable=SC2086
	wait $_pids
	_i=1
	while [ "$_i" -le "$_n" ]; do
		[ "$(sed -n 2p "$T/p$_i")" = "hello from $INET:8080 /p$_i" ] ||
			{ echo "run $_i: status $(cat "$T/p$_i.rc"): $(tr '\n' '|' <"$T/p$_i") $(tail -n 3 "$T/p$_i.err" | tr '\n' '|')"; return 1; }
		_i=$((_i + 1))
	done
	_d=$(for _f in "$T"/p[0-9]; do head -n 1 "$_f"; done | sort -u | wc -l)
	[ "$_d" = "$_n" ] || { echo "addresses not distinct: $(for _f in "$T"/p[0-9]; do head -n 1 "$_f"; done | tr '\n' ' ')"; return 1; }
	no_leftovers
}

# --publish: a TCP server in the guest reached from the test host's 127.0.0.1 through the
# supervisor's proxy, 1 MiB in and a half-close (the guest answers after the client's EOF); the
# guest sees its gateway as the client. The same host port published again while the first
# run holds it: exit 125, one line naming the port; and with --net none, --publish is an error.
sc_net_publish() {
	arca run -p 18080:8080 -- true </dev/null
	[ "$RC" = 125 ] && one_line_error && grep -q -- '--publish needs --net' "$T/err" ||
		{ echo "--publish with --net none: $(why)"; return 1; }
	need_net || return $?
	_srv='import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(1)
print("listening", flush=True)
c, a = s.accept()
d = b""
while True:
    b = c.recv(65536)
    if not b: break
    d += b
c.sendall(b"got %d bytes from %s, sum %d" % (len(d), a[0].encode(), sum(d) % 65521))
c.close()'
	timeout -k 10 "$LIMIT" "$ARCA" run --verbose --net nat -p 127.0.0.1:18080:8080 -- \
		python3 -c "$_srv" </dev/null >"$T/pub.out" 2>"$T/pub.err" &
	_p=$!
	_i=0
	until grep -q listening "$T/pub.out" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -ge 1100 ] || ! kill -0 $_p 2>/dev/null; then
			kill $_p 2>/dev/null; wait $_p; RC=$?
			echo "the guest's server did not start: $(grep -v '^\[' "$T/pub.err" | tail -n 5 | tr '\n' '|')"
			return 1
		fi
		sleep 0.1
	done
	arca run --net nat -p 127.0.0.1:18080:9090 -- true </dev/null
	_rc2=$RC
	_err2=$(cat "$T/err")
	one_line_error >/dev/null && _one=1 || _one=
	_got=$(timeout 30 python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", 18080), timeout=20)
c.sendall(bytes(range(256)) * 4096)
c.shutdown(socket.SHUT_WR)
r = b""
while True:
    b = c.recv(4096)
    if not b: break
    r += b
sys.stdout.write(r.decode())' 2>&1)
	wait $_p
	RC=$?
	[ "$_rc2" = 125 ] && [ -n "$_one" ] || { echo "second publish of 18080: status $_rc2: $_err2"; return 1; }
	case "$_err2" in
	"arca: --publish 127.0.0.1:18080:9090: host port 18080/tcp is in use") ;;
	*) echo "second publish of 18080: $_err2"; return 1 ;;
	esac
	# the client the guest saw: its gateway (the proxy's socket in the run's netns)
	_gw=$(sed -n 's/^arca: net: slot .* via \([0-9.]*\) on tap0.*/\1/p' "$T/pub.err")
	case "$_got" in
	"got 1048576 bytes from ${_gw:-?}, sum 30600") ;;
	*) echo "client got: $_got; guest: $(tr '\n' '|' <"$T/pub.out") err: $(grep -v '^\[' "$T/pub.err" | tail -n 5 | tr '\n' '|')"; return 1 ;;
	esac
	[ "$RC" = 0 ] || { echo "the run: status $RC: $(grep -v '^\[' "$T/pub.err" | tail -n 5 | tr '\n' '|')"; return 1; }
	grep -q '^arca: net: published 127.0.0.1:18080 -> guest 10\.213\.[0-9.]*:8080/tcp$' "$T/pub.err" ||
		{ echo "no published line: $(grep 'arca: net' "$T/pub.err" | tr '\n' '|')"; return 1; }
	grep -q '^arca: net: published ports: 1 TCP connections (0 refused' "$T/pub.err" ||
		{ echo "no counts: $(grep 'arca: net' "$T/pub.err" | tr '\n' '|')"; return 1; }
	no_leftovers
}

# Rootless --net nat through passt (launcher/passt.h), as the test host's ordinary user (uid
# 1000, as scenarios.sh's rootless scenarios): the guest reaches the "internet" by address and
# by name (passt relays DNS sent to the gateway to the host's resolver, the inet server here);
# what passt cannot do is refused with one line and 125: nat without ,allow-private (it cannot
# refuse private ranges) and allow= (it cannot filter). passt needs a default route: the test
# host has none, so one goes to the inet namespace for the scenario's time. No passt is left.
sc_net_rootless() {
	[ "$(id -u)" = 0 ] && id user >/dev/null 2>&1 ||
		{ echo "SKIP: needs root and a user named 'user' (the nested test host has one)"; return 77; }
	[ -x /usr/bin/passt ] || { echo "SKIP: no /usr/bin/passt (apt install passt)"; return 77; }
	need_net || return $?
	mkdir -p "$T/rl" && chmod 755 "$T" "$T/rl" || return 1
	# The last command moves 4 MiB each way (big frames, a full socket, the stream cut
	# anywhere) with a server on the test host's own address, which passt lets the guest
	# reach (README says so). No half-close: passt 2023-03 answers a guest that sent its FIN
	# with retransmissions only (it skips the guest's window updates then).
	{ printf '%s\n' "$GET"; cat <<EOF; } >"$T/rl/get.sh"
/usr/sbin/ip -4 -o addr show | grep -v " lo " | sed "s/.*inet \([0-9./]*\).*/\1/"
get http://$INET:8080/rootless
get http://good.test:8081/name
timeout 90 python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 18099), timeout=60)
c.sendall(bytes(range(256)) * 16384)
r = b""
while True:
    b = c.recv(65536)
    if not b: break
    r += b
h, _, d = r.partition(b"\\n")
print(h.decode(), len(d), sum(d) % 65521)' $HOSTADDR 2>&1 | tail -n 1
exit 4
EOF
	timeout 120 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 18099)); s.listen(1)
print("listening", flush=True)
c, a = s.accept()
n = t = 0
while n < 4194304:
    b = c.recv(65536)
    if not b: break
    n += len(b); t = (t + sum(b)) % 65521
c.sendall(b"%d %d\n" % (n, t) + bytes(range(256)) * 16384)
c.close()' "$HOSTADDR" </dev/null >"$T/srv.out" 2>&1 &
	_srv=$!
	_i=0
	until grep -q listening "$T/srv.out" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -lt 600 ] || { kill "$_srv"; echo "the bulk server did not start"; return 1; }
		sleep 0.1
	done
	_route=
	if ! $IP route show default | grep -q .; then
		$IP route add default via "$INET" dev e2einet0 || { kill "$_srv"; return 1; }
		_route=1
	fi
	su -s /bin/sh user -c "timeout -k 10 $LIMIT '$ARCA' run --net nat,allow-private -v '$T/rl:/rl:ro' \
		-- sh /rl/get.sh" </dev/null >"$T/out" 2>"$T/err"
	RC=$?
	_o=$(tr '\n' '|' <"$T/out") _e=$(grep -v '^\[' "$T/err" | tail -n 5 | tr '\n' '|')
	su -s /bin/sh user -c "'$ARCA' run --net nat -- true" </dev/null >"$T/out" 2>"$T/err"
	_rc2=$? _e2=$(cat "$T/err") _one2=$(one_line_error >/dev/null && echo 1)
	su -s /bin/sh user -c "'$ARCA' run --net allow=$INET -- true" </dev/null >"$T/out" 2>"$T/err"
	_rc3=$? _e3=$(cat "$T/err") _one3=$(one_line_error >/dev/null && echo 1)
	[ -n "$_route" ] && $IP route del default via "$INET" dev e2einet0
	kill "$_srv" 2>/dev/null
	wait "$_srv" 2>/dev/null
	[ "$RC" = 4 ] && [ "$_o" = "10.213.0.2/30|hello from $INET:8080 /rootless|hello from $INET:8081 /name|4194304 56879 4194304 56879|" ] ||
		{ echo "status $RC, guest saw: $_o err: $_e"; return 1; }
	[ "$_rc2" = 125 ] && [ -n "$_one2" ] &&
		[ "$_e2" = "arca: rootless --net nat cannot refuse private ranges (passt): add ,allow-private to accept that" ] ||
		{ echo "--net nat as a user: status $_rc2: $_e2"; return 1; }
	[ "$_rc3" = 125 ] && [ -n "$_one3" ] &&
		[ "$_e3" = "arca: --net allow= needs root (passt cannot filter by destination)" ] ||
		{ echo "--net allow= as a user: status $_rc3: $_e3"; return 1; }
	_left=$(grep -l '^passt' /proc/[0-9]*/comm 2>/dev/null | tr '\n' ' ')
	[ -z "$_left" ] || { echo "passt left running: $_left"; return 1; }
}

# IPv6 where the host has it: the test host forwards IPv6 and has a default route into the
# test's internet. The guest gets the slot's address in arca's ULA /64, reaches a server over
# IPv6 (masqueraded by the host: the server sees the host's address), and is refused the
# private range, the host's own address and, with allow=, whatever no allowed name resolved to.
# Where the host does not forward IPv6, the guest gets none and --verbose says why.
sc_net_ipv6() {
	need_net || return $?
	[ -e /proc/sys/net/ipv6/conf/all/forwarding ] || { echo "SKIP: no IPv6 in the test host"; return 77; }
	mkdir -p "$T/v6" && chmod 755 "$T/v6" || return 1
	cat >"$T/v6/c.py" <<'EOF'
import socket, subprocess, sys
def get(host, port, fam=socket.AF_INET6):
    try:
        a = socket.getaddrinfo(host, port, fam, socket.SOCK_STREAM)[0][4]
        c = socket.socket(fam, socket.SOCK_STREAM); c.settimeout(4); c.connect(a)
        d = b""
        while True:
            b = c.recv(4096)
            if not b: break
            d += b
        print(d.decode().strip())
    except OSError as e:
        print("FAIL %s %s" % (host, type(e).__name__))
for arg in sys.argv[1:]:
    if arg == "addr":
        out = subprocess.run(["/usr/sbin/ip", "-6", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
        print(" ".join(l.split()[3] for l in out.splitlines()) or "none")
    else:
        h, _, p = arg.rpartition(":")
        get(h.strip("[]"), int(p))
EOF
	_fwd=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
	$IP -6 addr add "$HOSTADDR6/64" dev e2einet0 nodad 2>/dev/null
	$IP -n arcainet -6 addr add "$INET6/64" dev e2einet1 nodad 2>/dev/null
	$IP -n arcainet -6 route replace default via "$HOSTADDR6" || return 1
	# a server that says whom it saw
	$IP netns exec arcainet python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8086)); s.listen(16)
while True:
    c, a = s.accept()
    c.sendall(("hello6 to %s" % a[0]).encode()); c.close()' "$INET6" </dev/null >"$T/srv6.log" 2>&1 &
	_srv=$!
	# forwarding off: no IPv6 for the guest, and --verbose says why
	echo 0 >/proc/sys/net/ipv6/conf/all/forwarding
	arca run --verbose --net nat -v "$T/v6:/v6:ro" -- python3 /v6/c.py addr </dev/null
	_rc0=$RC _o0=$(tr '\n' '|' <"$T/out") _why=$(grep '^arca: net: no IPv6' "$T/err")
	echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
	$IP -6 route replace default via "$INET6" dev e2einet0
	arca run --verbose --net nat -v "$T/v6:/v6:ro" -- python3 /v6/c.py addr "[$INET6]:8086" \
		"good.test:8086" "[fc00::1]:8086" "[$HOSTADDR6]:8086" </dev/null
	_rc1=$RC _o1=$(tr '\n' '|' <"$T/out") _e1=$(grep -v '^\[' "$T/err" | tail -n 8 | tr '\n' '|')
	_v1=$(grep '^arca: net: IPv6: ' "$T/err")
	arca run --net nat,allow-private -v "$T/v6:/v6:ro" -- python3 /v6/c.py "[fc00::1]:8086" </dev/null
	_o2=$(tr '\n' '|' <"$T/out")
	arca run --net allow=good.test:8086 -v "$T/v6:/v6:ro" -- python3 /v6/c.py "[$INET6]:8086" \
		"good.test:8086" </dev/null
	_rc3=$RC _o3=$(tr '\n' '|' <"$T/out") _e3=$(grep -v '^\[' "$T/err" | tail -n 5 | tr '\n' '|')
	kill "$_srv" 2>/dev/null
	wait "$_srv" 2>/dev/null
	$IP -6 route del default via "$INET6" dev e2einet0 2>/dev/null
	echo "$_fwd" >/proc/sys/net/ipv6/conf/all/forwarding
	[ "$_rc0" = 0 ] && [ "$_o0" = "none|" ] || { echo "forwarding off: status $_rc0, guest saw: $_o0"; return 1; }
	case "$_why" in
	"arca: net: no IPv6 for the guest: the host does not forward IPv6"*) ;;
	*) echo "forwarding off, --verbose said: $_why"; return 1 ;;
	esac
	[ "$_rc1" = 0 ] || { echo "nat: status $_rc1: $_e1"; return 1; }
	case "$_o1" in
	"fd61:7263:6100:"*"::2/64|hello6 to $HOSTADDR6|hello6 to $HOSTADDR6|FAIL fc00::1 "*"|FAIL $HOSTADDR6 "*"|") ;;
	*) echo "nat: guest saw: $_o1 err: $_e1"; return 1 ;;
	esac
	case "$_v1" in
	"arca: net: IPv6: guest fd61:7263:6100:"*"::2/64 via fd61:7263:6100:"*"::1") ;;
	*) echo "nat: --verbose said: $_v1"; return 1 ;;
	esac
	# allow-private lifts fc00::/7 (nothing answers there: it still fails, but not in N)
	case "$_o2" in "FAIL fc00::1 "*) ;; *) echo "allow-private: guest saw: $_o2"; return 1 ;; esac
	[ "$_rc3" = 0 ] && [ "$_o3" = "FAIL $INET6 TimeoutError|hello6 to $HOSTADDR6|" ] ||
		{ echo "allow=: status $_rc3, guest saw: $_o3 err: $_e3"; return 1; }
	no_leftovers
}

# Rootless --publish: passt binds the host port as the user and forwards it (-t); a port in use
# is the same one line as a root run's.
sc_net_rootless_publish() {
	[ "$(id -u)" = 0 ] && id user >/dev/null 2>&1 ||
		{ echo "SKIP: needs root and a user named 'user' (the nested test host has one)"; return 77; }
	[ -x /usr/bin/passt ] || { echo "SKIP: no /usr/bin/passt (apt install passt)"; return 77; }
	need_net || return $?
	_srv='import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8097)); s.listen(1)
print("listening", flush=True)
c, a = s.accept()
d = b""
while True:
    b = c.recv(65536)
    if not b: break
    d += b
c.sendall(b"got %d bytes, sum %d" % (len(d), sum(d) % 65521))
c.close()'
	_route=
	if ! $IP route show default | grep -q .; then
		$IP route add default via "$INET" dev e2einet0 || return 1
		_route=1
	fi
	su -s /bin/sh user -c "timeout -k 10 $LIMIT '$ARCA' run --verbose --net nat,allow-private \
		-p 127.0.0.1:18097:8097 -- python3 -c '$_srv'" </dev/null >"$T/pub.out" 2>"$T/pub.err" &
	_p=$!
	_i=0
	until grep -q listening "$T/pub.out" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -ge 1100 ] || ! kill -0 $_p 2>/dev/null; then
			kill $_p 2>/dev/null; wait $_p
			[ -n "$_route" ] && $IP route del default via "$INET" dev e2einet0
			echo "the guest's server did not start: $(grep -v '^\[' "$T/pub.err" | tail -n 5 | tr '\n' '|')"
			return 1
		fi
		sleep 0.1
	done
	su -s /bin/sh user -c "'$ARCA' run --net nat,allow-private -p 127.0.0.1:18097:9090 -- true" \
		</dev/null >"$T/out" 2>"$T/err"
	_rc2=$? _err2=$(cat "$T/err") _one=$(one_line_error >/dev/null && echo 1)
	_got=$(timeout 60 python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", 18097), timeout=40)
c.sendall(bytes(range(256)) * 4096)
c.shutdown(socket.SHUT_WR)
r = b""
while True:
    b = c.recv(4096)
    if not b: break
    r += b
sys.stdout.write(r.decode())' 2>&1)
	wait $_p
	RC=$?
	[ -n "$_route" ] && $IP route del default via "$INET" dev e2einet0
	[ "$_rc2" = 125 ] && [ -n "$_one" ] &&
		[ "$_err2" = "arca: --publish 127.0.0.1:18097:9090: host port 18097/tcp is in use" ] ||
		{ echo "second publish of 18097: status $_rc2: $_err2"; return 1; }
	[ "$_got" = "got 1048576 bytes, sum 30600" ] ||
		{ echo "client got: $_got; guest: $(tr '\n' '|' <"$T/pub.out") err: $(grep -v '^\[' "$T/pub.err" | tail -n 5 | tr '\n' '|')"; return 1; }
	[ "$RC" = 0 ] || { echo "the run: status $RC: $(grep -v '^\[' "$T/pub.err" | tail -n 5 | tr '\n' '|')"; return 1; }
	grep -qx 'arca: net: published 127.0.0.1:18097 -> guest 10.213.0.2:8097/tcp (by passt)' "$T/pub.err" ||
		{ echo "no published line: $(grep 'arca: net' "$T/pub.err" | tr '\n' '|')"; return 1; }
	_left=$(grep -l '^passt' /proc/[0-9]*/comm 2>/dev/null | tr '\n' ' ')
	[ -z "$_left" ] || { echo "passt left running: $_left"; return 1; }
}

# --net ns=PATH: a "pod" network namespace made as a CNI plugin makes one (a veth whose end in
# it is eth0 with an address and a default route); the guest takes eth0 over (its MAC and
# address), reaches the test's internet routed through the host, resolves through dns=; when
# the run ends the pod's own stack has its interface back.
sc_net_pod() {
	need_net || return $?
	pod_netns e2epod 10.77.0 || return 1
	_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	echo 1 >/proc/sys/net/ipv4/ip_forward
	_mac=$($IP -n e2epod -o link show eth0 | sed 's/.*link\/ether \([0-9a-f:]*\).*/\1/')
	arca run --verbose --net "ns=/run/netns/e2epod,dns=$INET" -- sh -c "$GET"'
		/usr/sbin/ip -4 -o addr show | grep -v " lo " | sed "s/.*inet \([0-9./]*\).*/\1/"
		/usr/sbin/ip -o link show | grep -o "link/ether [0-9a-f:]*" | cut -d" " -f2
		get http://'"$INET"':8080/pod
		get http://good.test:8081/name
		exit 4' </dev/null
	# The wire is gone with the run: the pod's own stack answers again.
	$IP netns exec e2epod ping -c 1 -W 5 10.77.0.1 >/dev/null 2>&1
	_ping=$?
	pod_netns_del e2epod
	echo "$_fwd" >/proc/sys/net/ipv4/ip_forward
	[ "$RC" = 4 ] || { why; return 1; }
	_o=$(tr '\n' '|' <"$T/out")
	[ "$_o" = "10.77.0.2/24|$_mac|hello from $INET:8080 /pod|hello from $INET:8081 /name|" ] ||
		{ echo "guest saw: $_o (pod's MAC $_mac) err: $(grep -v '^\[' "$T/err" | tail -n 5 | tr '\n' '|')"; return 1; }
	grep -q "^arca: net: guest 10.77.0.2/24 via 10.77.0.1 on eth0 of /run/netns/e2epod" "$T/err" ||
		{ echo "no verbose line: $(grep 'arca: net' "$T/err" | tr '\n' '|')"; return 1; }
	[ "$_ping" = 0 ] || { echo "the pod's eth0 still redirected after the run"; return 1; }
	arca run --net ns=/etc/passwd -- true </dev/null
	[ "$RC" = 125 ] && one_line_error && grep -q "not a network namespace" "$T/err" || { why; return 1; }
}

NO_VM="net_errors"
NEEDS_VM="net_none net_nat net_allow net_kill9 net_parallel net_publish net_rootless net_rootless_publish net_ipv6 net_pod"

harness_run e2e-net
