# shellcheck shell=bash
# Shared by tests/e2e/run, tests/bench/boot and tests/bench/fs (bash, sourced; runs on the
# outer machine).
#
# host_path_decide picks the path: directly on this machine, or in a nested "test host": QEMU
# TCG with -cpu max (which exposes SVM) running the same Debian cloud kernel as arca's guests,
# with kvm-amd loaded from its modules. The test host's initramfs is a merged-/usr userland
# like Debian 12's (busybox, perl, python3 when installed here; nested_userland), since arca's
# default guest root is the host's /usr, plus the arca tree under /opt/arca, the payload script
# and anything else the caller asks for. Its init prints the payload's output between two
# marker lines on the serial console and powers off. See NESTED-KVM.md in the shared notes for
# the measurements behind the timeouts.

NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$NESTED_DIR/../../.." && pwd)

NESTED_BEGIN='=== arca-e2e BEGIN ==='
NESTED_END='=== arca-e2e END'

# host_path_decide: where arca's VMs run for tests/e2e/run, tests/bench/boot and tests/bench/fs.
# Sets HOST_PATH (direct: on this machine; nested: in the QEMU TCG test host) and HOST_WHY
# (the reason, for the caller's one "host: PATH (WHY)" line). Probe, don't guess: a /dev/kvm
# that opens proves little (kvm-pvm opens fine, then cannot boot a stock kernel and a run
# fails minutes later), so direct needs `arca doctor` to exit 0 AND a bounded real boot,
# `arca run --timeout 30 -- true`, to exit 0. A missing arca, or one without the doctor
# command, counts as doctor failing. E2E_HOST=direct|nested forces the path (empty: decide);
# any other value returns 2 with a message on stderr. Otherwise returns 0.
host_path_decide() {
	local arca=$REPO/arca f rc t0 line
	HOST_PATH='' HOST_WHY=''
	case "${E2E_HOST:-}" in
	direct | nested)
		HOST_PATH=$E2E_HOST HOST_WHY="forced by E2E_HOST"
		return 0 ;;
	'') ;;
	*)
		echo "E2E_HOST must be 'direct' or 'nested' (or unset), not '$E2E_HOST'" >&2
		return 2 ;;
	esac
	HOST_PATH=nested
	if [ ! -e /dev/kvm ]; then
		HOST_WHY="no /dev/kvm"
		return 0
	fi
	if [ ! -x "$arca" ]; then
		HOST_WHY="arca doctor: $arca is not built"
		return 0
	fi
	# Output goes to a file, not a pipe: a straggler holding the pipe open would hang $(...).
	f=$(mktemp "${TMPDIR:-/tmp}/arca-host-probe.XXXXXX") || { HOST_WHY="mktemp failed"; return 0; }
	timeout -k 5 30 "$arca" doctor </dev/null >"$f" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		HOST_WHY="arca doctor: $(host_doctor_failure "$f" "$rc")"
		rm -f "$f"
		return 0
	fi
	t0=$(date +%s.%N)
	timeout -k 5 60 "$arca" run --timeout 30 -- true </dev/null >/dev/null 2>"$f"
	rc=$?
	if [ "$rc" != 0 ]; then
		line=$(sed -n '/[^[:space:]]/{p;q}' "$f")
		if [ -z "$line" ]; then
			case $rc in
			124 | 137) line="no output within 60s" ;;
			*) line="no output on stderr" ;;
			esac
		fi
		HOST_WHY="test boot failed: exit $rc: $line"
		rm -f "$f"
		return 0
	fi
	rm -f "$f"
	HOST_PATH=direct
	HOST_WHY="arca doctor passed and a test boot ran in $(awk -v a="$t0" -v b="$(date +%s.%N)" \
		'BEGIN { printf "%.1f", b - a }')s"
}

# host_doctor_failure FILE RC: the first check arca doctor (output in FILE) reports as FAIL.
host_doctor_failure() {
	local f=$1 rc=$2 line
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "timed out after 30s"
		return
	fi
	line=$(grep -m 1 '^FAIL' "$f")
	[ -n "$line" ] || line=$(sed -n '/[^[:space:]]/{p;q}' "$f")
	printf '%s\n' "${line:-exit $rc, no output}" | sed 's/ -- fix: .*//; s/[[:space:]]\{1,\}/ /g'
}

