#!/bin/sh
# End-to-end scenarios for shared directories (virtio-fs) and the guest's root file system,
# through the real `arca` binary. POSIX sh: runs under busybox sh in the nested test host
# (tests/e2e/run runs it after scenarios.sh in the same boot) as well as natively.
#
#   scenarios-fs.sh [-k PATTERN]   PATTERN: shell glob matched against scenario names
#   env: ARCA (default: arca next to the repo), PROBE (default: /opt/arca/probe in the test
#        host, else tests/probe/probe), CI=true turns skips into failures.
#
# Output: one line per scenario, `ok NAME` / `not ok NAME: reason` / `skip NAME: reason`,
# then exactly `e2e-fs: N passed, N failed, N skipped` (tests/e2e/run adds it to scenarios.sh's
# counts for its final `e2e:` line). Exit status 1 if anything failed.
#
# The guest side of the share checks is tests/probe/probe (static, so the same file runs in
# the guest and on the host); it is copied into each share that needs it. Each boot costs
# ~5-10 s in the nested host, so each scenario checks everything one boot can.

HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "${PROBE:-}" ]; then
	PROBE=/opt/arca/probe
	[ -x "$PROBE" ] || PROBE=$HERE/../probe/probe
fi
# shellcheck source=harness.sh
. "$HERE/harness.sh" "$@"

need_probe() {
	[ -x "$PROBE" ] && return 0
	echo "SKIP: no probe binary at $PROBE (make tests/probe/probe)"
	return 77
}

# The share server runs in arca-vmm, with arca-vmm's ids: as root (no SUDO_UID, no
# --vmm-user) that is 65534:65534, so a directory the guest writes to must be that user's, as
# it would have to be for any root user of arca; unprivileged, it is the caller's own.
if [ "$(id -u)" = 0 ]; then VMM_IDS=65534:65534; else VMM_IDS=; fi
# give DIR...: hand directories (recursively) to the VMM's ids.
give() { [ -z "$VMM_IDS" ] || chown -R "$VMM_IDS" "$@"; }

# share NAME: a fresh host directory $T/NAME/share (inside its own parent, so the escape
# checks can watch the parent) holding a copy of the probe, owned by the VMM's ids. Prints
# the share's path.
share() {
	mkdir -p "$T/$1/share" && cp "$PROBE" "$T/$1/share/probe" && give "$T/$1/share" &&
		echo "$T/$1/share"
}

# has_line TEXT: $T/out has exactly this line.
has_line() { grep -qx -- "$1" "$T/out"; }

# snapshot DIR: a listing of everything under DIR (type, mode, size, name) with checksums.
snapshot() {
	(cd "$1" && find . | LC_ALL=C sort | while IFS= read -r _f; do
		if [ -f "$_f" ] && [ ! -L "$_f" ]; then
			echo "$(stat -c '%F %a %s' "$_f") $(md5sum <"$_f") $_f"
		else
			echo "$(stat -c '%F %a' "$_f") $_f"
		fi
	done)
}

# expect_125 ARG...: arca run ARG... fails before booting, with exit 125 and one line.
expect_125() {
	arca run "$@" -- true </dev/null
	[ "$RC" = 125 ] || { echo "$*: $(why)"; return 1; }
	one_line_error || { echo "($*)"; return 1; }
}

# ---- option errors: exit 125, one line, no boot ---------------------------------------------

sc_fs_err_missing() {
	expect_125 -v "$T/does-not-exist:/w"
}

# Neither a directory nor a regular file (a FIFO); a file with a cache mode of its own; a file
# as an --fs-device.
sc_fs_err_not_dir() {
	mkfifo "$T/fifo" && : >"$T/plain-file" || return 1
	expect_125 -v "$T/fifo:/w" || return 1
	grep -q "neither a directory nor a regular file: '$T/fifo'" "$T/err" || { echo "fifo: $(why)"; return 1; }
	expect_125 -v "$T/plain-file:/w:cache=none" || return 1
	expect_125 --fs-device "$T/plain-file,tag=t"
}

sc_fs_err_relative_guest() {
	mkdir -p "$T/d1"
	expect_125 -v "$T/d1:w" && expect_125 -v "$T/d1:../w"
}

