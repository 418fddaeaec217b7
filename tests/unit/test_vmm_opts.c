/* SPDX-License-Identifier: MIT */
/* arca-vmm's command line (vmm/opts.c): what the launcher passes, and what
 * it must refuse (the VMM trusts nothing it is handed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arca/limits.h"
#include "opts.h"

static struct vmm_opts o;
static struct arca_err e;

#define PARSE(...) parse((const char *const[]){ "arca-vmm", "--kvm-fd=3", "--kernel-fd=4", \
						"--cmdline=x", __VA_ARGS__, NULL })
/* argv as main() gets it: writable copies (the parser keeps pointers into
 * them, e.g. --cmdline, so they live until the next parse). */
static char *argv_copy[32];
static int parse(const char *const *argv)
{
	int argc = 0;
	for (int i = 0; argv_copy[i]; i++) {
		free(argv_copy[i]);
		argv_copy[i] = NULL;
	}
	while (argv[argc]) {
		argv_copy[argc] = strdup(argv[argc]);
		argc++;
	}
	return vmm_opts_parse(argc, argv_copy, &o, &e);
}

static void test_defaults(void **state)
{
	assert_int_equal(PARSE("--cpus=2"), 0);
	assert_int_equal(o.fs_max_fds, ARCA_FS_MAX_FDS);
	assert_int_equal(o.boot_timeout_ms, 0);
	assert_int_equal(o.nblk, 0);
}

static void test_blk(void **state)
{
	assert_int_equal(PARSE("--blk=9,ro,id=data.1,direct,nosync,queues=4", "--blk=10,ephemeral"), 0);
	assert_int_equal(o.nblk, 2);
	assert_int_equal(o.blk[0].fd, 9);
	assert_true(o.blk[0].read_only && o.blk[0].direct && o.blk[0].nosync);
	assert_false(o.blk[0].ephemeral);
	assert_string_equal(o.blk[0].id, "data.1");
	assert_int_equal(o.blk[0].queues, 4);
	assert_true(o.blk[1].ephemeral);
	assert_int_equal(o.blk[1].queues, 1);
	assert_string_equal(o.blk[1].id, "");
	/* refusals */
	assert_int_equal(PARSE("--blk=9,ro,ephemeral"), -EINVAL);
	assert_int_equal(PARSE("--blk=9,queues=0"), -EINVAL);
	assert_int_equal(PARSE("--blk=9,queues=17"), -EINVAL);
	assert_int_equal(PARSE("--blk=9,id=123456789012345678901"), -EINVAL);
	assert_int_equal(PARSE("--blk=9,id="), -EINVAL);
	assert_int_equal(PARSE("--blk=9,bogus"), -EINVAL);
	assert_int_equal(PARSE("--blk=-1"), -EINVAL);
	assert_int_equal(PARSE("--blk="), -EINVAL);
	assert_int_equal(PARSE("--blk=x,ro"), -EINVAL);
	assert_non_null(strstr(e.msg, "bad --blk"));
	const char *many[VMM_MAX_BLK + 6];
	int n = 0;
	many[n++] = "arca-vmm";
	many[n++] = "--kvm-fd=3";
	many[n++] = "--kernel-fd=4";
	many[n++] = "--cmdline=x";
	for (int i = 0; i <= VMM_MAX_BLK; i++)
		many[n++] = "--blk=9";
	many[n] = NULL;
	assert_int_equal(parse(many), -E2BIG);
}

/* --net=FD[,mac=][,mtu=][,backend=]: the TAP the launcher made (or passt's
 * stream socket); defaults without options; refusals name the value and
 * why; not with warm starts. */