# nested_kernel_dir: sets KDIR (root holding boot/ and lib/modules/VER/), KVER, KIMG: the tree
# $ARCA_TEST_KERNEL_DIR names when set, else build/kernel (what `make` fetched). Where the tree
# has a VERSION file (make writes one), the image must be that version's.
nested_kernel_dir() {
	KDIR=${ARCA_TEST_KERNEL_DIR:-$REPO/build/kernel}
	if [ ! -d "$KDIR/lib/modules" ]; then
		echo "nested: no guest kernel in $KDIR (run make, or set ARCA_TEST_KERNEL_DIR)" >&2
		return 1
	fi
	if [ -e "$KDIR/vmlinuz" ]; then
		KIMG=$(readlink -f "$KDIR/vmlinuz")
	else
		KIMG=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	fi
	KVER=${KIMG##*/vmlinuz-}
	if [ -f "$KDIR/VERSION" ] && [ "$(cat "$KDIR/VERSION")" != "$KVER" ]; then
		echo "nested: $KDIR/VERSION says '$(cat "$KDIR/VERSION")' but the image is '$KVER'" >&2
		return 1
	fi
	if [ ! -f "$KIMG" ] || [ ! -d "$KDIR/lib/modules/$KVER/kernel" ]; then
		echo "nested: kernel image or modules for '$KVER' missing under $KDIR" >&2
		return 1
	fi
	return 0
}

# Module subtrees (relative to lib/modules/VER/kernel) packed into the test host: what the
# test host needs (kvm, loop for the disk scenarios' block devices) plus what arca's guests
# load (virtio, console, blk, fuse, net).
NESTED_MODULES=(
	virt/lib
	arch/x86/kvm
	drivers/virtio
	drivers/char/virtio_console.ko
	drivers/block/virtio_blk.ko
	drivers/block/loop.ko
	fs/fuse
	fs/overlayfs
	drivers/net/virtio_net.ko
	net/core/failover.ko
	drivers/net/net_failover.ko
	# --net: the run's TAP and veth, a dummy "internet" link, nftables with NAT
	drivers/net/tun.ko
	drivers/net/veth.ko
	# podman's CNI bridge network (the OCI test host loads them: nested/init)
	net/llc/llc.ko
	net/802/stp.ko
	net/bridge/bridge.ko
	net/netfilter/x_tables.ko
	net/netfilter/nft_compat.ko
	net/netfilter/xt_comment.ko
	net/netfilter/xt_conntrack.ko
	net/netfilter/xt_MASQUERADE.ko
	net/netfilter/xt_addrtype.ko
	net/netfilter/xt_mark.ko
	net/netfilter/xt_multiport.ko
	net/netfilter/xt_nat.ko
	net/netfilter/xt_tcpudp.ko
	drivers/net/dummy.ko
	lib/libcrc32c.ko
	net/netfilter/nfnetlink.ko
	net/netfilter/nf_tables.ko
	net/ipv4/netfilter/nf_defrag_ipv4.ko
	net/ipv6/netfilter/nf_defrag_ipv6.ko
	net/netfilter/nf_conntrack.ko
	net/netfilter/nf_nat.ko
	net/netfilter/nft_ct.ko
	net/netfilter/nft_nat.ko
	net/netfilter/nft_masq.ko
	net/netfilter/nft_chain_nat.ko
	net/netfilter/nft_objref.ko
	# --net ns=PATH: the pod's interface wired to the TAP by tc
	net/sched/sch_ingress.ko
	net/sched/cls_u32.ko
	net/sched/act_mirred.ko
)

# usr_path PATH: where PATH lives in a merged-/usr tree (/lib/x -> /usr/lib/x, /bin/x -> ...).
usr_path() {
	case "$1" in
	/lib/* | /lib64/* | /bin/* | /sbin/*) printf '/usr%s\n' "$1" ;;
	*) printf '%s\n' "$1" ;;
	esac
}

# copy_file STAGE SRC DEST: copy a file (symlinks followed) to STAGE/DEST unless something is
# already there; the launcher insists on root-owned, not group/world-writable inputs, so the
# mode is normalised to 0755 (executable) or 0644 (cpio -R 0:0 makes everything root's).
copy_file() {
	local stage=$1 src=$2 dst=$3
	[ -e "$stage/$dst" ] || [ -L "$stage/$dst" ] && return 0
	mkdir -p "$stage/$(dirname "$dst")"
	cp -L "$src" "$stage/$dst" || return 1
	if [ -x "$src" ]; then chmod 0755 "$stage/$dst"; else chmod 0644 "$stage/$dst"; fi
}

# copy_with_libs STAGE FILE DEST: copy an executable to STAGE/DEST plus every shared library
# ldd names for it, at its merged-/usr path (/lib/x86_64-linux-gnu/libc.so.6 lands in
# /usr/lib/x86_64-linux-gnu; /lib -> usr/lib in the stage makes the old path work too).
copy_with_libs() {
	local stage=$1 src=$2 dst=$3 lib
	copy_file "$stage" "$src" "$dst" || return 1
	# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for the loader;
	# "statically linked" / vdso lines have no absolute path and are skipped. The loader
	# itself is packed by nested_pack (its /usr/lib64 path is a symlink, as on Debian).
	for lib in $(ldd "$src" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		case "$lib" in */ld-linux-x86-64.so.2) continue ;; esac
		copy_file "$stage" "$lib" "$(usr_path "$lib")" || return 1
	done
}