sc_fs_err_same_guest() {
	mkdir -p "$T/d1" "$T/d2"
	expect_125 -v "$T/d1:/w" -v "$T/d2:/w" && expect_125 -v "$T/d1:/w" -v "$T/d2:/w/"
}

sc_fs_err_special_guest() {
	mkdir -p "$T/d1"
	for _g in /proc /proc/x /sys/fs /dev/shm; do
		expect_125 -v "$T/d1:$_g" || return 1
	done
}

sc_fs_err_dup_tag() {
	mkdir -p "$T/d1" "$T/d2"
	expect_125 --fs-device "$T/d1,tag=same" --fs-device "$T/d2,tag=same"
}

# ---- shares ---------------------------------------------------------------------------------

# The probe's filesystem-semantics suite on a read-write share, from the share as -w.
sc_fs_conformance() {
	need_probe || return $?
	_s=$(share conf) || return 1
	mkdir "$_s/t" && give "$_s/t" || return 1
	# The suite's ~60 checks (readdir of hundreds of entries, concurrent appends) take
	# ~60 s in an idle nested host and over 120 s in a loaded one: a longer limit here.
	_lim=$LIMIT
	LIMIT=300
	arca run --memory 512 -v "$_s:/w" -w /w -- ./probe conformance /w/t </dev/null
	LIMIT=$_lim
	grep -q '^not ok' "$T/out" && { echo "$(grep '^not ok' "$T/out" | head -n 5 | tr '\n' '|')"; return 1; }
	[ "$RC" = 0 ] || { why; return 1; }
	grep -q '^probe: [0-9]* passed, 0 failed' "$T/out" || { echo "no probe summary: $(why)"; return 1; }
	# The suite cleans up after itself; whatever it left is visible on the host.
	[ -z "$(ls -A "$_s/t")" ] || { echo "left behind on the host: $(ls -A "$_s/t" | head -n 5 | tr '\n' ' ')"; return 1; }
}

# Byte-identical trees both ways (guest writes / host checks, host writes / guest checks), the
# workdir inside a share, and a :ro share next to it: writes fail with EROFS, host unchanged.
sc_fs_tree_ro() {
	need_probe || return $?
	_s=$(share tree) || return 1
	_r=$T/tree/ro
	mkdir -p "$_r/sub" && echo keep >"$_r/f" || return 1
	"$PROBE" write-tree "$_s/from-host" 9 >"$T/host-write" 2>&1 || { echo "host write-tree: $(tail -n 3 "$T/host-write")"; return 1; }
	give "$_s/from-host" || return 1
	_before=$(snapshot "$_r")
	arca run -v "$_s:/w" -v "$_r:/r:ro" -w /w -- sh -c '
		echo "pwd=$(pwd)"
		cat /r/f
		touch /r/new 2>/tmp/e; echo "touch=$?"; cat /tmp/e
		mkdir /r/newdir 2>/dev/null; echo "mkdir=$?"
		echo x 2>/dev/null >/r/f; echo "overwrite=$?"
		rm /r/f 2>/dev/null; echo "rm=$?"
		for m in /w /r; do
			d=$(awk -v m=$m '"'"'$5 == m { print $3 }'"'"' /proc/self/mountinfo)
			echo "ra $m=$(cat /sys/class/bdi/$d/read_ahead_kb 2>&1)"
		done
		./probe check-tree /w/from-host 9 >/tmp/ct 2>&1 && echo check-tree=ok || { echo check-tree=bad; cat /tmp/ct; }
		./probe write-tree /w/from-guest 7 >/tmp/wt 2>&1 || { echo "write-tree failed"; cat /tmp/wt; }' </dev/null
	# The :ro part first: it ran first, so its verdict stands even if the trees then failed.
	has_line pwd=/w || { echo "workdir: $(why)"; return 1; }
	has_line keep || { echo "ro share not readable: $(why)"; return 1; }
	grep -q 'Read-only file system' "$T/out" || { echo "touch on the ro share: no EROFS: $(why)"; return 1; }
	for _w in touch mkdir overwrite rm; do
		has_line "$_w=0" && { echo "$_w on the ro share succeeded"; return 1; }
	done
	[ "$(snapshot "$_r")" = "$_before" ] || { echo "the ro share's host directory changed"; return 1; }
	# arca-init widened each share's read-ahead (INITROOT_SHARE_READAHEAD_KB)
	has_line "ra /w=1024" && has_line "ra /r=1024" || { echo "share read-ahead: $(grep '^ra ' "$T/out" | tr '\n' '|')"; return 1; }
	has_line check-tree=ok || { echo "guest check-tree of the host's tree: $(grep -v '^ok' "$T/out" | head -c 300 | tr '\n' '|') $(why)"; return 1; }
	[ "$RC" = 0 ] || { echo "guest write-tree: $(why)"; return 1; }
	"$PROBE" check-tree "$_s/from-guest" 7 >"$T/host-check" 2>&1 ||
		{ echo "host check-tree of the guest's tree: $(grep -v '^ok' "$T/host-check" | head -c 300 | tr '\n' '|')"; return 1; }
}

