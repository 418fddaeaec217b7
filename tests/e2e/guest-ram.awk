# guest-ram.awk: from a VMM's /proc/PID/smaps, the resident KiB outside its guest RAM.
#   awk -v ram=BYTES -f guest-ram.awk /proc/PID/smaps
# Guest RAM is a run of adjacent mappings, each anonymous or arca's kernel image (arca-vmm
# maps the cached vmlinux's pages into guest RAM: vmm/boot.h) or its snapshot (--warm maps
# the whole of guest RAM from it: vmm/warm.h), that spans at least the guest's RAM size
# (BYTES); QEMU's is one anonymous mapping. Everything else is outside it. Used by the e2e
# fault scenarios (tests/e2e/scenarios-fault.sh) and the boot bench (tests/bench/boot.sh).
function hex(s,   i, n) { n = 0; s = tolower(s)
	for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return n }
function close_run() { if (run_ok && run_end - run_start >= ram) inram += run_rss; else out += run_rss
	run_ok = 0; run_rss = 0 }
/^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); s = hex(a[1]); e = hex(a[2])
	ok = (NF < 6 || $6 ~ /\/vmlinux-/ || $6 ~ /\/snap-.*\.arca/)
	if (!(ok && run_ok && s == run_end)) { close_run(); run_start = s; run_ok = ok }
	run_end = e; next }
/^Rss:/ { run_rss += $2 }
END { close_run(); print out + 0 }
