#!/bin/sh
# The host side of tests/bench/net (POSIX sh; busybox in the nested test host): a netbench
# server in a network namespace `benchnet` (198.51.100.2, behind the veth benchnet0 whose host
# end is 198.51.100.1: arca refuses its guests the host's own addresses), reached (c) from this
# host's own netns, (b) from a QEMU microvm guest through virtio-net on the TAP qtap0
# (10.99.0.1/24, the guest 10.99.0.2), (a) from an arca guest through --net nat; both guests
# routed through this host. Then the table with the ratio.
# env: ARCA, NETBENCH, BENCH_KERNEL, BENCH_NET_INITRD, BENCH_SECONDS (per throughput test)
ARCA=${ARCA:-arca}
# iproute2's ip by path: busybox sh runs its own applet for a bare `ip` (no netns, no tuntap).
IP=/usr/sbin/ip
[ -x "$IP" ] || IP=/sbin/ip
S=${BENCH_SECONDS:-10}
SRV=198.51.100.2 HOSTADDR=198.51.100.1 PORT=5201
T=$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-net.XXXXXX") || exit 1
FWD=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null
	for _p in $($IP netns pids benchnet 2>/dev/null); do kill "$_p" 2>/dev/null; done
	$IP netns del benchnet 2>/dev/null
	$IP link del benchnet0 2>/dev/null
	$IP link del qtap0 2>/dev/null
	[ -n "$FWD" ] && echo "$FWD" >/proc/sys/net/ipv4/ip_forward 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "bench-net: needs root (netns, veth, TAP)"; exit 1; }
[ -x "$IP" ] || { echo "bench-net: needs iproute2's ip"; exit 1; }
[ -c /dev/net/tun ] || { echo "bench-net: no /dev/net/tun"; exit 1; }

# A failed try's leftovers, then the server's namespace and the QEMU guest's TAP.
$IP netns del benchnet 2>/dev/null; $IP link del benchnet0 2>/dev/null; $IP link del qtap0 2>/dev/null
echo 1 >/proc/sys/net/ipv4/ip_forward || { echo "bench-net: cannot set net.ipv4.ip_forward"; exit 1; }
{
	$IP netns add benchnet &&
		$IP link add benchnet0 type veth peer name benchnet1 netns benchnet &&
		$IP addr add "$HOSTADDR/24" dev benchnet0 && $IP link set benchnet0 up &&
		$IP -n benchnet addr add "$SRV/24" dev benchnet1 && $IP -n benchnet link set benchnet1 up &&
		$IP -n benchnet link set lo up && $IP -n benchnet route add default via "$HOSTADDR" &&
		$IP tuntap add qtap0 mode tap && $IP addr add 10.99.0.1/24 dev qtap0 &&
		$IP link set qtap0 up
} || { echo "bench-net: setting up benchnet or qtap0 failed"; exit 1; }
$IP netns exec benchnet "$NETBENCH" server "$PORT" </dev/null >"$T/server.log" 2>&1 &
SPID=$!
i=0
while ! grep -q '^BENCH listening=' "$T/server.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -ge 300 ] || ! kill -0 "$SPID" 2>/dev/null; then
		echo "bench-net: the server did not start: $(tr '\n' '|' <"$T/server.log")"
		exit 1
	fi
	sleep 0.1
done
echo "bench-net: server $SRV:$PORT in netns benchnet, ${S}s per throughput test, 3s ping-pong"

# (c) this host's own netns to the server: the limit (veth, no virtualisation).
timeout 300 "$NETBENCH" client "$SRV" "$PORT" "$S" </dev/null >"$T/res-host" 2>&1

# (b) QEMU microvm, virtio-net over virtio-mmio on the TAP (no vhost: arca has none either).
if [ -c /dev/kvm ]; then acc="-accel kvm -cpu host"; else acc="-accel tcg"; fi
# shellcheck disable=SC2086
timeout 900 qemu-system-x86_64 $acc -M microvm,acpi=on -m 512 -smp 1 -nodefaults -no-reboot \
	-nographic -serial stdio -kernel "$BENCH_KERNEL" -initrd "$BENCH_NET_INITRD" \
	-append "console=ttyS0 quiet panic=-1 BENCH_SECONDS=$S BENCH_SERVER=$SRV BENCH_PORT=$PORT" \
	-netdev tap,id=n0,ifname=qtap0,script=no,downscript=no,vhost=off \
	-device virtio-net-device,netdev=n0 </dev/null >"$T/res-qemu" 2>&1

# (a) arca: --net nat, netbench from a read-only share.
mkdir -p "$T/b" && cp "$NETBENCH" "$T/b/netbench" || exit 1
timeout 900 "$ARCA" run --net nat --timeout 600 -v "$T/b:/b:ro" \
	-- /b/netbench client "$SRV" "$PORT" "$S" </dev/null >"$T/res-arca" 2>&1

get() { # FILE KEY
	_v=$(tr -d '\r' <"$1" | sed -n "s/^BENCH $2=//p" | head -n 1)
	echo "${_v:--}"
}
ratio() { # A B: A/B with two decimals, or -
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}
for t in arca qemu host; do
	if ! grep -q '^BENCH done=1' "$T/res-$t" 2>/dev/null || grep -q '^BENCH error=' "$T/res-$t"; then
		tr -d '\r' <"$T/res-$t" | grep -v -e '^$' | tail -n 8 | sed "s/^/bench-net: $t: /"
	fi
done
echo
printf '%-22s %12s %12s %12s %10s\n' "" "arca" "QEMU" "host" "arca/QEMU"
row() { # LABEL KEY (LABEL padded by hand to 22 columns: printf counts bytes, not characters)
	_a=$(get "$T/res-arca" "$2") _q=$(get "$T/res-qemu" "$2") _h=$(get "$T/res-host" "$2")
	printf '%s %12s %12s %12s %10s\n' "$1" "$_a" "$_q" "$_h" "$(ratio "$_a" "$_q")"
}
row "guest→server MB/s     " tx_mbs
row "server→guest MB/s     " rx_mbs
row "RR median µs          " rr_us
row "RR/s                  " rr_per_s
for t in arca qemu host; do
	grep -q '^BENCH done=1' "$T/res-$t" 2>/dev/null || exit 1
done
exit 0
