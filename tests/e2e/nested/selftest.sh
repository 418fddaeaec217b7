#!/bin/sh
# Self-test of the nested test host (no arca needed): /dev/kvm works and a KVM guest boots.
#   NESTED_WITH_QEMU=1 E2E_SCENARIOS=tests/e2e/nested/selftest.sh tests/e2e/run
# Same output contract as scenarios.sh.
HERE=$(cd "$(dirname "$0")" && pwd)
PASS=0 FAIL=0 SKIP=0
ok() { echo "ok $1"; PASS=$((PASS + 1)); }
nok() { echo "not ok $1: $2"; FAIL=$((FAIL + 1)); }
now() { read -r _u _ </proc/uptime; echo "$_u"; }

if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then ok dev_kvm; else nok dev_kvm "no usable /dev/kvm"; fi
K=/opt/arca/build/kernel/vmlinuz
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "skip microvm_true: qemu not packed (NESTED_WITH_QEMU=1)"; SKIP=$((SKIP + 1))
else
	i=0
	while [ "$i" -lt "${SELFTEST_RUNS:-3}" ]; do
		t0=$(now)
		timeout 120 qemu-system-x86_64 -M microvm,acpi=on -accel kvm -cpu host -m 512 \
			-nodefaults -no-user-config -nographic -no-reboot -serial stdio \
			-kernel "$K" -initrd "$HERE/microvm.cpio" \
			-append "console=ttyS0 quiet reboot=k panic=-1" </dev/null >/tmp/mv.log 2>&1
		rc=$?
		dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
		if [ "$rc" = 0 ] && grep -q 'bench-guest: true ran' /tmp/mv.log; then
			ok "microvm_true_$i (${dt}s)"
		else
			nok "microvm_true_$i" "status $rc after ${dt}s: $(tail -n 5 /tmp/mv.log | tr '\n' '|')"
		fi
		i=$((i + 1))
	done
fi
echo "e2e: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