# The share cache modes side by side in one boot: /a cache=auto (default; write-only opens go
# around the page cache), /b cache=writeback, /c cache=none. On each: create+truncate, append,
# a 2-byte write into the middle of a page of an existing host file through an O_WRONLY fd
# (writeback must read the rest of the page through that handle), an append to a host file
# with mode 6755 (the write must clear both set-id bits), and the probe's file-data
# checks (the mmap ones, MAP_SHARED, only where the page cache is: cache=none refuses it). Every
# byte must be on the host after the run.
sc_fs_cache_modes() {
	need_probe || return $?
	_exp=$T/cache-g
	awk 'BEGIN { for (i = 0; i < 10000; i++) printf "%c", 97 + i % 23 }' >"$_exp" || return 1
	for _m in a b c; do
		_s=$(share "cache-$_m") || return 1
		cp "$_exp" "$_s/g" && mkdir "$_s/t" && echo k >"$_s/k" && give "$_s" && chmod 6755 "$_s/k" || return 1
	done
	printf XY | dd of="$_exp" bs=1 seek=5000 conv=notrunc 2>/dev/null || return 1
	_checks='write_read append pread_pwrite o_trunc truncate fsync append_concurrent'
	_lim=$LIMIT
	LIMIT=300
	arca run --memory 512 -v "$T/cache-a/share:/a" -v "$T/cache-b/share:/b:cache=writeback" \
		-v "$T/cache-c/share:/c:rw,cache=none" -e "CHECKS=$_checks" -- sh -c '
		for d in /a /b /c; do
			printf hello >$d/f && printf " world" >>$d/f || echo "$d: shell writes failed"
			printf XY | dd of=$d/g bs=1 seek=5000 conv=notrunc 2>/dev/null || echo "$d: dd failed"
			printf k >>$d/k || echo "$d: shell writes failed"
			echo "$d f=$(cat $d/f) g=$(dd if=$d/g bs=1 skip=4999 count=4 2>/dev/null)"
			# st_blocks counts what the host allocated: under writeback that lags
			# (documented), so stat_after_write is not asked of /b.
			extra="mmap_read mmap_write stat_after_write"
			[ $d = /b ] && extra="mmap_read mmap_write"
			[ $d = /c ] && extra=stat_after_write
			$d/probe conformance $d/t $CHECKS $extra 2>&1 | sed "s|^|$d |"
		done' </dev/null
	LIMIT=$_lim
	grep -q -e 'not ok' -e 'writes failed$' -e 'dd failed$' "$T/out" &&
		{ echo "$(grep -e 'not ok' -e 'writes failed$' -e 'dd failed$' "$T/out" | head -n 5 | tr '\n' '|')"; return 1; }
	[ "$RC" = 0 ] || { why; return 1; }
	for _d in a b c; do
		has_line "/$_d f=hello world g=iXYl" || { echo "/$_d in the guest: $(grep "^/$_d f=" "$T/out")"; return 1; }
		grep -q "^/$_d probe: [0-9]* passed, 0 failed" "$T/out" || { echo "/$_d: no probe summary: $(why)"; return 1; }
		[ "$(cat "$T/cache-$_d/share/f")" = "hello world" ] || { echo "/$_d f on the host: '$(cat "$T/cache-$_d/share/f")'"; return 1; }
		cmp -s "$_exp" "$T/cache-$_d/share/g" || { echo "/$_d g on the host differs: $(cmp "$_exp" "$T/cache-$_d/share/g" 2>&1)"; return 1; }
		# A write clears set-id bits (here done by the host kernel: HANDLE_KILLPRIV_V2).
		[ "$(stat -c %a "$T/cache-$_d/share/k")" = 755 ] || { echo "/$_d k after a write: mode $(stat -c %a "$T/cache-$_d/share/k")"; return 1; }
	done
}