static void test_net(void **state)
{
	static const uint8_t def_mac[6] = { 2, 0, 0, 0, 0, 1 };
	assert_int_equal(PARSE("--cpus=1"), 0);
	assert_int_equal(o.nnet, 0);
	assert_int_equal(PARSE("--net=12"), 0);
	assert_int_equal(o.nnet, 1);
	assert_int_equal(o.net[0].fd, 12);
	assert_int_equal(o.net[0].mtu, 1500);
	assert_memory_equal(o.net[0].mac, def_mac, 6);
	assert_int_equal(PARSE("--net=12,mac=0A:bc:DE:f0:12:34,mtu=9000"), 0);
	static const uint8_t mac[6] = { 0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34 };
	assert_memory_equal(o.net[0].mac, mac, 6);
	assert_int_equal(o.net[0].mtu, 9000);
	assert_int_equal(PARSE("--net=12,mtu=68"), 0);
	assert_int_equal(PARSE("--net=12,mtu=65535"), 0);
	assert_int_equal(o.net[0].mtu, 65535);
	/* the backend: a TAP unless told (passt's stream socket) */
	assert_int_equal(o.net[0].backend, VMM_NET_TAP);
	assert_int_equal(PARSE("--net=12,backend=stream,mtu=65520"), 0);
	assert_int_equal(o.net[0].backend, VMM_NET_STREAM);
	assert_int_equal(o.net[0].mtu, 65520);
	assert_int_equal(PARSE("--net=12,backend=tap"), 0);
	assert_int_equal(o.net[0].backend, VMM_NET_TAP);
	assert_int_equal(PARSE("--net=12,backend=passt"), -EINVAL);
	assert_non_null(strstr(e.msg, "bad --net '12,backend=passt': backend= wants tap or stream"));
	assert_int_equal(PARSE("--net=12,backend="), -EINVAL);
	assert_int_equal(PARSE("--net=12,backend=STREAM"), -EINVAL);
	assert_int_equal(PARSE("--net=12,backend"), -EINVAL);
	/* refusals, each naming the value */
	assert_int_equal(PARSE("--net=12,mtu=67"), -EINVAL);
	assert_non_null(strstr(e.msg, "bad --net '12,mtu=67'"));
	assert_non_null(strstr(e.msg, "68..65535"));
	assert_int_equal(PARSE("--net=12,mtu=65536"), -EINVAL);
	assert_int_equal(PARSE("--net=12,mtu="), -EINVAL);
	assert_int_equal(PARSE("--net=12,mtu=-1"), -EINVAL);
	assert_int_equal(PARSE("--net=12,mac=03:00:00:00:00:01"), -EINVAL); /* multicast */
	assert_non_null(strstr(e.msg, "'12,mac=03:00:00:00:00:01'"));
	assert_non_null(strstr(e.msg, "unicast"));
	assert_int_equal(PARSE("--net=12,mac=00:00:00:00:00:00"), -EINVAL);
	assert_int_equal(PARSE("--net=12,mac=02:00:00:00:00"), -EINVAL);
	assert_int_equal(PARSE("--net=12,mac=02:00:00:00:00:01:02"), -EINVAL);
	assert_int_equal(PARSE("--net=12,mac=02-00-00-00-00-01"), -EINVAL);
	assert_int_equal(PARSE("--net=12,mac=02:00:00:00:00:0g"), -EINVAL);
	assert_int_equal(PARSE("--net=12,mac=2:0:0:0:0:1"), -EINVAL);
	assert_int_equal(PARSE("--net=12,vhost"), -EINVAL);
	assert_non_null(strstr(e.msg, "'12,vhost'"));
	assert_int_equal(PARSE("--net=x"), -EINVAL);
	assert_non_null(strstr(e.msg, "bad --net 'x'"));
	assert_int_equal(PARSE("--net="), -EINVAL);
	assert_int_equal(PARSE("--net"), -EINVAL);
	assert_int_equal(PARSE("--net=12", "--net=13"), -E2BIG);
	/* warm starts carry no network device yet */
	assert_int_equal(PARSE("--net=12", "--snapshot-fd=9", "--spec-fd=10"), -EINVAL);
	assert_non_null(strstr(e.msg, "--net does not work with --snapshot-fd or --restore-fd"));
	assert_int_equal(PARSE("--net=12", "--restore-fd=9", "--spec-fd=10"), -EINVAL);
	assert_int_equal(PARSE("--net=12", "--spec-fd=10"), 0);
}