# pack_debian_pkg STAGE PKG...: the regular files and symlinks installed Debian packages list
# (dpkg -L), minus documentation, at their merged-/usr paths; for Python sources also the byte
# code Debian compiled at install time (not in the package list), so a read-only /usr starts
# fast. One tar pipe: a fork per file would cost minutes for perl's ~1000 files.
pack_debian_pkg() {
	local stage=$1 f pyc
	shift
	dpkg -L "$@" >/dev/null 2>&1 || { echo "nested: not all of $* are installed" >&2; return 1; }
	dpkg -L "$@" | while IFS= read -r f; do
		case "$f" in /usr/share/doc/* | /usr/share/man/* | /usr/share/lintian/*) continue ;; esac
		[ -L "$f" ] || [ -f "$f" ] || continue
		printf '%s\n' "${f#/}"
		case "$f" in
		*.py)
			pyc=${f%/*}/__pycache__/${f##*/}
			pyc=${pyc%.py}.cpython-311.pyc
			[ -f "$pyc" ] && printf '%s\n' "${pyc#/}" ;;
		esac
	done | LC_ALL=C sort -u >"$stage/.pkgfiles"
	# Files are packed as root's with the host's modes (Debian's are 0644/0755).
	tar -C / --no-recursion -T "$stage/.pkgfiles" -cf - \
		--transform 's,^\(bin\|sbin\|lib\|lib64\)/,usr/\1/,' |
		tar -C "$stage" -xf - || return 1
	rm -f "$stage/.pkgfiles"
}

# Interpreters packed into the test host's /usr (the guest's default root is that /usr):
# perl from perl-base always; python3 when its minimal packages are installed here.
NESTED_PERL_PKGS=(perl-base)
NESTED_PYTHON_PKGS=(python3.11-minimal libpython3.11-minimal)

# sh_quote WORD: one single-quoted shell word, safe for eval in busybox sh.
sh_quote() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s' " "$s"
}

# nested_userland STAGE: a merged-/usr layout like Debian 12's: /bin, /sbin, /lib, /lib64 are
# links into /usr; libraries in /usr/lib/x86_64-linux-gnu with the loader reached through
# /usr/lib64/ld-linux-x86-64.so.2; busybox and its applet links in /usr/bin and /usr/sbin;
# perl (and python3 where installed); /etc/ld.so.cache made by ldconfig for this tree.
nested_userland() {
	local stage=$1 a d ld
	mkdir -p "$stage"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64} "$stage"/etc/ld.so.conf.d
	ln -s usr/bin "$stage/bin"
	ln -s usr/sbin "$stage/sbin"
	ln -s usr/lib "$stage/lib"
	ln -s usr/lib64 "$stage/lib64"
	ld=$(readlink -f /lib64/ld-linux-x86-64.so.2)
	copy_file "$stage" "$ld" /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 || return 1
	ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$stage/usr/lib64/ld-linux-x86-64.so.2"
	copy_file "$stage" /bin/busybox /usr/bin/busybox || return 1

	# setpriv (util-linux): scenarios drop capabilities as Docker's default set does.
	copy_with_libs "$stage" /usr/bin/setpriv /usr/bin/setpriv || return 1
	# script (bsdutils): the -t scenario runs arca on a pty of its own.
	if [ -x /usr/bin/script ]; then
		copy_with_libs "$stage" /usr/bin/script /usr/bin/script || return 1
	fi
	# e2fsprogs: the disk scenarios make, check and inspect ext4 images, in the test host
	# and (the guest's /usr is the test host's) in the guest.
	for a in mke2fs e2fsck debugfs; do
		copy_with_libs "$stage" "/sbin/$a" "/usr/sbin/$a" || return 1
	done
	ln -s mke2fs "$stage/usr/sbin/mkfs.ext4"
	# iproute2 (netns, veth) and nft: the --net scenarios build the test host's "internet"
	# and inspect what arca left behind.
	copy_with_libs "$stage" "$(command -v ip)" /usr/sbin/ip || return 1
	if command -v nft >/dev/null; then
		copy_with_libs "$stage" "$(command -v nft)" /usr/sbin/nft || return 1
	fi
	# passt: rootless --net (net_rootless); passt re-executes itself as passt.avx2 where
	# the CPU has AVX2, so that goes too.
	if [ -x /usr/bin/passt ]; then
		copy_with_libs "$stage" /usr/bin/passt /usr/bin/passt || return 1
		if [ -x /usr/bin/passt.avx2 ]; then
			copy_with_libs "$stage" /usr/bin/passt.avx2 /usr/bin/passt.avx2 || return 1
		fi
	fi
	ln -s e2fsck "$stage/usr/sbin/fsck.ext4"
	copy_file "$stage" /etc/mke2fs.conf /etc/mke2fs.conf || return 1
	pack_debian_pkg "$stage" "${NESTED_PERL_PKGS[@]}" || return 1
	copy_with_libs "$stage" /usr/bin/perl /usr/bin/perl || return 1
	NESTED_HAVE_PYTHON=0
	if dpkg -L "${NESTED_PYTHON_PKGS[@]}" >/dev/null 2>&1 && [ -x /usr/bin/python3.11 ]; then
		pack_debian_pkg "$stage" "${NESTED_PYTHON_PKGS[@]}" || return 1
		copy_with_libs "$stage" /usr/bin/python3.11 /usr/bin/python3.11 || return 1
		ln -sfn python3.11 "$stage/usr/bin/python3"
		# json (libpython3.11-stdlib, pure Python without _json): scenarios parse
		# `arca doctor --json` with it.
		if [ -d /usr/lib/python3.11/json ]; then
			mkdir -p "$stage/usr/lib/python3.11/json"
			cp /usr/lib/python3.11/json/*.py "$stage/usr/lib/python3.11/json/"
		fi
		NESTED_HAVE_PYTHON=1
	fi

	# Applet links (relative, so they work wherever this /usr is mounted) where no real
	# program took the name; busybox's own bin/ sbin/ usr/bin/ usr/sbin/ all map into /usr.
	for a in $(/bin/busybox --list-full); do
		case "$a" in
		bin/* | usr/bin/*) d=usr/bin ;;
		sbin/* | usr/sbin/*) d=usr/sbin ;;
		*) continue ;;
		esac
		[ -e "$stage/$d/${a##*/}" ] || [ -L "$stage/$d/${a##*/}" ] && continue
		if [ "$d" = usr/bin ]; then
			ln -s busybox "$stage/$d/${a##*/}"
		else
			ln -s ../bin/busybox "$stage/$d/${a##*/}"
		fi
	done

	# The C.UTF-8 locale (Debian's libc-bin), so LANG=C.UTF-8 programs (perl) stay quiet.
	if [ -d /usr/lib/locale/C.utf8 ]; then
		mkdir -p "$stage/usr/lib/locale"
		cp -r /usr/lib/locale/C.utf8 "$stage/usr/lib/locale/"
	fi

	printf 'include /etc/ld.so.conf.d/*.conf\n' >"$stage/etc/ld.so.conf"
	printf '/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' \
		>"$stage/etc/ld.so.conf.d/x86_64-linux-gnu.conf"
	ldconfig -r "$stage" 2>/dev/null || /sbin/ldconfig -r "$stage" ||
		{ echo "nested: ldconfig -r failed" >&2; return 1; }
}