# The escape suite: a marker beside the share on the host must stay out of the guest's reach;
# afterwards the marker is unchanged, nothing new is beside the share, and the share holds no
# device node and no setuid/setgid file.
sc_fs_escape() {
	need_probe || return $?
	_s=$(share esc) || return 1
	_p=$T/esc
	echo "host secret $$" >"$_p/arca-escape-marker"
	_mk=$(md5sum <"$_p/arca-escape-marker")
	_beside=$(ls -A "$_p")
	arca run --cpus 2 -v "$_s:/w" -- /w/probe escape /w arca-escape-marker </dev/null
	grep -q 'ESCAPED' "$T/out" && { echo "$(grep ESCAPED "$T/out" | head -n 5 | tr '\n' '|')"; return 1; }
	grep -q '^not ok' "$T/out" && { echo "$(grep '^not ok' "$T/out" | head -n 5 | tr '\n' '|')"; return 1; }
	# On a failure, the last steps the probe finished: where it stopped.
	[ "$RC" = 0 ] || { why; echo " last: $(tail -n 3 "$T/out" | cut -c 1-80 | tr '\n' '|')"; return 1; }
	grep -q '^probe: [0-9]* passed, 0 failed' "$T/out" || { echo "no probe summary: $(why)"; return 1; }
	[ "$(md5sum <"$_p/arca-escape-marker")" = "$_mk" ] || { echo "the marker outside the share changed"; return 1; }
	[ "$(ls -A "$_p")" = "$_beside" ] || { echo "new entries beside the share: $(ls -A "$_p" | tr '\n' ' ')"; return 1; }
	_bad=$(find "$_s" \( -type b -o -type c -o -perm -4000 -o -perm -2000 \) -print | head -n 5)
	[ -z "$_bad" ] || { echo "device node or setuid/setgid file in the share: $_bad"; return 1; }
}

# Files (-v FILE:GUEST): a file read and written in place (the host file itself has what the
# guest wrote, also through a second path to it), a :ro file the guest cannot change, a file
# bound where the guest had no such path, and one inside a share. Nothing beside the files
# reaches the guest: not their siblings on the host, and the files device, mounted by hand, holds
# just the entries and refuses new ones (the kernel's read-only tmpfs, not the server's code).
sc_fs_files() {
	_f=$T/files
	mkdir -p "$_f/ws" && echo "host secret" >"$_f/secret" && printf 'conf-v1\n' >"$_f/app.conf" &&
		printf 'frozen\n' >"$_f/ro.txt" && : >"$_f/out.log" &&
		give "$_f/app.conf" "$_f/out.log" "$_f/ws" || return 1
	_ro=$(md5sum <"$_f/ro.txt")
	arca run -v "$_f/app.conf:/etc/app.conf" -v "$_f/ro.txt:/opt/ro.txt:ro" \
		-v "$_f/out.log:/new/dir/out.log" -v "$_f/ws:/ws" -v "$_f/app.conf:/ws/conf" -- sh -c '
		echo "conf=$(cat /etc/app.conf)"
		echo "ws-conf=$(cat /ws/conf)"
		echo "ro=$(cat /opt/ro.txt)"
		echo x 2>/dev/null >/opt/ro.txt; echo "ro-write=$?"
		echo conf-v2 >/etc/app.conf && echo "conf-now=$(cat /ws/conf)"
		echo from-guest >/new/dir/out.log
		ls /etc /opt /new/dir /ws | grep -q secret && echo secret-seen
		mkdir -p /tmp/f && mount -t virtiofs arca-files /tmp/f && echo "entries=$(ls -A /tmp/f | tr "\n" " ")"
		touch /tmp/f/new 2>/dev/null; echo "add=$?"
		rm -f /tmp/f/0 2>/dev/null; echo "rm=$?"
		mv /tmp/f/1 /tmp/f/9 2>/dev/null; echo "mv=$?"
		echo "via-device=$(cat /tmp/f/0)"' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	has_line conf=conf-v1 && has_line ws-conf=conf-v1 && has_line ro=frozen ||
		{ echo "files in the guest: $(why)"; return 1; }
	has_line ro-write=0 && { echo "the guest wrote a :ro file"; return 1; }
	has_line conf-now=conf-v2 || { echo "one file, two guest paths: $(grep conf-now "$T/out")"; return 1; }
	has_line secret-seen && { echo "a sibling of a shared file reached the guest"; return 1; }
	has_line "entries=0 1 2 3 " || { echo "the files device: $(grep entries "$T/out") $(why)"; return 1; }
	for _w in add rm mv; do
		has_line "$_w=0" && { echo "$_w in the files device succeeded"; return 1; }
	done
	has_line via-device=conf-v2 || { echo "the files device's entry 0: $(grep via-device "$T/out")"; return 1; }
	[ "$(cat "$_f/app.conf")" = conf-v2 ] || { echo "app.conf on the host: '$(cat "$_f/app.conf")'"; return 1; }
	[ "$(cat "$_f/out.log")" = from-guest ] || { echo "out.log on the host: '$(cat "$_f/out.log")'"; return 1; }
	[ "$(md5sum <"$_f/ro.txt")" = "$_ro" ] || { echo "the :ro file changed on the host"; return 1; }
	[ "$(cat "$_f/secret")" = "host secret" ] || { echo "the sibling changed"; return 1; }
	# The mount point in the share: an empty file, as a container engine makes one.
	[ "$(ls -A "$_f/ws")" = conf ] && [ ! -s "$_f/ws/conf" ] || { echo "the share: $(ls -lA "$_f/ws")"; return 1; }
	[ "$(ls -A "$_f" | tr '\n' ' ')" = "app.conf out.log ro.txt secret ws " ] || { echo "beside the files: $(ls -A "$_f" | tr '\n' ' ')"; return 1; }
}

