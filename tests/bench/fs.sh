#!/bin/sh
# The host side of tests/bench/fs (POSIX sh; busybox in the nested test host). Prepares one
# directory per target holding fsbench, bench-in.sh and the same tarball, runs bench-in.sh on
# (c) this host's file system, (b) a QEMU 9p share in a guest and (a) an arca share in a guest,
# then (c) once more (the host's drift meanwhile), and prints the table.
# env: ARCA, BENCH_DIR (bench-in.sh), FSBENCH, BENCH_9P_KERNEL, BENCH_9P_INITRD,
#      BENCH_SEQ_MIB, BENCH_FILES, BENCH_TAR_FILES
ARCA=${ARCA:-arca}
now() { read -r _u _ </proc/uptime; echo "$_u"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/arca-bench-fs.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
SEQ=${BENCH_SEQ_MIB:-256} FILES=${BENCH_FILES:-2000} TARN=${BENCH_TAR_FILES:-3000}
# The share server runs with arca-vmm's ids: 65534:65534 when arca runs as root.
if [ "$(id -u)" = 0 ]; then VMM_IDS=65534:65534; else VMM_IDS=; fi

# The tarball is made here, on the host side, once: the same input for every target.
"$FSBENCH" mktree "$T/tree" "$TARN" || exit 1
tar -cf "$T/tree.tar" -C "$T" tree || exit 1
rm -rf "$T/tree"
echo "bench-fs: $SEQ MiB sequential, $FILES small files, tar of $TARN files ($(($(wc -c <"$T/tree.tar") / 1024)) KiB)"

prep() { # NAME: a fresh target directory
	mkdir -p "$T/$1" && cp "$FSBENCH" "$T/$1/fsbench" && cp "$BENCH_DIR/bench-in.sh" "$T/tree.tar" "$T/$1/" || exit 1
}

# (c) this host's own file system (the test host's root is a tmpfs)
prep host
fstype=$(df -T "$T/host" 2>/dev/null | awk 'NR == 2 { print $2 }')
BENCH_SEQ_MIB=$SEQ BENCH_FILES=$FILES sh "$T/host/bench-in.sh" "$T/host" >"$T/res-host" 2>&1
rm -rf "$T/host"

echo "bench-fs: host ($fstype) done at $(now)s"

# (b) QEMU 9p: virtio-9p-pci needs PCI; microvm's PCIe host (pcie=on, found through ACPI)
# boots much faster than -M pc's SeaBIOS. Kernel and initrd from tests/bench/mkinitrd-9p.
prep 9p
if [ -c /dev/kvm ]; then acc="-accel kvm -cpu host"; else acc="-accel tcg"; fi
# shellcheck disable=SC2086
timeout 900 qemu-system-x86_64 $acc -M microvm,pcie=on,acpi=on -m 512 -smp 1 -nodefaults -no-reboot -nographic \
	-serial stdio -kernel "$BENCH_9P_KERNEL" -initrd "$BENCH_9P_INITRD" \
	-append "console=ttyS0 quiet panic=-1 BENCH_SEQ_MIB=$SEQ BENCH_FILES=$FILES" \
	-fsdev "local,id=f0,path=$T/9p,security_model=none" -device virtio-9p-pci,fsdev=f0,mount_tag=w \
	</dev/null >"$T/res-9p" 2>&1
rm -rf "$T/9p"
echo "bench-fs: 9p done at $(now)s"

# (a) arca's virtio-fs share, in its default cache mode (cache=auto) and with cache=none
# (no guest page cache for file data: one copy fewer, as 9p's default).
arca_run() { # NAME SHARE-OPTS
	prep "$1"
	[ -z "$VMM_IDS" ] || chown -R "$VMM_IDS" "$T/$1"
	if "$ARCA" help 2>&1 | grep -q -- '--share'; then
		timeout 900 "$ARCA" run --timeout "${BENCH_ARCA_TIMEOUT:-600}" --memory 512 -e BENCH_SEQ_MIB="$SEQ" -e BENCH_FILES="$FILES" \
			-v "$T/$1:/w$2" -- sh /w/bench-in.sh /w </dev/null >"$T/res-$1" 2>&1
	else
		echo "BENCH error=arca-has-no-share-option" >"$T/res-$1"
	fi
	rm -rf "${T:?}/$1"
	echo "bench-fs: $1 done at $(now)s"
}
arca_run arca ""
arca_run arcanone ":cache=none"

# The host's sequential pass once more, at the end: the columns run minutes apart, and a nested
# test host's speed drifts (2x within a day), so the table says how far it moved meanwhile.
prep host2
BENCH_SEQ_MIB=$SEQ BENCH_FILES=$FILES sh "$T/host2/bench-in.sh" "$T/host2" >"$T/res-host2" 2>&1
rm -rf "$T/host2"

# get FILE KEY: the value of "BENCH KEY=VALUE" (tr strips the serial console's \r).
get() {
	_v=$(tr -d '\r' <"$1" | sed -n "s/^BENCH $2=//p" | head -n 1)
	echo "${_v:--}"
}
# A target that did not finish, or had a failing step: its last lines that are not results.
for t in arca arcanone 9p host; do
	if ! grep -q '^BENCH done=1' "$T/res-$t" 2>/dev/null || grep -q '^BENCH error=' "$T/res-$t"; then
		tr -d '\r' <"$T/res-$t" | grep -v -e '^$' -e '^BENCH [a-z_]*_[a-zA-Z]*=' | tail -n 8 | sed "s/^/bench-fs: $t: /"
	fi
done
echo
printf '%-26s %14s %14s %14s %14s\n' "" "arca virtio-fs" "arca none" "QEMU 9p" "host ($fstype)"
printf '%-26s %14s %14s\n' "" "(cache=auto)" "(cache=none)"
row() { # LABEL KEY
	printf '%-26s %14s %14s %14s %14s\n' "$1" "$(get "$T/res-arca" "$2")" "$(get "$T/res-arcanone" "$2")" \
		"$(get "$T/res-9p" "$2")" "$(get "$T/res-host" "$2")"
}
row "seq write MB/s" seq_write_MBps
row "seq read MB/s" seq_read_MBps
row "  read after drop_caches" seq_read_cold
row "create files/s" create_per_s
row "stat files/s" stat_per_s
row "unlink files/s" unlink_per_s
row "tar -x $TARN files (s)" tar_x_s
row "  files extracted" tar_files
row "rm -rf tree (s)" rm_rf_s
echo "host ($fstype) again after the other columns: seq write / read $(get "$T/res-host2" seq_write_MBps) / $(get "$T/res-host2" seq_read_MBps) MB/s"
echo "9p mount: $(get "$T/res-9p" mount)"
for t in arca arcanone 9p host; do
	grep -q '^BENCH done=1' "$T/res-$t" 2>/dev/null || exit 1
done
exit 0
