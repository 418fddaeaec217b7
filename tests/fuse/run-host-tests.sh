#!/usr/bin/env bash
# Functional tests of the FUSE server through the real kernel client:
# arca-fuse-host serves a temp share over /dev/fuse, coreutils (and python3
# for lseek/mmap/xattr/copy_file_range) act on the mount, and every result
# is checked on the host side of the share. Needs root and /dev/fuse;
# skipped (exit 0) without them.
#
#   tests/fuse/run-host-tests.sh [PATH_TO_arca-fuse-host]
# Last line: fuse-host: N passed, N failed, N skipped
set -u
HOST_BIN=${1:-${ARCA_FUSE_HOST:-./arca-fuse-host}}
pass=0 fail=0 skip=0

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || [ ! -x "$HOST_BIN" ]; then
	echo "fuse-host: skipped (needs root, /dev/fuse and $HOST_BIN)"
	echo "fuse-host: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
PY=$(command -v python3 || true)

T=$(mktemp -d /tmp/arca-fuse.XXXXXX)
S=$T/share M=$T/mnt
mkdir -p "$S" "$M"
cleanup() {
	mountpoint -q "$M" && umount "$M"
	rm -rf "$T"
}
trap cleanup EXIT

ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1${2:+: $2}"; }
skp()  { skip=$((skip + 1)); echo "skip $1"; }
# t NAME CMD...: pass when CMD succeeds.
t() { local n=$1; shift; if ( "$@" ) >/dev/null 2>&1; then ok "$n"; else bad "$n"; fi; }
# eq NAME GOT WANT
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2' want '$3'"; fi; }

mnt() {
	"$HOST_BIN" --daemon "$@" "$S" "$M" || { echo "fuse-host: cannot mount"; exit 1; }
}
unmnt() {
	umount "$M"
	for _ in $(seq 50); do pgrep -f "arca-fuse-host.*$M" >/dev/null || break; sleep 0.1; done
}

# ---- read/write mount, default id mapping ---------------------------------
mnt --host-ids=0:0

echo hello > "$M/f"
eq "create+write visible on host" "$(cat "$S/f")" hello
echo world >> "$M/f"
eq "append" "$(cat "$S/f")" "$(printf 'hello\nworld')"
echo host > "$S/h"
eq "host file read through mount" "$(cat "$M/h")" host

echo one > "$M/x"; echo two > "$M/y"
mv -f "$M/x" "$M/y"
eq "rename over existing" "$(cat "$S/y"):$([ -e "$S/x" ] && echo x)" "one:"

echo keep > "$M/u"
exec 3<"$M/u"
rm "$M/u"
eq "unlinked open file still readable" "$(cat <&3):$([ -e "$S/u" ] && echo present)" "keep:"
exec 3<&-

echo l > "$M/h1"; ln "$M/h1" "$M/h2"
eq "hard link: one host inode" "$(stat -c %i "$S/h1")" "$(stat -c %i "$S/h2")"
eq "hard link: nlink in mount" "$(stat -c %h "$M/h2")" 2
eq "hard link: same ino in mount" "$(stat -c %i "$M/h1")" "$(stat -c %i "$M/h2")"

ln -s h1 "$M/rel"
eq "relative symlink text on host" "$(readlink "$S/rel")" h1
eq "read through relative symlink" "$(cat "$M/rel")" l
ln -s /nonexistent/abs "$M/abs"
eq "absolute symlink stored as text" "$(readlink "$S/abs")" /nonexistent/abs
eq "symlink is a symlink in mount" "$(stat -c %F "$M/abs")" "symbolic link"

mkdir -p "$M/d/e/f"; echo deep > "$M/d/e/f/g"
eq "nested mkdir/create" "$(cat "$S/d/e/f/g")" deep
rm -r "$M/d"
t "rm -r tree" test ! -e "$S/d"

chmod 640 "$M/f"
eq "chmod visible on host" "$(stat -c %a "$S/f")" 640
chmod 4755 "$M/f"
eq "setuid bit stripped" "$(stat -c %a "$S/f")" 755
touch -d '2001-02-03 04:05:06 UTC' "$M/f"
eq "utimens visible on host" "$(stat -c %Y "$S/f")" 981173106
touch "$M/f"
t "utimens NOW" test "$(stat -c %Y "$S/f")" -gt 981173106