# --fs-device: the device is there under its tag and nothing is mounted until the command
# mounts it; a :ro device refuses writes.
sc_fs_device() {
	_d=$T/dev/rw _o=$T/dev/ro
	mkdir -p "$_d" "$_o" && echo hello >"$_d/hello" && echo frozen >"$_o/f" && give "$_d" || return 1
	arca run --fs-device "$_d,tag=mytag" --fs-device "$_o:ro,tag=rotag" -- sh -c '
		grep -q " /m " /proc/mounts && echo premounted
		mkdir -p /m /n && mount -t virtiofs mytag /m && mount -t virtiofs rotag /n || echo mount-failed
		cat /m/hello /n/f
		echo from-guest >/m/new
		touch /n/x 2>/dev/null; echo "ro-touch=$?"' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	has_line premounted && { echo "init mounted an --fs-device"; return 1; }
	has_line mount-failed && { echo "mount -t virtiofs failed: $(why)"; return 1; }
	has_line hello && has_line frozen || { echo "contents not visible: $(why)"; return 1; }
	[ "$(cat "$_d/new" 2>/dev/null)" = from-guest ] || { echo "guest write did not reach the host"; return 1; }
	has_line ro-touch=0 && { echo "write to a :ro --fs-device succeeded"; return 1; }
	[ ! -e "$_o/x" ] || { echo "write to a :ro --fs-device reached the host"; return 1; }
}

# ---- the guest's root -----------------------------------------------------------------------

# Default root: the host's own /usr (read-only) and a generated /etc; nothing of the host's
# /root or /home. Markers planted on this host must not show in the guest.
sc_fs_default_root() {
	mkdir -p /root /home || return 1
	echo host >/root/arca-host-root-marker && echo host >/home/arca-host-home-marker || return 1
	_py=:
	if command -v python3 >/dev/null 2>&1; then
		_py='python3 -c "print(6*7)"'
		_want_py=py=42
	fi
	arca run -- sh -c '
		echo "perl=$(perl -e "print 6*7")"
		echo "py=$('"$_py"')"
		echo to-stderr >/dev/stderr
		echo "home=$(ls -A /home /root 2>/dev/null | grep arca-host | tr "\n" " ")"
		touch /usr/arca-guest-write 2>/tmp/e; echo "usr-touch=$?"; cat /tmp/e
		echo "etc=$(test -f /etc/passwd && echo yes)"' </dev/null
	_rc=$RC
	rm -f /root/arca-host-root-marker /home/arca-host-home-marker
	[ "$_rc" = 0 ] || { why; return 1; }
	has_line perl=42 || { echo "perl from the host's /usr: $(why)"; return 1; }
	if [ -n "${_want_py:-}" ]; then has_line "$_want_py" || { echo "python3: $(why)"; return 1; }; fi
	grep -qx to-stderr "$T/err" || { echo "/dev/stderr: $(why)"; return 1; }
	has_line "home=" || { echo "host markers visible in the guest: $(grep '^home=' "$T/out")"; return 1; }
	has_line usr-touch=0 && { echo "write to /usr succeeded"; return 1; }
	grep -q 'Read-only file system' "$T/out" || { echo "write to /usr: no EROFS: $(why)"; return 1; }
	[ ! -e /usr/arca-guest-write ] || { rm -f /usr/arca-guest-write; echo "guest write reached the host's /usr"; return 1; }
	has_line etc=yes || { echo "no /etc/passwd in the guest: $(why)"; return 1; }
	[ -n "${_want_py:-}" ] || { echo "SKIP: checked perl; no python3 on this host"; return 77; }
}