# nested_pack OUT PAYLOAD [ARG...]: build the test host initramfs.
# Env knobs: NESTED_WITH_QEMU=1 packs QEMU (+ microvm firmware);
#            NESTED_EXTRA="src:dst ..." extra files; NESTED_ENV="K=V ..." exported in the host.
nested_pack() {
	local out=$1 payload=$2
	shift 2
	local stage m f
	stage=$(mktemp -d "${TMPDIR:-/tmp}/arca-nested.XXXXXX") || return 1
	# shellcheck disable=SC2064
	trap "rm -rf '$stage'" RETURN
	chmod 0755 "$stage"

	mkdir -p "$stage"/{etc,proc,sys,dev,tmp,run,root,home,newroot,opt/arca,opt/e2e}
	nested_userland "$stage" || return 1
	cp "$NESTED_DIR/init" "$stage/init"
	chmod 755 "$stage/init"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
	printf 'root:x:0:\n' >"$stage/etc/group"

	# The arca tree, laid out as arca expects relative to its own executable.
	local A=$stage/opt/arca
	# E2E_VMM: another arca-vmm in its place (make asan-e2e: the sanitizer build).
	local src
	for f in arca arca-vmm arca-fuse-host build/test/arca-vmm build/test/trap-main/arca-vmm build/test/trap-vcpu/arca-vmm build/examples/oneshot build/examples/sandbox; do
		src=$REPO/$f
		[ "$f" = arca-vmm ] && [ -n "${E2E_VMM:-}" ] && src=$E2E_VMM
		[ -x "$src" ] && { copy_with_libs "$stage" "$src" "/opt/arca/$f" || return 1; }
	done
	[ -x "$REPO/arca-init" ] && copy_file "$stage" "$REPO/arca-init" /opt/arca/arca-init
	# The static guest-side test binary (tests/probe) for the share scenarios.
	[ -x "$REPO/tests/probe/probe" ] && copy_file "$stage" "$REPO/tests/probe/probe" /opt/arca/probe
	# The OCI scenarios' engine (a subreaper; tests/oci/engine.c).
	[ -x "$REPO/tests/oci/engine" ] && { copy_with_libs "$stage" "$REPO/tests/oci/engine" /opt/arca/oci-engine || return 1; }
	# NESTED_WITH_PODMAN=1 (tests/e2e/run, when scenarios-oci.sh runs): the engines, podman and conmon
	# with their configuration, where installed here (~45 MB: not packed otherwise).
	if [ "${NESTED_WITH_PODMAN:-0}" = 1 ] && [ -x /usr/bin/podman ] && [ -x /usr/bin/conmon ]; then
		copy_with_libs "$stage" /usr/bin/podman /usr/bin/podman || return 1
		copy_with_libs "$stage" /usr/bin/conmon /usr/bin/conmon || return 1
		# crun: the container peer of tests/bench/oci.
		[ ! -x /usr/bin/crun ] || copy_with_libs "$stage" /usr/bin/crun /usr/bin/crun || return 1
		mkdir -p "$stage/etc/containers" "$stage/usr/share/containers" &&
			cp -rL /etc/containers/. "$stage/etc/containers/" || return 1
		[ ! -f /usr/share/containers/containers.conf ] ||
			cp /usr/share/containers/containers.conf "$stage/usr/share/containers/"
		# podman's default bridge network through CNI (oci_podman_cni), as Debian's podman
		# sets it up: the plugins its 87-podman-bridge.conflist names, and iptables (the
		# nft flavour, Debian's default) for the bridge plugin's masquerade and the
		# firewall plugin. Where containernetworking-plugins is not installed the
		# scenario says so (skip).
		if [ -f /etc/cni/net.d/87-podman-bridge.conflist ] && [ -x /usr/lib/cni/bridge ] &&
			[ -x /usr/sbin/xtables-nft-multi ]; then
			for f in bridge host-local portmap firewall tuning loopback; do
				[ ! -x "/usr/lib/cni/$f" ] || copy_with_libs "$stage" "/usr/lib/cni/$f" "/usr/lib/cni/$f" || return 1
			done
			mkdir -p "$stage/etc/cni/net.d" &&
				cp /etc/cni/net.d/87-podman-bridge.conflist "$stage/etc/cni/net.d/" || return 1
			copy_with_libs "$stage" /usr/sbin/xtables-nft-multi /usr/sbin/xtables-nft-multi || return 1
			for f in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
				ln -sf xtables-nft-multi "$stage/usr/sbin/$f"
			done
			mkdir -p "$stage/usr/lib/x86_64-linux-gnu/xtables" &&
				cp -L /usr/lib/x86_64-linux-gnu/xtables/*.so "$stage/usr/lib/x86_64-linux-gnu/xtables/" || return 1
		fi
	fi
	# ...and containerd with its runc v2 shim and ctr (~85 MB), where installed here.
	if [ "${NESTED_WITH_PODMAN:-0}" = 1 ] && [ -x /usr/bin/containerd ] && [ -x /usr/bin/ctr ] &&
		[ -x /usr/bin/containerd-shim-runc-v2 ]; then
		for f in containerd containerd-shim-runc-v2 ctr; do
			copy_with_libs "$stage" "/usr/bin/$f" "/usr/bin/$f" || return 1
		done
	fi
	mkdir -p "$A/build/kernel/boot" "$A/build/kernel/lib/modules/$KVER/kernel"
	cp "$KIMG" "$A/build/kernel/boot/vmlinuz-$KVER"
	ln -s "boot/vmlinuz-$KVER" "$A/build/kernel/vmlinuz"
	for m in "$KDIR/lib/modules/$KVER"/modules.*; do
		[ -f "$m" ] && cp "$m" "$A/build/kernel/lib/modules/$KVER/"
	done
	for m in "${NESTED_MODULES[@]}"; do
		[ -e "$KDIR/lib/modules/$KVER/kernel/$m" ] || continue
		mkdir -p "$A/build/kernel/lib/modules/$KVER/kernel/$(dirname "$m")"
		cp -r "$KDIR/lib/modules/$KVER/kernel/$m" "$A/build/kernel/lib/modules/$KVER/kernel/$m"
	done
	# The base initrds only: the decompressed kernel (vmlinux-*.elf, ~4x the bzImage) would
	# swell the test host's initramfs more than its one-time making there costs.
	if [ -d "$REPO/build/cache" ]; then
		mkdir -p "$A/build/cache"
		for f in "$REPO"/build/cache/base-*.cpio; do
			[ -f "$f" ] && cp "$f" "$A/build/cache/"
		done
	fi

	if [ "${NESTED_WITH_QEMU:-0}" = 1 ]; then
		copy_with_libs "$stage" "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64 || return 1
		mkdir -p "$stage/usr/share/qemu"
		cp -L /usr/share/qemu/bios-microvm.bin "$stage/usr/share/qemu/"
		# -M pc/q35 peers (tests/bench/fs) need SeaBIOS, its option ROMs and the keymaps dir.
		for f in bios-256k.bin bios.bin kvmvapic.bin linuxboot_dma.bin linuxboot.bin efi-virtio.rom vgabios-stdvga.bin; do
			[ -e "/usr/share/qemu/$f" ] && cp -L "/usr/share/qemu/$f" "$stage/usr/share/qemu/"
		done
	fi
	local spec src dst
	for spec in ${NESTED_EXTRA:-}; do
		src=${spec%%:*} dst=${spec#*:}
		mkdir -p "$stage/$(dirname "$dst")"
		cp -rL "$src" "$stage/$dst"
	done

	cp "$payload" "$stage/opt/e2e/payload"
	{
		printf 'NESTED_KVER=%s\n' "$(sh_quote "$KVER")"
		printf 'NESTED_HAVE_PYTHON=%s\n' "$NESTED_HAVE_PYTHON"
		printf 'export NESTED_HAVE_PYTHON\n'
		# Scenarios that size themselves to the test host (net_parallel) read it.
		printf 'export ARCA_E2E_NESTED=1\n'
		printf 'set -- '
		for f in "$@"; do sh_quote "$f"; done
		printf '\n'
		for f in ${NESTED_ENV:-}; do
			printf 'export %s=%s\n' "${f%%=*}" "$(sh_quote "${f#*=}")"
		done
	} >"$stage/opt/e2e/env"

	# Nothing group/world-writable (the launcher refuses such inputs as root); /tmp is a
	# fresh tmpfs in the test host anyway.
	find "$stage" -mindepth 1 ! -type l -perm /022 -exec chmod go-w {} +
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out"
}

# nested_qemu_threads PID: what each of QEMU's threads did over 3 s (CPU ticks, state), for
# the console log of a frozen test host: vCPU threads that spin point at a guest (or TCG)
# loop, idle ones at a test host that waits for an interrupt that never comes.
nested_qemu_threads() {
	local p=$1 t x
	declare -A t0
	for t in /proc/"$p"/task/*; do
		x=$(thread_ticks "$t") && t0[${t##*/}]=${x%% *}
	done
	sleep 3
	echo "nested: watchdog: QEMU's threads over 3 s (tid comm state ticks):"
	for t in /proc/"$p"/task/*; do
		x=$(thread_ticks "$t") || continue
		echo "nested: watchdog:   ${t##*/} $(cat "$t/comm" 2>/dev/null) ${x#* } $((${x%% *} - ${t0[${t##*/}]:-0}))"
	done
}