truncate -s 10 "$M/f"
eq "truncate grows" "$(stat -c %s "$S/f")" 10
truncate -s 3 "$M/f"
eq "truncate shrinks" "$(cat "$S/f")" hel

mkfifo "$M/fifo"
t "mkfifo creates a host FIFO" test -p "$S/fifo"
if mknod "$M/dev" c 1 3 2>/dev/null; then bad "device mknod refused"; else ok "device mknod refused"; fi
t "no device node on host" test ! -e "$S/dev"

for i in $(seq 1 600); do : > "$S/many.$i"; done
eq "readdir over many pages" "$(ls "$M" | grep -c '^many\.')" 600
eq "ls -l (readdirplus) over many pages" "$(ls -l "$M" | grep -c ' many\.')" 600
rm -f "$S"/many.*

fallocate -l 1M "$M/fa"
eq "fallocate" "$(stat -c %s "$S/fa")" 1048576

printf X | dd of="$M/big" bs=1 seek=5G conv=notrunc status=none
eq "write beyond 4 GiB: host size" "$(stat -c %s "$S/big")" 5368709121
eq "read beyond 4 GiB" "$(dd if="$M/big" bs=1 skip=5G count=1 status=none)" X
rm "$M/big"

head -c 3000000 /dev/urandom > "$T/rnd"
cp "$T/rnd" "$M/rnd"
eq "3 MB copy in" "$(cmp "$T/rnd" "$S/rnd" && echo same)" same
eq "3 MB copy out" "$(cat "$M/rnd" | cmp - "$T/rnd" && echo same)" same

if [ -n "$PY" ]; then
	truncate -s 10M "$M/sp"
	printf data | dd of="$M/sp" bs=4096 seek=1280 conv=notrunc status=none
	eq "SEEK_DATA/SEEK_HOLE" "$("$PY" -c '
import os,sys
fd=os.open(sys.argv[1],os.O_RDONLY)
print(os.lseek(fd,0,os.SEEK_DATA), os.lseek(fd,5242880,os.SEEK_HOLE))' "$M/sp")" "5242880 5246976"
	eq "sparse file stays sparse on host" "$(( $(stat -c %b "$S/sp") * 512 <= 65536 ))" 1

	printf 'aaaaaaaa' > "$M/mm"
	"$PY" -c '
import mmap,os,sys
fd=os.open(sys.argv[1],os.O_RDWR)
m=mmap.mmap(fd,8)
m[0:4]=b"MMAP"; m.flush(); m.close(); os.close(fd)' "$M/mm"
	eq "mmap write reaches host" "$(cat "$S/mm")" MMAPaaaa

	"$PY" -c 'import os,sys; os.setxattr(sys.argv[1],"user.k",b"v1")' "$M/f"
	eq "user xattr set, read on host" "$("$PY" -c 'import os,sys; print(os.getxattr(sys.argv[1],"user.k").decode())' "$S/f")" v1
	eq "user xattr list in mount" "$("$PY" -c 'import os,sys; print([x for x in os.listxattr(sys.argv[1]) if x.startswith("user.")])' "$M/f")" "['user.k']"
	t "trusted xattr refused" "$PY" -c '
import os,sys
try: os.setxattr(sys.argv[1],"trusted.x",b"1")
except PermissionError: sys.exit(0)
sys.exit(1)' "$M/f"
	"$PY" -c 'import os,sys; os.removexattr(sys.argv[1],"user.k")' "$M/f"
	t "user xattr removed on host" "$PY" -c '
import os,sys
try: os.getxattr(sys.argv[1],"user.k")
except OSError: sys.exit(0)
sys.exit(1)' "$S/f"

	"$PY" -c '
import os,sys
a=os.open(sys.argv[1],os.O_RDONLY); b=os.open(sys.argv[2],os.O_WRONLY|os.O_CREAT,0o644)
n=os.copy_file_range(a,b,1<<20)
assert n > 0' "$M/rnd" "$M/cfr"
	eq "copy_file_range" "$(cmp -n 1048576 "$S/cfr" "$T/rnd" && echo same)" same