# mkroot DIR: a tiny root file system: busybox (busybox-static's, as packed in the test host),
# its sh, and a data file.
mkroot() {
	mkdir -p "$1/bin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/etc" || return 1
	for _b in /usr/bin/busybox /bin/busybox; do [ -x "$_b" ] && break; done
	cp "$_b" "$1/bin/busybox" && ln -s busybox "$1/bin/sh" || return 1
	echo original >"$1/data"
}

# --root DIR: read-only under a tmpfs overlay (guest writes stay in the guest);
# --root DIR:rw writes through.
sc_fs_root_dir() {
	_r=$T/rootfs
	mkroot "$_r" || return 1
	_before=$(snapshot "$_r")
	arca run --root "$_r" -- /bin/busybox sh -c '
		/bin/busybox cat /data
		echo changed >/data && echo new >/new && /bin/busybox cat /data /new' </dev/null
	[ "$RC" = 0 ] || { echo "--root DIR: $(why)"; return 1; }
	has_line original && has_line changed && has_line new || { echo "--root DIR: $(why)"; return 1; }
	[ "$(snapshot "$_r")" = "$_before" ] || { echo "--root DIR: guest writes reached the host"; return 1; }
	give "$_r" || return 1
	arca run --root "$_r:rw" -- /bin/busybox sh -c 'echo written >/new' </dev/null
	[ "$RC" = 0 ] || { echo "--root DIR:rw: $(why)"; return 1; }
	[ "$(cat "$_r/new" 2>/dev/null)" = written ] || { echo "--root DIR:rw: write did not reach the host"; return 1; }
}

# --root initrd: the busybox initramfs as before.
sc_fs_root_initrd() {
	arca run --root initrd -- sh -c 'echo "perl=$(command -v perl)"; echo alive' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	has_line alive || { why; return 1; }
	has_line perl= || { echo "the initrd root has the host's perl: $(grep '^perl=' "$T/out")"; return 1; }
}

# Order: option errors first (no boot), then one VM boot each (two for root_dir).
# As plain root the VMM runs as nobody: a root-owned read-write share gets a warning before the
# VM starts, guest writes fail with EACCES (not silently), and the host directory is untouched.
sc_fs_unwritable() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; return 77; }
	mkdir -p "$T/unw/share" && chmod 755 "$T/unw/share" && chown 0:0 "$T/unw/share" || return 1
	arca run -v "$T/unw/share:/w" -- sh -c 'touch /w/x 2>/dev/null && echo wrote; echo done' </dev/null
	[ "$RC" = 0 ] || { why; return 1; }
	grep -q "warning: share '$T/unw/share' is not writable by uid 65534" "$T/err" ||
		{ echo "no warning: $(why)"; return 1; }
	has_line done && ! has_line wrote || { echo "guest wrote into an unwritable share: $(why)"; return 1; }
	[ -z "$(ls -A "$T/unw/share")" ] || { echo "host dir changed"; return 1; }
}

