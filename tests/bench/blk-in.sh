#!/bin/sh
# The measurements of tests/bench/blk, run where the disk is seen (an arca guest, a QEMU
# guest, or the host on the image itself): blk-in.sh BLKBENCH PATH SECONDS [-b]
# Prints "BENCH NAME_iops=N", "BENCH NAME_MBps=N" per test, then "BENCH done=1".
B=$1 P=$2 S=$3 F=${4:-}
run() { # NAME MODE BS QD
	_r=$("$B" "$P" "$2" "$3" "$4" "$S" $F)
	case "$_r" in
	"BENCH iops="*)
		set -- "$1" $_r
		echo "BENCH $1_iops=${3#iops=}"
		echo "BENCH $1_MBps=${4#MBps=}" ;;
	*) echo "BENCH error=$1:$_r" ;;
	esac
}
run rr4k_qd1 randread 4096 1
run rr4k_qd32 randread 4096 32
run rw4k_qd1 randwrite 4096 1
run rw4k_qd32 randwrite 4096 32
run sr1m_qd4 read 1048576 4
run sw1m_qd4 write 1048576 4
echo "BENCH done=1"