else
	skp "python3 tests (lseek, mmap, xattr, copy_file_range)"
fi

eq "statfs" "$(stat -f -c %b "$M")" "$(stat -f -c %b "$S")"

# ---- throughput (printed, not asserted) -------------------------------------
tp() { # tp FILE: prints write and read MB/s of 256 MiB
	local w r
	w=$(dd if=/dev/zero of="$1" bs=1M count=256 conv=fsync 2>&1 | sed -n 's/.*, \([0-9.]* [MG]B\/s\)$/\1/p')
	r=$(dd if="$1" of=/dev/null bs=1M 2>&1 | sed -n 's/.*, \([0-9.]* [MG]B\/s\)$/\1/p')
	echo "$w / $r"
}
echo "throughput 256 MiB write/read: fuse $(tp "$M/tp")   host $(tp "$T/tp")"
rm -f "$M/tp" "$T/tp"
unmnt

# ---- split iovecs: every buffer cut into 4500-byte (not page-aligned; about the least FUSE_MAX_IOV allows) segments -------------------
mnt --split=4500
cp "$T/rnd" "$M/rnd2"
eq "split iovecs: write" "$(cmp "$T/rnd" "$S/rnd2" && echo same)" same
eq "split iovecs: read" "$(cat "$M/rnd2" | cmp - "$T/rnd" && echo same)" same
eq "split iovecs: readdir" "$(ls "$M" | grep -c rnd)" 2
unmnt

# ---- id mapping: host owner 1234:1234 appears as root ----------------------
mnt --host-ids=1234:1234
echo o > "$M/own"; mkdir "$M/owndir"; ln -s x "$M/ownlink"
eq "created file owned by host ids" "$(stat -c %u:%g "$S/own")" 1234:1234
eq "created dir/link owned by host ids" "$(stat -c %u:%g "$S/owndir") $(stat -c %u:%g "$S/ownlink")" "1234:1234 1234:1234"
eq "host ids appear as guest root" "$(stat -c %u:%g "$M/own")" 0:0
t "chown to the mapped owner is a no-op" chown 0:0 "$M/own"
if chown 5 "$M/own" 2>/dev/null; then bad "chown to another uid refused"; else ok "chown to another uid refused"; fi
unmnt

mnt --ids=passthrough
echo p > "$M/pt"
chown 4321:4321 "$M/pt"
eq "passthrough chown sets host ids" "$(stat -c %u:%g "$S/pt")" 4321:4321
eq "passthrough reports host ids" "$(stat -c %u "$M/own")" 1234
unmnt

# ---- cache modes: the same writes, each visible on the host -------------------
for mode in "" --cache=writeback --cache=none; do
	mnt $mode
	n=${mode:-auto}
	echo hello > "$M/cm"; echo world >> "$M/cm"
	eq "$n: create and append" "$(cat "$S/cm")" "hello
world"
	printf 0123456789 > "$S/cm2"
	printf XY | dd of="$M/cm2" bs=1 seek=4 conv=notrunc 2>/dev/null
	sync "$M/cm2"
	eq "$n: a write into the middle of a page" "$(cat "$S/cm2")" 0123XY6789
	echo k > "$S/sid"; chmod 6755 "$S/sid"
	echo more >> "$M/sid"
	sync "$M/sid"
	eq "$n: a write clears set-id bits" "$(stat -c %a "$S/sid")" 755
	rm -f "$M/cm" "$M/cm2" "$M/sid"
	unmnt
done

# ---- read-only share -----------------------------------------------------------
mnt --ro
eq "ro: read works" "$(cat "$M/y")" one
for op in "echo x > $M/new" "echo x >> $M/y" "mkdir $M/nd" "rm $M/y" "touch $M/y" \
	  "chmod 600 $M/y" "mv $M/y $M/z" "ln -s a $M/sl2" "truncate -s 0 $M/y" "mkfifo $M/ff2"; do
	if sh -c "$op" 2>/dev/null; then bad "ro refuses: $op"; else ok "ro refuses: $op"; fi
done
eq "ro: host file unchanged" "$(cat "$S/y")" one
unmnt

echo "fuse-host: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