# Kernel pseudo-file systems are refused as shares, roots and disks, also through a bind mount
# (judged by the opened fd): one line each, exit 125, nothing boots.
sc_fs_err_pseudo() {
	for _a in "-v /proc:/x" "-v /sys:/x" "-v /dev:/x" "--root /proc" "--disk /proc/self/environ" \
		"-v /:/x"; do
		# shellcheck disable=SC2086
		arca run $_a -- true </dev/null
		[ "$RC" = 125 ] && grep -q "^arca: refusing " "$T/err" || { echo "$_a: $(why)"; return 1; }
		one_line_error || { echo "$_a"; return 1; }
	done
	[ "$(id -u)" = 0 ] || return 0
	mkdir -p "$T/bp" && mount --bind /proc "$T/bp" || return 0
	arca run -v "$T/bp:/x" -- true </dev/null
	umount "$T/bp"
	[ "$RC" = 125 ] && grep -q "procfs" "$T/err" || { echo "bind-mounted /proc: $(why)"; return 1; }
}

# Under sudo a share is opened with the user's rights: a directory the user cannot read is
# refused before anything boots, naming the user.
sc_fs_err_sudo_unreadable() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; return 77; }
	# $T itself is 0700 (mkdtemp): open the way to the directory, not into it.
	mkdir -p "$T/priv/d" && chmod 700 "$T/priv/d" && chmod 755 "$T" "$T/priv" || return 1
	SUDO_UID=1000 SUDO_GID=1000 arca run -v "$T/priv/d:/w" -- true </dev/null
	[ "$RC" = 125 ] && grep -q "refusing share '$T/priv/d': uid 1000 may not read it" "$T/err" ||
		{ echo "$(why)"; return 1; }
	one_line_error
}

# The jail's path hole (issue 11): take the running arca-vmm's own share fds (pidfd_getfd) and
# try to leave them: ".." must stay at each share's root and a marker beside the share must be
# unreachable, for a read-write share, a read-only one and the guest's root (the host's /usr).
# The shares arrive as detached mounts (launcher/sharemnt.h): the kernel enforces this.
sc_fs_vmm_fds() {
	need_probe || return $?
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (pidfd_getfd of arca-vmm)"; return 77; }
	_s=$(share vfd) || return 1
	mkdir -p "$T/vfd2/ro" && echo secret >"$T/vfd/arca-vmm-marker" &&
		echo secret >"$T/vfd2/arca-vmm-marker" || return 1
	"$ARCA" run -v "$_s:/w" -v "$T/vfd2/ro:/r:ro" -- sleep 60 </dev/null >"$T/out" 2>"$T/err" &
	_a=$!
	_v=
	for _i in $(seq 1 150); do
		_v=$(cat "/proc/$_a/task/$_a/children" 2>/dev/null | cut -d' ' -f1)
		[ -n "$_v" ] && [ "$(cat "/proc/$_v/comm" 2>/dev/null)" = arca-vmm ] && break
		_v=
		sleep 0.2
	done
	[ -n "$_v" ] || { kill "$_a" 2>/dev/null; wait "$_a"; echo "arca-vmm never started: $(why)"; return 1; }
	"$PROBE" vmm-fds "$_v" arca-vmm-marker >"$T/vfd.out" 2>&1
	_prc=$?
	kill "$_a" 2>/dev/null
	wait "$_a"
	grep -q '^ESCAPED' "$T/vfd.out" && { grep '^ESCAPED' "$T/vfd.out" | head -n 3 | tr '\n' '|'; return 1; }
	[ "$_prc" = 0 ] && grep -q '^vmm-fds: 3 share fds, 0 escapes' "$T/vfd.out" ||
		{ echo "probe status $_prc: $(tr '\n' '|' <"$T/vfd.out")"; return 1; }
}