# nested_qemu_cpus MON NCPU: what each test-host CPU is doing, asked of QEMU's monitor (the
# FIFOs MON.in and MON.out, nested_boot's -monitor pipe:MON): the whole `info registers -a` and
# each CPU's `info lapic` as "nested: monitor:" lines, then "nested: watchdog:" lines per CPU:
# its RIP, flags, HLT and CR3, and its local APIC's timer, ISR, IRR and priorities. That tells
# whether a frozen CPU spins in the test host's kernel (it boots nokaslr, so a RIP is looked up in the
# /proc/kallsyms of any boot of it; Debian's System.map is a placeholder) or in a nested guest
# (another CR3, a RIP elsewhere), and whether an interrupt sits pending, never delivered.
nested_qemu_cpus() {
	local mon=$1 ncpu=$2 cmds i raw
	cmds='info registers -a\n'
	for ((i = 0; i < ncpu; i++)); do cmds+="cpu $i\ninfo lapic\n"; done
	raw=$(nested_qemu_hmp "$mon" "$cmds") || return 0
	printf '%s\n' "$raw" | sed 's/^/nested: monitor: /'
	printf '%s\n' "$raw" | awk '
		/^CPU#[0-9]+/ { cpu = substr($1, 5) }
		/^RIP=/ {
			rip = substr($1, 5); rfl = substr($2, 5); hlt = $NF
			iff = (index("2367abef", substr(rfl, 6, 1)) ? "IF=1" : "IF=0") # bit 9
			regs[cpu] = "RIP=" rip " RFL=" rfl " " iff " " hlt
		}
		/^CR0=/ { regs[cpu] = regs[cpu] " " $3 }
		/^dumping local APIC state for CPU/ { cpu = $NF; ap[cpu] = "" }
		/^(LVTT[ \t]|Timer|ISR|IRR|APR)/ { gsub(/[ \t]+/, " "); ap[cpu] = ap[cpu] " | " $0 }
		END {
			for (c in regs) print "nested: watchdog: cpu" c " " regs[c]
			for (c in ap) print "nested: watchdog: cpu" c " lapic" ap[c]
		}'
}