static void test_fs_and_limits(void **state)
{
	assert_int_equal(PARSE("--fs=7,tag=arca-usr,ro,ids=passthrough", "--fs-max-fds=19862",
			       "--boot-timeout-ms=60000"), 0);
	assert_int_equal(o.nfs, 1);
	assert_int_equal(o.fs[0].dir_fd, 7);
	assert_string_equal(o.fs[0].tag, "arca-usr");
	assert_true(o.fs[0].read_only && o.fs[0].ids_passthrough);
	assert_int_equal(o.fs_max_fds, 19862);
	assert_int_equal(o.boot_timeout_ms, 60000);
	assert_int_equal(PARSE("--fs=7"), -EINVAL); /* no tag */
	assert_int_equal(PARSE("--fs=7,tag=a,rw"), -EINVAL);
	assert_int_equal(PARSE("--fs=7,tag=a,writeback", "--fs=8,tag=b,direct"), 0);
	assert_true(o.fs[0].writeback && !o.fs[0].direct_io);
	assert_true(o.fs[1].direct_io && !o.fs[1].writeback);
	assert_int_equal(PARSE("--fs-max-fds=255"), -EINVAL); /* below ARCA_FS_MIN_FDS */
	assert_int_equal(PARSE("--fs-max-fds=65537"), -EINVAL);
	assert_int_equal(PARSE("--boot-timeout-ms=4294967296"), -EINVAL);
	assert_int_equal(PARSE("--boot-timeout-ms=-1"), -EINVAL);
	assert_int_equal(PARSE("--stop-timeout-ms=2500"), 0);
	assert_int_equal(o.stop_timeout_ms, 2500);
	assert_int_equal(PARSE("--fs=7,tag=a"), 0);
	assert_int_equal(o.stop_timeout_ms, ARCA_STOP_TIMEOUT_DEFAULT_MS);
	assert_int_equal(PARSE("--stop-timeout-ms=3600001"), -EINVAL);
}

/* The launcher's result pipe and log: fds above stdio, absent by default. */
static void test_result_and_log_fds(void **state)
{
	assert_int_equal(PARSE("--fs=9,tag=a"), 0);
	assert_int_equal(o.result_fd, -1);
	assert_int_equal(o.log_fd, -1);
	assert_int_equal(PARSE("--result-fd=7", "--log-fd=8"), 0);
	assert_int_equal(o.result_fd, 7);
	assert_int_equal(o.log_fd, 8);
	assert_int_equal(PARSE("--result-fd=2"), -EINVAL); /* stdio is the command's */
	assert_int_equal(PARSE("--log-fd=1"), -EINVAL);
	assert_int_equal(PARSE("--log-fd=x"), -EINVAL);
	assert_int_equal(PARSE("--result-fd"), -EINVAL);
}

/* --launch-ns: the launcher's start for the verbose boot breakdown. */
static void test_launch_ns(void **state)
{
	assert_int_equal(PARSE("--fs=9,tag=a"), 0);
	assert_true(o.launch_ns == 0);
	assert_int_equal(PARSE("--launch-ns=18446744073709551615"), 0);
	assert_true(o.launch_ns == UINT64_MAX);
	assert_int_equal(PARSE("--launch-ns=18446744073709551616"), -EINVAL);
	assert_int_equal(PARSE("--launch-ns=-1"), -EINVAL);
	assert_int_equal(PARSE("--launch-ns="), -EINVAL);
}

/* Warm starts: a snapshot to save into or to restore from, each with the
 * spec the guest then gets over the control channel; never both, never
 * with disks (a snapshot does not carry them yet). */
static void test_warm_fds(void **state)
{
	assert_int_equal(PARSE("--fs=9,tag=a"), 0);
	assert_int_equal(o.snapshot_fd, -1);
	assert_int_equal(o.restore_fd, -1);
	assert_int_equal(o.spec_fd, -1);
	assert_int_equal(PARSE("--snapshot-fd=9", "--spec-fd=10"), 0);
	assert_int_equal(o.snapshot_fd, 9);
	assert_int_equal(o.spec_fd, 10);
	assert_int_equal(PARSE("--restore-fd=9", "--spec-fd=10"), 0);
	assert_int_equal(o.restore_fd, 9);
	assert_int_equal(PARSE("--spec-fd=10"), 0); /* cold, spec at HELLO */
	assert_int_equal(PARSE("--snapshot-fd=9"), -EINVAL);
	assert_int_equal(PARSE("--restore-fd=9"), -EINVAL);
	assert_int_equal(PARSE("--snapshot-fd=9", "--restore-fd=11", "--spec-fd=10"), -EINVAL);
	assert_int_equal(PARSE("--restore-fd=9", "--spec-fd=10", "--blk=12"), -EINVAL);
	assert_int_equal(PARSE("--restore-fd=2", "--spec-fd=10"), -EINVAL);
	assert_int_equal(PARSE("--spec-fd=x"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_launch_ns),
		cmocka_unit_test(test_blk),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_fs_and_limits),
		cmocka_unit_test(test_result_and_log_fds),
		cmocka_unit_test(test_warm_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