# Plain root's own workspace on a file system that supports idmapped mounts (ext4): the VMM
# runs as nobody, yet the guest writes into a root-only (0700) directory and its files land
# as root's on the host, never setuid. Then sudo with --vmm-user: the VMM reads only what the
# invoking user could (a root:42 0640 file stays unreadable although 42 is the VMM's gid, the
# user's own 0600 file is readable). On tmpfs (no idmapped mounts before Linux 6.3) the same
# sudo run is refused.
sc_fs_root_idmap() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; return 77; }
	_m=$T/idm/mnt
	for _mk in /usr/sbin/mke2fs /sbin/mke2fs; do [ -x "$_mk" ] && break; done
	mkdir -p "$_m" && chmod 755 "$T" "$T/idm" && truncate -s 32M "$T/idm/img" || return 1
	# e2fsprogs by path: busybox sh would run its own mke2fs applet.
	"$_mk" -q -F -t ext4 "$T/idm/img" >"$T/mke2fs.log" 2>&1 ||
		{ echo "SKIP: no mke2fs: $(head -c 200 "$T/mke2fs.log")"; return 77; }
	if [ ! -e /dev/loop-control ]; then
		_ko=$(find /opt/arca/build/kernel/lib/modules -name loop.ko 2>/dev/null | head -n 1)
		[ -n "$_ko" ] && insmod "$_ko" 2>/dev/null
	fi
	_dev=$(losetup -f) && losetup "$_dev" "$T/idm/img" || { echo "SKIP: no loop device"; return 77; }
	mount -t ext4 "$_dev" "$_m" || { losetup -d "$_dev"; echo "mounting ext4 on $_dev failed"; return 1; }
	mkdir "$_m/w" "$_m/e" && chmod 700 "$_m/w" && echo old >"$_m/w/old" && chmod 600 "$_m/w/old" &&
		echo shadow >"$_m/e/secret" && chown 0:42 "$_m/e/secret" && chmod 640 "$_m/e/secret" &&
		echo mine >"$_m/e/mine" && chown 1000:1000 "$_m/e/mine" && chmod 600 "$_m/e/mine" || return 1
	arca run --verbose -v "$_m/w:/w" -- sh -c 'cat /w/old && echo new >/w/new && mkdir /w/d &&
		chmod 4755 /w/new; chmod 2755 /w/new; stat -c "guest-owner=%u:%g" /w/new; echo done' </dev/null
	_ok=1
	{ [ "$RC" = 0 ] && has_line old && has_line done && has_line guest-owner=0:0; } ||
		{ echo "plain root: $(why)"; _ok=0; }
	[ "$_ok" = 0 ] || [ "$(stat -c %u:%g "$_m/w/new" 2>/dev/null)" = 0:0 ] &&
		[ "$(cat "$_m/w/new" 2>/dev/null)" = new ] && [ "$(stat -c %u:%g "$_m/w/d")" = 0:0 ] ||
		{ echo "host files: $(ls -ln "$_m/w" | tr '\n' '|')"; _ok=0; }
	grep -q 'warning' "$T/err" && { echo "unexpected warning: $(why)"; _ok=0; }
	SUDO_UID=1000 SUDO_GID=1000 arca run --vmm-user 1001:42 -v "$_m/e:/e:ro" -- sh -c \
		'cat /e/mine; cat /e/secret 2>/dev/null || echo denied' </dev/null
	{ [ "$RC" = 0 ] && has_line mine && has_line denied && ! has_line shadow; } ||
		{ echo "sudo --vmm-user: $(why)"; _ok=0; }
	_bad=$(find "$_m/w" -perm /6000 | head -n 3)
	umount "$_m"
	losetup -d "$_dev"
	[ -z "$_bad" ] || { echo "setuid/setgid file on the host: $_bad"; _ok=0; }
	# tmpfs: refused on kernels before 6.3 (no idmapped tmpfs), confined after.
	mkdir -p "$T/idm/t" && echo mine >"$T/idm/t/mine" && chown -R 1000:1000 "$T/idm/t"
	if [ "$(stat -f -c %T "$T/idm/t")" = tmpfs ] &&
		[ "$(uname -r | awk -F. '{ print ($1 * 100 + $2 < 603) }')" = 1 ]; then
		SUDO_UID=1000 SUDO_GID=1000 arca run --vmm-user 1001:42 -v "$T/idm/t:/e" -- true </dev/null
		[ "$RC" = 125 ] && grep -q "cannot confine share '$T/idm/t' to the rights of uid 1000" "$T/err" ||
			{ echo "tmpfs + --vmm-user: $(why)"; _ok=0; }
	fi
	[ "$_ok" = 1 ]
}

NO_VM="fs_err_sudo_unreadable fs_err_missing fs_err_not_dir fs_err_relative_guest fs_err_same_guest fs_err_special_guest fs_err_dup_tag fs_err_pseudo"
NEEDS_VM="fs_files fs_default_root fs_tree_ro fs_cache_modes fs_device fs_escape fs_conformance fs_root_dir fs_root_initrd fs_unwritable fs_vmm_fds fs_root_idmap"

harness_run e2e-fs