# nested_qemu_hmp MON CMDS: run monitor commands (printf format: "cmd\\n...") through the FIFOs
# MON.in and MON.out; prints what the monitor answered in 3 s. QEMU holds both FIFOs open
# read-write, so neither open here blocks; the monitor echoes its input with terminal escapes,
# stripped here.
nested_qemu_hmp() {
	local mon=$1 cmds=$2
	[ -p "$mon.in" ] && [ -p "$mon.out" ] || return 1
	{
		exec 3<>"$mon.out"
		# shellcheck disable=SC2059 # the commands are the format
		printf "$cmds" >"$mon.in"
		timeout 3 cat <&3
	} | tr -d '\r' | sed 's/\x1b\[[0-9]*[A-Z]//g' | grep -av '^(qemu)\|^QEMU .* monitor'
	return 0
}

# thread_ticks /proc/PID/task/TID: "TICKS STATE", its user+system CPU time and state.
thread_ticks() {
	local a
	read -r a <"$1/stat" 2>/dev/null || return 1
	a=${a##*) } # past "pid (comm) ": comm may hold spaces
	# shellcheck disable=SC2086
	set -- $a
	echo "$((${12} + ${13})) $1"
}

# nested_watch LOG PIDFILE STALL: stops the test host (SIGTERM to the QEMU in PIDFILE) once it
# is frozen: LOG has had no line but kernel messages for STALL seconds (a live test host prints
# a line per scenario, and the e2e payload a heartbeat every 20 s besides, so silence that long
# means frozen: a freeze may print nothing at all), or its kernel reported a soft lockup or an
# RCU stall and no result line ("ok ...", "not ok ...", "skip ...", a summary) came in the
# NESTED_LOCKUP_GRACE seconds (default 240: one scenario's arca call has 120 s) after it.
# A real lockup stays (seen twice in vmm_seccomp_trap, a VMM dying while its vCPU ran); a
# stall report from a kernel that a slow, busy machine under TCG starved for a while is
# followed by more results, and stopping that test host would only cost a boot.
# Before it stops a silent test host, it records each CPU's registers and local APIC, then
# sends it an NMI (QEMU's monitor, `nmi`; NESTED_NMI=0: not) and waits NESTED_NMI_WAIT seconds
# (30). The test host boots with unknown_nmi_panic=1, so a kernel that still takes NMIs panics
# and prints the stack of what the CPU was running (the console log has it; QEMU then exits,
# -no-reboot). That is the point: in one freeze (2026-12-02) both CPUs looped through the test
# host kernel's int3 entry (asm_exc_int3, irqentry_nmi_enter, native_irq_return_iret: the
# breakpoints the kernel plants while it patches its own code, as for static keys) with
# interrupts disabled and a timer interrupt pending, so nothing else gets a word out of it.
# In another both CPUs sat halted with deliverable vectors pending in CPU 0's IRR, and the NMI
# never arrived either (the emulator lost the wakeup): the log then has the registers only.
# A host that prints again after the NMI goes on (not seen) and is watched as before.
nested_watch() {
	local log=$1 pidf=$2 stall=$3 n=-1 last now c why l r kicked=''
	local grace=${NESTED_LOCKUP_GRACE:-240} nlock=0 lockt='' lockr='' kwait=${NESTED_NMI_WAIT:-30}
	last=$(date +%s)
	while sleep 5; do
		# Lines that are not kernel messages ("[   12.345] ...") nor this watchdog's own.
		c=$(grep -avcE '^(\[ *[0-9]*\.[0-9]*\]|nested: )' "$log" 2>/dev/null)
		l=$(grep -acE 'soft lockup - CPU#|rcu_(sched|preempt) (self-)?detected stall' "$log" 2>/dev/null)
		r=$(grep -acE '^(ok |not ok |skip |e2e[a-z-]*: [0-9]+ passed)' "$log" 2>/dev/null)
		now=$(date +%s)
		why=
		# A lockup repeats its report every ~20 s: the grace counts from the first one.
		if [ "${l:-0}" -gt "$nlock" ] && [ -z "$lockt" ]; then
			echo "nested: the test host's kernel reported a lockup or stall; stopping it unless a result comes within ${grace}s" >&2
			nlock=$l lockt=$now lockr=$r
		elif [ "${l:-0}" -gt "$nlock" ]; then
			nlock=$l
		fi
		if [ -n "$lockt" ] && [ "$r" != "$lockr" ]; then
			echo "nested: the test host went on after its lockup report" >&2
			lockt=
		fi
		if [ -n "$lockt" ] && [ $((now - lockt)) -ge "$grace" ]; then
			why="its kernel reported a lockup and no result came for ${grace}s"
		elif [ "$c" != "$n" ]; then
			if [ -n "$kicked" ]; then
				echo "nested: the test host went on $((now - kicked))s after the NMI" >&2
				echo "nested: watchdog: output again $((now - kicked))s after the NMI" >>"$log"
			fi
			n=$c last=$now kicked=
		elif [ -z "$kicked" ] && [ $((now - last)) -ge "$stall" ] && [ "${NESTED_NMI:-1}" != 0 ] &&
			[ -p "$log.mon.in" ]; then
			echo "nested: no output from the test host for ${stall}s; sending it an NMI (it panics with a backtrace)" >&2
			echo "nested: watchdog: no output for ${stall}s; the CPUs before an NMI:" >>"$log"
			nested_qemu_cpus "$log.mon" "$NESTED_QEMU_SMP" >>"$log" 2>&1
			nested_qemu_hmp "$log.mon" 'nmi\n' >/dev/null
			kicked=$(date +%s)
		elif [ -n "$kicked" ] && [ $((now - kicked)) -ge "$kwait" ]; then
			why="no output for $((now - last))s, nor in the ${kwait}s after an NMI"
		elif [ -z "$kicked" ] && [ $((now - last)) -ge "$stall" ]; then
			why="no output for ${stall}s"
		fi
		if [ -n "$why" ]; then
			echo "nested: the test host froze ($why); stopping it" >&2
			echo "nested: watchdog: $why" >>"$log"
			nested_qemu_cpus "${log}.mon" "$NESTED_QEMU_SMP" >>"$log" 2>&1
			[ -s "$pidf" ] && nested_qemu_threads "$(cat "$pidf")" >>"$log" 2>&1
			# Once more, 3 s later: a RIP that moved is a loop, one that did not is stuck.
			nested_qemu_cpus "${log}.mon" "$NESTED_QEMU_SMP" 2>&1 | grep -a '^nested: watchdog:' >>"$log"
			[ -s "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
			return 0
		fi
	done
}

# nested_boot INITRD LOG TIMEOUT: boot the test host. Streams the payload's output (the lines
# between the markers, \r stripped) to stdout while the whole console goes to LOG. Returns the
# payload's exit status, or 255 when the end marker never appeared (timeout, panic, stall).
# NESTED_STALL (seconds, default 600; 0: off) stops a test host whose console stays silent
# that long (nested_watch). Sets NESTED_WALL (seconds, outer wall time) and NESTED_HOST_BOOT
# (test host uptime at init).
NESTED_QEMU_SMP=${NESTED_QEMU_SMP:-2}
nested_boot() {
	local initrd=$1 log=$2 limit=$3 t0 t1 qrc wpid=
	: >"$log"
	rm -f "$log.pid" "$log.mon.in" "$log.mon.out"
	mkfifo "$log.mon.in" "$log.mon.out" || return 255
	if [ "${NESTED_STALL:-600}" != 0 ]; then
		nested_watch "$log" "$log.pid" "${NESTED_STALL:-600}" &
		wpid=$!
	fi
	# mawk (Debian's default awk) reads a pipe in large blocks unless told it is interactive,
	# which would hold back the live output until the end.
	local awk_i=()
	awk -W interactive 'BEGIN { }' </dev/null >/dev/null 2>&1 && awk_i=(-W interactive)
	t0=$(date +%s.%N)
	timeout -k 10 "$limit" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
		-smp "$NESTED_QEMU_SMP" -m 3072 -nographic -no-reboot -nodefaults -serial stdio \
		-pidfile "$log.pid" -monitor "pipe:$log.mon" -kernel "$KIMG" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 nokaslr unknown_nmi_panic=1" </dev/null 2>&1 |
		awk "${awk_i[@]}" -v lf="$log" -v b="$NESTED_BEGIN" -v e="$NESTED_END" '
			{ sub(/\r$/, ""); print >> lf; fflush(lf) }
			index($0, e) { inb = 0 }
			inb && $0 != "# heartbeat" { print; fflush() }
			index($0, b) { inb = 1 }'
	qrc=${PIPESTATUS[0]}
	if [ -n "$wpid" ]; then
		kill "$wpid" 2>/dev/null
		wait "$wpid" 2>/dev/null
	fi
	rm -f "$log.pid" "$log.mon.in" "$log.mon.out"
	t1=$(date +%s.%N)
	NESTED_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	NESTED_HOST_BOOT=$(sed -n 's/.*arca-e2e: test host init at uptime \([0-9.]*\).*/\1/p' "$log" | head -n 1)
	local endline
	endline=$(grep -a "$NESTED_END rc=" "$log" | tail -n 1)
	if [ -z "$endline" ]; then
		if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
			echo "nested: test host timed out after ${limit}s without the end marker (log: $log)" >&2
		else
			echo "nested: test host exited (qemu status $qrc) without the end marker (log: $log)" >&2
		fi
		echo "nested: last console lines:" >&2
		tail -n 25 "$log" | sed 's/^/  | /' >&2
		return 255
	fi
	local rc=${endline##*rc=}
	rc=${rc%% *}
	return "$rc"
}

# nested_output LOG: the payload's output (lines between the markers) from a console log.
nested_output() {
	awk -v b="$NESTED_BEGIN" -v e="$NESTED_END" '
		index($0, e) { inb = 0 }
		inb { print }
		index($0, b) { inb = 1 }' "$1"
}
