#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the libFuzzer targets in tests/fuzz/.

Each seed is a small, well-formed starting point in the input format the
target's header comment describes (fuzz_virtq.c, fuzz_ctl.c, fuzz_mmio.c,
fuzz_fuse_decode.c, fuzz_fuse_dispatch.c), so the fuzzer starts past the first checks. The files
are checked in; run this again after changing an input format:

    tests/fuzz/gen_corpus.py            # rewrites tests/fuzz/corpus/*/seed-*

Files named crash-* are reproducers of findings and are left alone.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


# ---- fuzz_virtq.c -------------------------------------------------------------
# Byte 0: bits 0-3 queue size index (1,2,4,...,1024, then invalid ones),
# bit 4 event-idx, bit 5 three address specs follow. Then ops (low nibble).
VQ_SIZE = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5, 64: 6, 128: 7, 256: 8, 512: 9, 1024: 10}
NEXT, WRITE, INDIRECT = 1, 2, 4


def vq_desc(i, gpa, length, flags, nxt):
    # gpa_from(): v < 0x4000 means gpa = v * 4 in low RAM
    assert gpa % 4 == 0 and gpa < 0x10000
    return bytes([0]) + u16(i) + u16(gpa // 4) + u16(length) + bytes([flags]) + u16(nxt)


def vq_publish(head):
    return bytes([1]) + u16(head)


VQ_POP, VQ_UNPOP = bytes([5]), bytes([7])
VQ_KICK, VQ_NOTIFY, VQ_HAS = bytes([9]), bytes([10]), bytes([11])


def vq_push(which, written):
    return bytes([8, which]) + u16(written)


def vq_copy(which, off, length, to_in=False):
    return bytes([12, which | (0x80 if to_in else 0)]) + u16(off) + u16(length)


def virtq():
    s = {}
    s["simple"] = (bytes([VQ_SIZE[16]]) +
                   vq_desc(0, 0x100, 5, NEXT, 1) + vq_desc(1, 0x200, 64, WRITE, 0) +
                   vq_publish(0) + VQ_POP + vq_copy(0, 0, 8) + vq_copy(0, 0, 64, True) +
                   vq_push(0, 5) + VQ_NOTIFY + VQ_KICK + VQ_HAS)
    s["event-idx"] = (bytes([VQ_SIZE[8] | 0x10]) +
                      vq_desc(2, 0x300, 16, 0, 0) + vq_desc(3, 0x400, 32, WRITE, 0) +
                      bytes([3]) + u16(0) + u16(1) +      # avail flags 0, used_event 1
                      vq_publish(2) + vq_publish(3) + VQ_POP + VQ_POP +
                      vq_push(0, 0) + VQ_NOTIFY + vq_push(0, 32) + VQ_NOTIFY + VQ_KICK)
    s["loop"] = (bytes([VQ_SIZE[4]]) +
                 vq_desc(0, 0x100, 8, NEXT, 1) + vq_desc(1, 0x100, 8, NEXT, 0) +
                 vq_publish(0) + VQ_POP + VQ_POP + VQ_KICK)
    s["outside-ram"] = (bytes([VQ_SIZE[4]]) +
                        bytes([0]) + u16(0) + u16(0x8000 | 0x1ff0 // 1) + u16(0x4000) +
                        bytes([WRITE]) + u16(0) + vq_publish(0) + VQ_POP)
    # rings in the high region (gpa_from: 0x4000 | o means 4 GiB - 0x1000 + o)
    s["high-rings"] = (bytes([VQ_SIZE[8] | 0x20]) + u16(0x5000) + u16(0x5100) + u16(0x5200) +
                       vq_desc(0, 0x800, 100, NEXT, 7) + vq_desc(7, 0x900, 100, WRITE, 0) +
                       vq_publish(0) + VQ_POP + vq_push(0, 1000) + VQ_KICK)
    s["unpop-and-ahead"] = (bytes([VQ_SIZE[2]]) + vq_desc(0, 0x100, 1, 0, 0) + vq_publish(0) +
                            VQ_POP + VQ_UNPOP + VQ_POP + vq_push(0, 0) +
                            bytes([2]) + u16(9) + VQ_HAS + VQ_POP)
    chain = b"".join(vq_desc(i, 0x100 + 4 * (i % 64), 1, NEXT, i + 1) for i in range(257))
    s["too-many-segments"] = bytes([VQ_SIZE[512]]) + chain + vq_publish(0) + VQ_POP
    s["indirect"] = (bytes([VQ_SIZE[4]]) + vq_desc(1, 0x100, 16, INDIRECT, 0) + vq_publish(1) +
                     VQ_POP)
    s["burst"] = (bytes([VQ_SIZE[4] | 0x10]) +
                  b"".join(vq_desc(i, 0x1000 + 0x40 * i, 0x40, WRITE, 0) for i in range(4)) +
                  b"".join(vq_publish(i) for i in range(4)) + bytes([14]) +
                  bytes([13, VQ_SIZE[4]]) + vq_publish(1) + bytes([15]))
    return s


# ---- fuzz_ctl.c -------------------------------------------------------------------
MAGIC = 0x41435241


def frame(typ, payload, flags=0, length=None):
    return (u32(MAGIC) + u16(typ) + u16(flags) +
            u32(len(payload) if length is None else length) + payload)


HELLO, EXIT, ERROR, LOG = 1, 2, 3, 4


def ctl():
    hello = frame(HELLO, u32(1))
    s = {}
    s["hello-exit"] = bytes([0, 0]) + hello + frame(EXIT, u32(0) + u32(0))
    s["verbose-log-error-signal"] = (bytes([1 | 6 << 1, 7]) + hello +
                                     frame(LOG, b"mounting /w\n") +
                                     frame(ERROR, u32(127) + b"sh: not found\r\n") +
                                     frame(EXIT, u32(1) + u32(9)))
    s["bad-magic"] = bytes([0, 1]) + hello + b"ARCB" + frame(EXIT, u32(0) + u32(3))[4:]
    s["too-long"] = bytes([0, 2]) + hello + frame(LOG, b"", length=4097)
    s["partial"] = bytes([1, 3]) + hello + frame(LOG, b"x" * 100)[:60]
    s["control-chars"] = (bytes([1 | 3 << 1, 4]) +
                          frame(ERROR, u32(1) + b"\x1b[2J\xc2\x9b31m" +     # ESC, CSI as C2 9B
                                b"\xe2\x82\xac\xed\xa0\x80\xff\t ok") +     # euro, surrogate, FF
                          frame(LOG, b"\x07bell\x7f\xc3\xa9"))
    s["bad-version"] = bytes([0, 5]) + frame(HELLO, u32(2)) + frame(EXIT, u32(0) + u32(0))
    s["exit-twice-bad-status"] = (bytes([0, 6]) + hello + frame(EXIT, u32(0) + u32(256)) +
                                  frame(EXIT, u32(0) + u32(1)))
    s["unknown-types-flags"] = (bytes([0, 8]) + hello + frame(64, u32(15)) + frame(999, b"") +
                                frame(EXIT, u32(0) + u32(0), flags=1))
    return s


# ---- fuzz_mmio.c ----------------------------------------------------------------
# Header: f (bits 0-3 queues-1, bits 4-6 queue_max index, bit 7 config_write),
# g (bits 0-5 config size, bit 6 queue_reset), h (bit 7: offer feature h % 64).
# Ops: op % 12 (op 10: a config change, or with bit 7 a device error: 0x82).
QMAX = {256: 0, 1024: 1, 1: 2, 2: 3, 16: 4, 128: 5}
REG = {"magic": 0, "version": 1, "device_id": 2, "vendor": 3, "dev_features": 4,
       "dev_features_sel": 5, "drv_features": 6, "drv_features_sel": 7, "queue_sel": 8,
       "queue_num_max": 9, "queue_num": 10, "queue_ready": 11, "queue_notify": 12,
       "isr": 13, "isr_ack": 14, "status": 15, "desc_lo": 16, "desc_hi": 17,
       "avail_lo": 18, "avail_hi": 19, "used_lo": 20, "used_hi": 21, "shm_sel": 22,
       "shm_len": 23, "config_gen": 24, "config": 25, "end": 26}
QNUM = {1: 0, 2: 1, 8: 2, 16: 3, 256: 4, 1024: 5}


def m_wr(reg, v):
    return bytes([0, REG[reg]]) + u32(v)


def m_raw(off, len_idx, v):
    return bytes([2]) + u16(off) + bytes([len_idx]) + u32(v)


def m_rd(reg):
    return bytes([3, REG[reg]])


def m_rd_raw(off, len_idx):
    return bytes([3, 0x80 | len_idx]) + u16(off)


def m_features(all_features=True):
    return bytes([4, 1 if all_features else 0])


def m_queue(q, num, compact=True, d=0, a=0, u=0):
    f = (0x80 if compact else 0) | QNUM[num] << 4 | q
    return bytes([5, f]) + u16(d) + u16(a) + u16(u)


def m_desc(q, i, gpa, length, flags, nxt):
    return bytes([7, q]) + u16(i) + u16(gpa // 4) + u16(length) + bytes([flags]) + u16(nxt)


def m_publish_kick(q, head, notify):
    return bytes([8, q]) + u16(head) + bytes([notify])


def mmio():
    s = {}
    blk = bytes([1 | QMAX[256] << 4, 16, 0])          # 2 queues, config 16 bytes
    s["bring-up-and-io"] = (blk + m_features() + m_queue(0, 16) + m_queue(1, 8) +
                            m_wr("status", 0xf) +
                            m_desc(0, 0, 0x100, 16, NEXT, 1) + m_desc(0, 1, 0x200, 64, WRITE, 0) +
                            m_publish_kick(0, 0, 0) + m_rd("isr") + m_wr("isr_ack", 1) +
                            m_rd("status"))
    s["register-reads"] = (bytes([3, 40, 0]) +
                           b"".join(m_rd(r) for r in REG) +
                           m_wr("queue_sel", 3) + m_rd("queue_num_max") + m_rd("queue_ready") +
                           m_wr("queue_sel", 99) + m_rd("queue_num_max") +
                           m_wr("dev_features_sel", 1) + m_rd("dev_features"))
    s["config-widths"] = (bytes([0x80, 40 | 0x40, 0]) +
                          m_rd_raw(0x100, 3) + m_rd_raw(0x101, 4) + m_rd_raw(0x120, 5) +
                          m_rd_raw(0x124, 0) + m_rd_raw(0x127, 5) + m_rd_raw(0x128, 3) +
                          m_raw(0x104, 5, 0xdeadbeef) + m_raw(0x126, 0, 0x41424344) +
                          m_rd_raw(0x104, 5) + m_raw(0x070, 4, 0xf) + m_rd_raw(0x072, 4))
    s["queue-reset-running"] = (bytes([0, 0x40 | 8, 0]) + m_features() + m_queue(0, 8) +
                                m_wr("status", 0xf) + m_desc(0, 0, 0x100, 8, 0, 0) +
                                m_wr("queue_sel", 0) + m_wr("queue_ready", 0) +
                                m_publish_kick(0, 0, 0) + m_queue(0, 8) +
                                m_publish_kick(0, 0, 0) + m_wr("desc_lo", 0x1000))
    s["reset-mid-run"] = (bytes([2, 0, 0]) + bytes([11, 1, 0x80 | QNUM[16] << 4]) + u16(0) * 3 +
                          m_desc(0, 0, 0x100, 8, WRITE, 0) + m_publish_kick(0, 0, 0) +
                          m_wr("status", 0) + m_publish_kick(0, 0, 0) + m_rd("queue_ready"))
    s["no-version-1"] = (bytes([0, 0, 0x80 | 3]) + m_features(False) +
                         m_wr("drv_features_sel", 1) + m_wr("drv_features", 0) +
                         m_wr("status", 0xb) + m_rd("status") + m_wr("status", 0xf))
    s["bad-rings"] = (bytes([0, 0, 0]) + m_features() +
                      m_queue(0, 16, compact=False, d=0x0004, a=0xc000, u=0x8000) +
                      m_queue(0, 2, compact=False, d=0x4ff8, a=0x5000, u=0x5100) +
                      m_wr("status", 0xf) + m_rd("status"))
    s["device-errors"] = (bytes([0, 8, 0]) + bytes([11, 1, 0x80 | QNUM[8] << 4]) + u16(0) * 3 +
                          bytes([10]) + bytes([0x82]) + m_rd("config_gen") +
                          m_desc(0, 0, 0x100, 8, NEXT, 0) + m_publish_kick(0, 0, 0) +
                          m_rd("status") + m_wr("status", 0) + m_rd("status"))
    return s


# ---- fuzz_fuse_decode.c ----------------------------------------------------------
# Byte 0: bit 0 fix h.len, bits 1-2 max_read, bits 3-4 scratch size; byte 1: cut seed.
FUSE = {"LOOKUP": 1, "GETATTR": 3, "SETATTR": 4, "READLINK": 5, "SYMLINK": 6, "MKDIR": 9,
        "UNLINK": 10, "RENAME": 12, "LINK": 13, "OPEN": 14, "READ": 15, "LSEEK": 46,
        "WRITE": 16, "SETXATTR": 21, "GETXATTR": 22, "INIT": 26, "READDIR": 28,
        "CREATE": 35, "BATCH_FORGET": 42, "FALLOCATE": 43, "RENAME2": 45,
        "COPY_FILE_RANGE": 47, "GETLK": 31}


def fuse_req(op, body, nodeid=1, extlen=0, flags=1, seed=0):
    hdr = struct.pack("<IIQQIIIHH", 40 + len(body), FUSE[op], 7, nodeid, 1000, 1000, 42,
                      extlen, 0)
    return bytes([flags, seed]) + hdr + body


def fuse_decode():
    s = {}
    s["lookup"] = fuse_req("LOOKUP", b"hello.txt\0")
    s["lookup-dotdot"] = fuse_req("LOOKUP", b"..\0", seed=3)
    s["symlink"] = fuse_req("SYMLINK", b"link\0../target/x\0", seed=5)
    s["mkdir"] = fuse_req("MKDIR", struct.pack("<II", 0o755, 0o22) + b"d\0")
    s["rename2"] = fuse_req("RENAME2", struct.pack("<QII", 1, 1, 0) + b"a\0b\0", seed=9)
    s["read"] = fuse_req("READ", struct.pack("<QQIIQII", 5, 0, 4096, 0, 0, 0, 0), flags=1 | 2)
    s["write"] = fuse_req("WRITE", struct.pack("<QQIIQII", 5, 100, 12, 0, 0, 0, 0) +
                          b"hello world\n", seed=17)
    s["setxattr"] = fuse_req("SETXATTR", struct.pack("<II", 5, 0) + b"user.k\0value",
                             flags=1 | 8)
    s["getxattr"] = fuse_req("GETXATTR", struct.pack("<II", 64, 0) + b"security.selinux\0")
    s["init-short"] = fuse_req("INIT", struct.pack("<IIII", 7, 31, 0x20000, 0), nodeid=0)
    s["init-full"] = fuse_req("INIT", struct.pack("<IIII", 7, 38, 0x20000, 0) +
                              u32(0) + b"\0" * 44, nodeid=0, seed=2)
    s["batch-forget"] = fuse_req("BATCH_FORGET", struct.pack("<II", 2, 0) +
                                 struct.pack("<QQQQ", 2, 1, 3, 5), nodeid=0, seed=33)
    s["fallocate-huge"] = fuse_req("FALLOCATE", struct.pack("<QQQII", 5, 1 << 62, 1 << 62, 0, 0))
    s["copy-file-range"] = fuse_req("COPY_FILE_RANGE",
                                    struct.pack("<QQQQQQQ", 5, 0, 2, 6, 0, 4096, 0))
    s["create-extlen"] = fuse_req("CREATE", struct.pack("<IIII", 0o100, 0o644, 0o22, 0) +
                                  b"new\0" + b"\0" * 8, extlen=1, seed=4)
    s["readdir-small-scratch"] = fuse_req("READDIR", struct.pack("<QQIIQII", 5, 0, 8192, 0,
                                                                 0, 0, 0), flags=1 | 2 | 0x18)
    setattr = struct.pack("<IIQQQQQQIIIIIIII", 1 << 3, 0, 5, 4096, 0, 0, 0, 0, 0, 0, 0,
                          0o644, 0, 1000, 1000, 0)
    s["setattr-size"] = fuse_req("SETATTR", setattr, seed=11)
    s["setattr-huge-size"] = fuse_req("SETATTR", setattr[:16] + u64(1 << 63) + setattr[24:])
    s["link"] = fuse_req("LINK", u64(2) + b"hard\0", nodeid=1)
    s["rename"] = fuse_req("RENAME", u64(1) + b"old\0new\0", seed=6)
    s["lseek"] = fuse_req("LSEEK", struct.pack("<QQII", 5, 1 << 40, 3, 0))
    s["open"] = fuse_req("OPEN", struct.pack("<II", 0o2, 0), nodeid=2)
    s["readlink"] = fuse_req("READLINK", b"", nodeid=3, seed=1)
    s["unlink-slash"] = fuse_req("UNLINK", b"a/b\0")
    s["unknown-opcode"] = fuse_req("GETLK", b"\0" * 56)
    s["short-header"] = bytes([0, 0]) + b"\x28\0\0\0\x01\0\0\0"
    return s


# ---- fuzz_fuse_dispatch.c --------------------------------------------------------
# Byte 0: config (bit 0 read-only, bit 1 ids passthrough, bits 2-3 max_fds index,
# bit 4 no /proc/self/fd, bit 5 no INIT first). Then records: ctl, u16 len, request;
# ctl 0xff completes the oldest pending I/O. A fresh server hands out nodeids 2, 3, ...
# and fhs 1, 2, ... in order (the root is 1). The share: hello.txt, empty, dir/inner,
# dir/sub/, fifo, escape-abs, escape-rel, parent, dangling.
FOP = dict(FUSE, FORGET=2, MKNOD=8, RMDIR=11, STATFS=17, RELEASE=18, FSYNC=20,
           LISTXATTR=23, REMOVEXATTR=24, FLUSH=25, OPENDIR=27, RELEASEDIR=29,
           FSYNCDIR=30, ACCESS=34, INTERRUPT=36, DESTROY=38, READDIRPLUS=44)
ASYNC, PENDING = 2, 4
S_IFREG, S_IFIFO, S_IFCHR = 0o100000, 0o010000, 0o020000


def rq(op, body=b"", nodeid=1, ctl=1, unique=7):
    hdr = struct.pack("<IIQQIIIHH", 40 + len(body), FOP[op], unique, nodeid, 1000, 1000, 42,
                      0, 0)
    req = hdr + body
    return bytes([ctl]) + u16(len(req)) + req


COMPLETE = bytes([0xff])


def rd(fh, off=0, size=4096):
    return struct.pack("<QQIIQII", fh, off, size, 0, 0, 0, 0)


def wr(fh, data, off=0):
    return struct.pack("<QQIIQII", fh, off, len(data), 0, 0, 0, 0) + data


def rel(fh):
    return struct.pack("<QIIQ", fh, 0, 0, 0)


def fuse_dispatch():
    s = {}
    s["lookup-getattr-forget"] = (bytes([0]) + rq("LOOKUP", b"hello.txt\0") +
                                  rq("GETATTR", struct.pack("<IIQ", 0, 0, 0), nodeid=2) +
                                  rq("LOOKUP", b"dir\0") + rq("LOOKUP", b"inner\0", nodeid=3) +
                                  rq("GETATTR", struct.pack("<IIQ", 0, 0, 0), nodeid=4) +
                                  rq("FORGET", u64(1), nodeid=4) +
                                  rq("LOOKUP", b"inner\0", nodeid=3) +
                                  rq("BATCH_FORGET", struct.pack("<II", 2, 0) +
                                     struct.pack("<QQQQ", 2, 1, 3, 5), nodeid=0) +
                                  rq("STATFS", nodeid=1) + rq("ACCESS", u32(2) + u32(0)))
    s["open-read-write-release"] = (bytes([0]) + rq("LOOKUP", b"hello.txt\0") +
                                    rq("OPEN", struct.pack("<II", 2, 0), nodeid=2) +
                                    rq("READ", rd(1), nodeid=2) +
                                    rq("WRITE", wr(1, b"HELLO", 0), nodeid=2) +
                                    rq("READ", rd(1, 2, 8), nodeid=2) +
                                    rq("FSYNC", struct.pack("<QII", 1, 1, 0), nodeid=2) +
                                    rq("FLUSH", struct.pack("<QIIQ", 1, 0, 0, 0), nodeid=2) +
                                    rq("LSEEK", struct.pack("<QQII", 1, 0, 3, 0), nodeid=2) +
                                    rq("FALLOCATE", struct.pack("<QQQII", 1, 0, 8192, 1, 0),
                                       nodeid=2) +
                                    rq("RELEASE", rel(1), nodeid=2) +
                                    rq("READ", rd(1), nodeid=2))
    s["async-pending-release"] = (bytes([0]) + rq("LOOKUP", b"hello.txt\0") +
                                  rq("OPEN", struct.pack("<II", 2, 0), nodeid=2) +
                                  rq("WRITE", wr(1, b"async", 3), nodeid=2, ctl=1 | ASYNC | PENDING) +
                                  rq("READ", rd(1), nodeid=2, ctl=1 | ASYNC | PENDING) +
                                  rq("FSYNC", struct.pack("<QII", 1, 0, 0), nodeid=2,
                                     ctl=1 | ASYNC | PENDING) +
                                  rq("RELEASE", rel(1), nodeid=2) + COMPLETE +
                                  rq("DESTROY", nodeid=0) + COMPLETE + COMPLETE +
                                  rq("DESTROY", nodeid=0) + rq("READ", rd(1), nodeid=2))
    s["mkdir-create-setattr-remove"] = (bytes([0]) +
                                        rq("MKDIR", struct.pack("<II", 0o2755, 0o22) + b"d\0") +
                                        rq("CREATE", struct.pack("<IIII", 2, 0o6755, 0o22, 0) +
                                           b"f\0", nodeid=2) +
                                        rq("WRITE", wr(1, b"created"), nodeid=3) +
                                        rq("RELEASE", rel(1), nodeid=3) +
                                        rq("SETATTR", struct.pack(
                                            "<IIQQQQQQIIIIIIII", (1 << 0) | (1 << 3), 0, 0, 3,
                                            0, 0, 0, 0, 0, 0, 0, 0o104777, 0, 0, 0, 0),
                                           nodeid=3) +
                                        rq("MKNOD", struct.pack("<IIII", S_IFIFO | 0o644, 0,
                                                                0, 0) + b"p\0", nodeid=2) +
                                        rq("MKNOD", struct.pack("<IIII", S_IFCHR | 0o644, 0x101,
                                                                0, 0) + b"c\0", nodeid=2) +
                                        rq("UNLINK", b"f\0", nodeid=2) +
                                        rq("RMDIR", b"d\0") + rq("RMDIR", b"d\0", nodeid=1))
    s["rename"] = (bytes([0]) + rq("LOOKUP", b"dir\0") +
                   rq("RENAME", u64(2) + b"hello.txt\0moved\0") +
                   rq("RENAME2", struct.pack("<QII", 1, 2, 0) + b"moved\0inner\0", nodeid=2) +
                   rq("RENAME2", struct.pack("<QII", 2, 4, 0) + b"empty\0sub\0") +
                   rq("RENAME2", struct.pack("<QII", 1, 1, 0) + b"dir\0empty\0") +
                   rq("RENAME2", struct.pack("<QII", 1, 8, 0) + b"dangling\0w\0") +
                   rq("LOOKUP", b"empty\0"))
    s["readdir"] = (bytes([0]) + rq("OPENDIR", struct.pack("<II", 0, 0)) +
                    rq("READDIR", rd(1, 0, 4096)) + rq("READDIR", rd(1, 3, 100)) +
                    rq("READDIRPLUS", rd(1, 0, 4096)) +
                    rq("READDIRPLUS", rd(1, 0, 4096), ctl=1 | (3 << 3) | (5 << 5)) +
                    rq("FSYNCDIR", struct.pack("<QII", 1, 0, 0)) +
                    rq("RELEASEDIR", rel(1)) + rq("READDIR", rd(1)))
    s["symlink-link"] = (bytes([0]) + rq("SYMLINK", b"l\0../marker\0") +
                         rq("READLINK", nodeid=2) + rq("LOOKUP", b"escape-abs\0") +
                         rq("READLINK", nodeid=3) +
                         rq("OPEN", struct.pack("<II", 2, 0), nodeid=3) +
                         rq("SETATTR", struct.pack("<IIQQQQQQIIIIIIII", (1 << 0) | (1 << 4), 0,
                                                   0, 0, 0, 0, 5, 0, 0, 0, 0, 0o777, 0, 0, 0, 0),
                            nodeid=3) +
                         rq("LOOKUP", b"hello.txt\0") + rq("LINK", u64(4) + b"hard\0") +
                         rq("LINK", u64(3) + b"hardlink-to-symlink\0") +
                         rq("LOOKUP", b"parent\0") + rq("READLINK", nodeid=7))
    s["unlink"] = (bytes([0]) + rq("UNLINK", b"hello.txt\0") + rq("UNLINK", b"escape-rel\0") +
                   rq("UNLINK", b"dir\0") + rq("LOOKUP", b"hello.txt\0"))
    s["xattr"] = (bytes([0]) + rq("LOOKUP", b"hello.txt\0") +
                  rq("SETXATTR", struct.pack("<II", 5, 0) + b"user.k\0value", nodeid=2) +
                  rq("SETXATTR", struct.pack("<II", 1, 0) + b"trusted.k\0v", nodeid=2) +
                  rq("GETXATTR", struct.pack("<II", 0, 0) + b"user.k\0", nodeid=2) +
                  rq("GETXATTR", struct.pack("<II", 64, 0) + b"user.k\0", nodeid=2) +
                  rq("LISTXATTR", struct.pack("<II", 0, 0), nodeid=2) +
                  rq("LISTXATTR", struct.pack("<II", 64, 0), nodeid=2) +
                  rq("REMOVEXATTR", b"user.k\0", nodeid=2) +
                  rq("LOOKUP", b"fifo\0") +
                  rq("LISTXATTR", struct.pack("<II", 64, 0), nodeid=3))
    s["fifo"] = (bytes([0]) + rq("LOOKUP", b"fifo\0") +
                 rq("OPEN", struct.pack("<II", 0, 0), nodeid=2) +
                 rq("SETATTR", struct.pack("<IIQQQQQQIIIIIIII", 1 << 3, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0, 0), nodeid=2) +
                 rq("CREATE", struct.pack("<IIII", 0, 0o644, 0, 0) + b"fifo\0"))
    s["read-only"] = (bytes([1]) + rq("CREATE", struct.pack("<IIII", 2, 0o644, 0, 0) + b"n\0") +
                      rq("LOOKUP", b"hello.txt\0") +
                      rq("OPEN", struct.pack("<II", 0, 0), nodeid=2) +
                      rq("READ", rd(1), nodeid=2) + rq("WRITE", wr(1, b"no"), nodeid=2) +
                      rq("OPEN", struct.pack("<II", 1, 0), nodeid=2) + rq("UNLINK", b"empty\0"))
    s["no-init"] = (bytes([0x20]) + rq("LOOKUP", b"hello.txt\0") +
                    rq("INIT", struct.pack("<IIII", 7, 26, 0x20000, 0), nodeid=0) +
                    rq("INIT", struct.pack("<IIII", 7, 38, 0x20000, 0xffffffff) + b"\0" * 48,
                       nodeid=0) +
                    rq("INIT", struct.pack("<IIII", 7, 38, 0x20000, 0) + b"\0" * 48, nodeid=0) +
                    rq("LOOKUP", b"hello.txt\0"))
    s["max-fds"] = (bytes([1 << 2]) + rq("LOOKUP", b"hello.txt\0") + rq("LOOKUP", b"empty\0") +
                    rq("CREATE", struct.pack("<IIII", 2, 0o644, 0, 0) + b"n\0") +
                    rq("OPENDIR", struct.pack("<II", 0, 0)))
    s["copy-file-range"] = (bytes([0]) + rq("LOOKUP", b"hello.txt\0") + rq("LOOKUP", b"empty\0") +
                            rq("OPEN", struct.pack("<II", 0, 0), nodeid=2) +
                            rq("OPEN", struct.pack("<II", 2, 0), nodeid=3) +
                            rq("COPY_FILE_RANGE", struct.pack("<QQQQQQQ", 1, 0, 3, 2, 4, 100, 0),
                               nodeid=2) +
                            rq("LSEEK", struct.pack("<QQII", 2, 0, 4, 0), nodeid=3))
    s["no-proc-ids"] = (bytes([0x10 | 2]) + rq("LOOKUP", b"hello.txt\0") +
                        rq("OPEN", struct.pack("<II", 0, 0), nodeid=2) +
                        rq("MKDIR", struct.pack("<II", 0o755, 0) + b"m\0") +
                        rq("SETATTR", struct.pack("<IIQQQQQQIIIIIIII", (1 << 1) | (1 << 2), 0, 0,
                                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 0),
                           nodeid=3))
    s["split-small-replies"] = (bytes([0]) + rq("LOOKUP", b"dir\0", ctl=1 | (7 << 5)) +
                                rq("GETATTR", struct.pack("<IIQ", 0, 0, 0), nodeid=2,
                                   ctl=1 | (3 << 3) | (2 << 5)) +
                                rq("STATFS", ctl=1 | (3 << 3)) +
                                rq("LOOKUP", b"inner\0", nodeid=2, ctl=1 | (2 << 3) | (1 << 5)) +
                                rq("OPEN", struct.pack("<II", 0, 0), nodeid=3, ctl=1 | (3 << 5)) +
                                rq("READ", rd(1, 0, 1 << 19), nodeid=3, ctl=1 | (1 << 3) | (4 << 5)))
    return s


def mux():
    # fuzz_mux.c's script: op, len, bytes. 5 adds a client; op 1..4 (mod 8) sends a client
    # frame whose type is op % 8 of its table (9: EXEC for client 0, 0x0a: EXEC for client 1,
    # 0x13 (op % 8 = 3): client 2); op % 8 == 0 sends a guest frame whose type is (op >> 3)
    # % 8 and whose client is (op >> 6) % 4 (0x00 STDOUT, 0x08 STDERR, 0x18 EXIT to client
    # 0); 7 flushes; 6 drops client len % 4.
    def op(o, data=b""):
        return bytes([o, len(data)]) + data
    add = op(5)[:1] + op(5)[:1]
    exit0 = u32(0) + u32(3)
    return {
        "one-session": add + op(9, b"spec") + op(0x00, b"hello") + op(0x08, b"err") +
        op(0x18, exit0) + op(7),
        "two-sessions-stdin": add + op(9, b"spec") + op(0x0a, b"spec2") + op(0x1a, b"in") +
        op(0x20, u32(4)) + op(0x40, b"to-1") + op(7) + op(6, b"\x01"),
        "refused-before-exec": op(5)[:1] + op(0x11, b"x") + op(7),
    }


def main():
    targets = {"virtq": virtq(), "ctl": ctl(), "mmio": mmio(), "fuse_decode": fuse_decode(),
               "fuse_dispatch": fuse_dispatch(), "mux": mux()}
    for name, seeds in targets.items():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.unlink(os.path.join(d, f))
        for seed, data in seeds.items():
            with open(os.path.join(d, "seed-" + seed), "wb") as fp:
                fp.write(data)
        print(f"{name}: {len(seeds)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
