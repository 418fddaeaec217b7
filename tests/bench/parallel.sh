#!/bin/bash
# Parallel cold boots, QEMU microvm against arca, in the nested test host: R rounds of P at once
# each, QEMU first; prints how many of each round ran `true` and the last lines of any that
# did not (a guest reset, or the test host itself crashing). Driven by tests/bench/parallel.
#   parallel.sh [ROUNDS [P]]   env: SINGLES=N first runs N interleaved single boots of each

A=/opt/arca/arca
K=/opt/arca/build/kernel/vmlinuz
I=/opt/e2e/microvm.cpio
R=${1:-3}; P=${2:-16}; MEM=256
T=/tmp/par; mkdir -p $T
$A run -- true >/dev/null 2>&1
qemu1() { timeout 300 qemu-system-x86_64 -M microvm,acpi=on -accel kvm -cpu host -m $MEM -smp 1 \
	-nodefaults -no-user-config -nographic -no-reboot -serial stdio -kernel $K -initrd $I \
	-append "console=ttyS0 reboot=k panic=-1" </dev/null >$T/q.$1 2>&1; echo $? >$T/q.$1.rc; }
arca1() { timeout 300 $A run --memory $MEM --boot-timeout 0 -- true </dev/null >$T/a.$1 2>&1; echo $? >$T/a.$1.rc; }
# one at a time, interleaved: cold arca (default, decompressed kernel), --kaslr, --warm, QEMU microvm; 512 MiB
t() { local t0 t1; read -r t0 _ </proc/uptime; "$@"; local rc=$?; read -r t1 _ </proc/uptime; echo "$rc $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}')"; }
$A run --warm --memory 512 -- true >/dev/null 2>&1
ar() { $A run "$@" --memory 512 -- true </dev/null >/dev/null 2>&1; }
for i in $(seq ${SINGLES:-0}); do
	echo "single $i: arca $(t ar) kaslr $(t ar --kaslr) warm $(t ar --warm) qemu $(MEM=512 t qemu1 s; grep -c 'true ran' $T/q.s)"
done
for r in $(seq $R); do
	for v in qemu arca; do
		rm -f $T/?.*; read -r t0 _ </proc/uptime
		for i in $(seq $P); do if [ $v = arca ]; then arca1 $i & else qemu1 $i & fi; done
		wait; read -r t1 _ </proc/uptime
		if [ $v = arca ]; then
			ok=$(grep -l '^0$' $T/a.*.rc | wc -l)
			echo "round $r arca: $ok/$P ok, wall $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", b-a}') s"
			for f in $T/a.*.rc; do grep -q '^0$' $f || echo "  arca fail rc=$(cat $f): $(tail -n 2 ${f%.rc} | tr '\n' '|' | cut -c1-300)"; done
		else
			ok=$(grep -l 'bench-guest: true ran' $T/q.[0-9]* | wc -l)
			echo "round $r qemu: $ok/$P ok, wall $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", b-a}') s"
			for i in $(seq $P); do grep -q 'bench-guest: true ran' $T/q.$i || echo "  qemu fail rc=$(cat $T/q.$i.rc): $(grep -v '^$' $T/q.$i | tail -n 8 | tr '\n' '|' | cut -c1-600)"; done
		fi
	done
done
echo done-par
