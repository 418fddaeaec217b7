/* SPDX-License-Identifier: MIT */
/*
 * libarca (include/arca.h, lib/): the builders' validation, the mapping
 * onto the launcher's run description, how a run's end becomes a result
 * (run_result_from), the console helpers over real pipes, and the error
 * paths of arca_vm_run / arca_vm_start that need no KVM: each fills the
 * result and the message, leaves the caller's signal state, fds and
 * children as they were, and leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib.h"
#include "run.h"

static void test_vm_builder(void **state)
{
	struct arca_err e = { 0 };
	arca_vm *vm = arca_vm_new(&e);
	assert_non_null(vm);
	assert_int_equal(arca_vm_state(vm), ARCA_VM_CREATED);
	assert_string_equal(arca_vm_state_name(ARCA_VM_CRASHED), "crashed");
	assert_non_null(strstr(arca_vm_name(vm), "lib-"));

	assert_int_equal(arca_vm_set_cpus(vm, 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "0"));
	assert_int_equal(arca_vm_set_cpus(vm, 65, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "65"));
	assert_int_equal(arca_vm_set_cpus(vm, 4, &e), 0);
	assert_int_equal(arca_vm_set_memory_mib(vm, 63, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "63 MiB"));
	assert_int_equal(arca_vm_set_memory_mib(vm, 65537, NULL), -EINVAL); /* e may be NULL */
	assert_int_equal(arca_vm_set_memory_mib(vm, 256, &e), 0);
	assert_int_equal(arca_vm_set_kernel(vm, "", &e), -EINVAL);

	/* kernel arguments: one word each; set_cmdline replaces them all */
	assert_int_equal(arca_vm_add_kernel_arg(vm, "a b", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'a b'"));
	assert_int_equal(arca_vm_add_kernel_arg(vm, "x\n", &e), -EINVAL);
	assert_int_equal(arca_vm_add_kernel_arg(vm, "loglevel=4", &e), 0);
	assert_int_equal(vm->o.nkernel_args, 1);
	assert_int_equal(arca_vm_set_cmdline(vm, "console=ttyS0 quiet", &e), 0);
	assert_int_equal(vm->o.nkernel_args, 0);
	assert_string_equal(vm->o.cmdline, "console=ttyS0 quiet");
	for (int i = 0; i < ARCA_KERNEL_ARGS_MAX; i++)
		assert_int_equal(arca_vm_add_kernel_arg(vm, "k=1", &e), 0);
	assert_int_equal(arca_vm_add_kernel_arg(vm, "k=1", &e), -E2BIG);

	/* shares */
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "rel", NULL, 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'rel'"));
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "/a/../b", NULL, 0, &e), -EINVAL);
	assert_int_equal(arca_vm_add_share(vm, "/tmp", NULL, NULL, 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "tag"));
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "/w", "bad tag!", 0, &e), -EINVAL);
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "/w", NULL, 0x80, &e), -EINVAL);
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "/w", NULL,
					   ARCA_SHARE_CACHE_WRITEBACK | ARCA_SHARE_CACHE_NONE, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "exclude each other"));
	assert_int_equal(arca_vm_add_share(vm, "", "/w", NULL, 0, &e), -EINVAL);
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "/proc/x", NULL, 0, &e), -EINVAL);
	assert_int_equal(vm->o.shares.n, 0); /* a refused share is not kept */
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "/w//", NULL, ARCA_SHARE_RO, &e), 0);
	assert_string_equal(vm->o.shares.v[0].guest, "/w");
	assert_true(vm->o.shares.v[0].ro);
	assert_int_equal(arca_vm_add_share(vm, "/var", "/w", NULL, 0, &e), -EINVAL);
	assert_int_equal(vm->o.shares.n, 1);
	assert_int_equal(arca_vm_add_share(vm, "/var", NULL, "dev0", 0, &e), 0);
	assert_null(vm->o.shares.v[1].guest);
	assert_string_equal(vm->o.shares.v[1].tag, "dev0");
	for (int i = 2; i < SHARES_MAX + SHARES_FILES_MAX; i++) {
		char g[16];
		snprintf(g, sizeof(g), "/s%d", i);
		assert_int_equal(arca_vm_add_share(vm, "/tmp", g, NULL, 0, &e), 0);
	}
	assert_int_equal(arca_vm_add_share(vm, "/tmp", "/last", NULL, 0, &e), -E2BIG);

	/* disks and the root */
	assert_int_equal(arca_vm_add_disk(vm, "", &e), -EINVAL);
	assert_int_equal(arca_vm_add_disk(vm, "/img:/d:bogus", &e), -EINVAL);
	assert_int_equal(arca_vm_set_root(vm, "", false, &e), -EINVAL);
	assert_int_equal(arca_vm_set_root(vm, "initrd", true, &e), 0);
	assert_true(vm->o.root_initrd);
	assert_false(vm->o.root_rw);
	assert_int_equal(arca_vm_set_root_disk(vm, "/img", &e), -EINVAL);
	assert_int_equal(arca_vm_set_root(vm, "/srv/root", true, &e), 0);
	assert_string_equal(vm->o.root, "/srv/root");
	assert_true(vm->o.root_rw);

	/* limits, name, ids, paths */
	assert_int_equal(arca_vm_set_timeout_ms(vm, (ARCA_TIMEOUT_MAX_S + 1) * 1000, &e), -EINVAL);
	assert_int_equal(arca_vm_set_timeout_ms(vm, 1500, &e), 0);
	assert_int_equal(arca_vm_set_boot_timeout_ms(vm, 86401000, &e), -EINVAL);
	assert_int_equal(arca_vm_set_stop_timeout_ms(vm, 3601000, &e), -EINVAL);
	assert_int_equal(arca_vm_set_name(vm, "../x", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'../x'"));
	assert_int_equal(arca_vm_set_name(vm, "box.1", &e), 0);
	assert_string_equal(arca_vm_name(vm), "box.1");
	assert_int_equal(arca_vm_set_vmm_user(vm, 0, 5, &e), -EINVAL);
	assert_int_equal(arca_vm_set_vmm_user(vm, 1000, 1000, &e), 0);
	assert_false(vm->o.kaslr); /* the decompressed kernel by default */
	assert_int_equal(arca_vm_set_kaslr(vm, true, &e), 0);
	assert_true(vm->o.kaslr);
	assert_int_equal(arca_vm_set_kaslr(vm, false, &e), 0);
	assert_false(vm->o.kaslr);
	assert_int_equal(arca_vm_set_path(vm, ARCA_PATH_LIBEXEC, "rel/dir", &e), -EINVAL);
	assert_int_equal(arca_vm_set_path(vm, (enum arca_path)9, "/x", &e), -EINVAL);
	assert_int_equal(arca_vm_set_path(vm, ARCA_PATH_CACHE, "/c", &e), 0);
	assert_int_equal(arca_vm_set_log_fd(vm, 9999, false, &e), -EBADF);

	/* once started, nothing changes */
	vm->state = ARCA_VM_RUNNING;
	assert_int_equal(arca_vm_set_cpus(vm, 2, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "running"));
	vm->state = ARCA_VM_STOPPED;
	arca_vm_free(vm);
	arca_vm_free(NULL);
}

static void test_exec_builder(void **state)
{
	struct arca_err e = { 0 };
	const char *empty[] = { NULL }, *blank[] = { "", NULL };
	assert_null(arca_exec_new(empty, &e));
	assert_null(arca_exec_new(blank, &e));
	assert_null(arca_exec_new(NULL, &e));
	const char *argv[] = { "sh", "-c", "exit 3", NULL };
	arca_exec *x = arca_exec_new(argv, &e);
	assert_non_null(x);
	assert_int_equal(x->argc, 3);
	assert_null(x->argv[3]);

	assert_int_equal(arca_exec_add_env(x, "NOEQUALS", &e), -EINVAL);
	assert_int_equal(arca_exec_add_env(x, "=v", &e), -EINVAL);
	assert_int_equal(arca_exec_add_env(x, "A=1", &e), 0);
	assert_int_equal(arca_exec_add_env(x, "AB=2", &e), 0);
	assert_int_equal(arca_exec_add_env(x, "A=3", &e), 0); /* replaces A, not AB */
	assert_int_equal(x->envc, 2);
	assert_string_equal(x->env[0], "A=3");
	assert_string_equal(x->env[1], "AB=2");
	assert_null(x->env[2]);

	assert_int_equal(arca_exec_set_workdir(x, "rel", &e), -EINVAL);
	assert_int_equal(arca_exec_set_workdir(x, "/w", &e), 0);
	assert_int_equal(arca_exec_set_user(x, 1000, 100, &e), 0);

	assert_int_equal(arca_exec_add_rlimit(x, 99, 1, 1, &e), -EINVAL);
	assert_int_equal(arca_exec_add_rlimit(x, -1, 1, 1, &e), -EINVAL);
	assert_int_equal(arca_exec_add_rlimit(x, RLIMIT_NOFILE, 10, 5, &e), -EINVAL);
	assert_int_equal(arca_exec_add_rlimit(x, RLIMIT_NOFILE, 64, 128, &e), 0);
	assert_int_equal(arca_exec_add_rlimit(x, RLIMIT_NOFILE, 64, 128, &e), -EEXIST);
	assert_int_equal(arca_exec_add_rlimit(x, RLIMIT_CORE, 0, UINT64_MAX, &e), 0);

	assert_int_equal(arca_exec_set_tty(x, true, 24, 0, &e), -EINVAL);
	assert_int_equal(arca_exec_set_tty(x, true, 70000, 80, &e), -EINVAL);
	assert_int_equal(arca_exec_set_tty(x, true, 30, 100, &e), 0);
	assert_int_equal(arca_exec_set_stdio(x, 9999, 1, 2, &e), -EBADF);
	assert_non_null(strstr(e.msg, "stdin fd 9999"));
	assert_int_equal(arca_exec_set_stdio(x, -1, 1, -2, &e), -EBADF);
	assert_int_equal(arca_exec_set_stdio(x, -1, 1, 2, &e), 0);

	/* what the launcher gets */
	arca_vm *vm = arca_vm_new(&e);
	assert_non_null(vm);
	assert_int_equal(arca_vm_set_name(vm, "m1", &e), 0);
	assert_int_equal(arca_vm_set_path(vm, ARCA_PATH_LIBEXEC, "/opt/arca", &e), 0);
	struct arca_opts o;
	lib_opts_for(vm, x, &o);
	assert_string_equal(o.argv[0], "sh");
	assert_int_equal(o.argc, 3);
	assert_int_equal(o.envc, 2);
	assert_string_equal(o.workdir, "/w");
	assert_true(o.has_user);
	assert_int_equal(o.user_uid, 1000);
	assert_int_equal(o.nrlimits, 2);
	assert_int_equal(o.rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(o.tty);
	assert_int_equal(o.rows, 30);
	assert_int_equal(o.cols, 100);
	assert_string_equal(o.name, "m1");
	assert_string_equal(o.paths.libexec, "/opt/arca");
	assert_string_equal(o.paths.exe_dir, "/opt/arca");
	assert_null(o.paths.kernel); /* the library reads no ARCA_KERNEL */
	assert_int_equal(o.diag_fd, -1);
	arca_vm_free(vm);
	arca_exec_free(x);
}

/* rec: le32 kind, le32 value. */
static const uint8_t *rec(uint32_t kind, uint32_t value)
{
	static uint8_t r[8];
	for (int i = 0; i < 4; i++) {
		r[i] = (uint8_t)(kind >> (8 * i));
		r[4 + i] = (uint8_t)(value >> (8 * i));
	}
	return r;
}

static void test_result_from(void **state)
{
	struct arca_result r;
	/* the guest's command killed by SIGKILL: SIGNALED, not "exited 137" */
	run_result_from(W_EXITCODE(137, 0), rec(ARCA_EXIT_SIGNAL, 9), true, 0, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_SIGNALED);
	assert_int_equal(r.value, 9);
	assert_int_equal(r.exit_code, 137);
	/* exit 137 of its own */
	run_result_from(W_EXITCODE(137, 0), rec(ARCA_EXIT_CODE, 137), true, 0, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_EXITED);
	assert_int_equal(r.value, 137);
	/* a record that disagrees with the status does not count (the VMM
	 * failed after the command ended) */
	run_result_from(W_EXITCODE(125, 0), rec(ARCA_EXIT_CODE, 0), true, 0, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_ERROR);
	assert_int_equal(r.err.code, ECHILD);
	assert_int_equal(r.exit_code, 125);
	/* a hostile record: signal 0 or 200 */
	run_result_from(W_EXITCODE(128, 0), rec(ARCA_EXIT_SIGNAL, 0), true, 0, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_EXITED);
	assert_int_equal(r.value, 128);
	run_result_from(W_EXITCODE(72, 0), rec(ARCA_EXIT_SIGNAL, 200), true, 0, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_EXITED);
	/* the VM stopped by a forwarded signal before the command reported */
	run_result_from(W_EXITCODE(130, 0), NULL, false, SIGINT, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_SIGNALED);
	assert_int_equal(r.value, SIGINT);
	/* arca-vmm killed after the forwarded signal */
	run_result_from(SIGKILL, NULL, false, SIGTERM, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_SIGNALED);
	assert_int_equal(r.value, SIGTERM);
	assert_int_equal(r.exit_code, 143);
	/* arca-vmm dying of a signal nobody sent */
	run_result_from(SIGSEGV, NULL, false, 0, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_ERROR);
	assert_non_null(strstr(r.err.msg, "signal 11"));
	/* the timeout wins */
	run_result_from(SIGKILL, NULL, false, 0, true, &r);
	assert_int_equal(r.kind, ARCA_RESULT_TIMED_OUT);
	assert_int_equal(r.exit_code, 124);
	/* plain exits */
	run_result_from(W_EXITCODE(0, 0), rec(ARCA_EXIT_CODE, 0), true, 0, false, &r);
	assert_int_equal(r.kind, ARCA_RESULT_EXITED);
	assert_int_equal(r.exit_code, 0);
}

/* A console over our own pipe and socket pair, as arca_vm_exec_start makes. */
static struct arca_console *console_pair(int *feed, int *sink)
{
	int out[2], in[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in), 0);
	assert_int_equal(fcntl(out[0], F_SETFL, O_NONBLOCK), 0);
	struct arca_console *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->out_fd = out[0];
	c->in_fd = in[0];
	*feed = out[1];
	*sink = in[1];
	return c;
}

static void test_console(void **state)
{
	int feed, sink;
	struct arca_err e = { 0 };
	struct arca_console *c = console_pair(&feed, &sink);
	char buf[64];

	assert_int_equal(arca_console_read_available(c, buf, sizeof(buf)), 0);
	assert_int_equal(arca_console_wait_for(c, "$ ", 50, &e), -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "'$ '"));
	assert_int_equal(write(feed, "boot...\n$ ", 10), 10);
	assert_int_equal(arca_console_wait_for(c, "$ ", 1000, &e), 0);
	/* consumed through the match: the next prompt needs new output */
	assert_int_equal(arca_console_wait_for(c, "$ ", 20, &e), -ETIMEDOUT);
	assert_int_equal(write(feed, "a$ b", 4), 4);
	assert_int_equal(arca_console_wait_for(c, "$ ", 1000, &e), 0);
	assert_int_equal(arca_console_read_available(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'b');

	assert_int_equal(arca_console_write_line(c, "echo hi", &e), 0);
	assert_int_equal(read(sink, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "echo hi\n", 8);

	/* a flood keeps at most 1 MiB, the newest: 3 MiB in pipe-sized
	 * pieces, each read by a wait that finds nothing */
	static char big[32 << 10];
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 96; i++) {
		assert_int_equal(write(feed, big, sizeof(big)), (ssize_t)sizeof(big));
		assert_int_equal(arca_console_wait_for(c, "never", 0, &e), -ETIMEDOUT);
	}
	assert_true(c->len <= (1u << 20));
	assert_int_equal(write(feed, "END", 3), 3);
	assert_int_equal(arca_console_wait_for(c, "END", 1000, &e), 0);

	/* the output ends: -EPIPE, once what is buffered is gone */
	assert_int_equal(write(feed, "tail", 4), 4);
	close(feed);
	assert_int_equal(arca_console_wait_for(c, "nothere", 1000, &e), -EPIPE);
	assert_int_equal(arca_console_read_available(c, buf, sizeof(buf)), 4);
	assert_int_equal(arca_console_read_available(c, buf, sizeof(buf)), -EPIPE);

	/* the command gone: an error, not a SIGPIPE that kills us */
	close(sink);
	assert_true(arca_console_write_line(c, "late", &e) < 0);
	assert_int_equal(arca_console_close_input(c), 0);
	assert_int_equal(arca_console_write_line(c, "x", &e), -EPIPE);
	lib_console_free(c);
}

static void on_usr2(int sig)
{
	(void)sig;
}

static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* What arca needs and has not (a kernel that is not there) fails inside
 * the child; the caller gets ERROR with the reason, and its process state
 * is untouched. */
static void test_run_error_leaves_caller_alone(void **state)
{
	struct arca_err e = { 0 };
	struct sigaction sa = { .sa_handler = on_usr2 }, before_sa, after_sa;
	sigset_t mask, before_mask, after_mask;
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigaction(SIGUSR2, NULL, &before_sa);
	sigprocmask(SIG_BLOCK, NULL, &before_mask);
	int fds = open_fds();

	arca_vm *vm = arca_vm_new(&e);
	assert_non_null(vm);
	char dir[] = "/tmp/libarca-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(arca_vm_set_kernel(vm, "/nonexistent/vmlinuz", &e), 0);
	assert_int_equal(arca_vm_set_path(vm, ARCA_PATH_CACHE, dir, &e), 0);
	const char *argv[] = { "true", NULL };
	arca_exec *x = arca_exec_new(argv, &e);
	assert_non_null(x);
	struct arca_result res;
	memset(&e, 0, sizeof(e));
	assert_true(arca_vm_run(vm, x, &res, &e) < 0);
	assert_int_equal(res.kind, ARCA_RESULT_ERROR);
	assert_int_equal(res.exit_code, 125);
	assert_non_null(strstr(res.err.msg, "/nonexistent/vmlinuz"));
	assert_string_equal(e.msg, res.err.msg);
	assert_int_equal(arca_vm_state(vm), ARCA_VM_CRASHED);
	/* a handle runs once */
	assert_int_equal(arca_vm_run(vm, x, &res, &e), -EBUSY);
	/* no exec into a VM that is not a running sandbox */
	arca_proc *p;
	assert_int_equal(arca_vm_exec_start(vm, x, &p, &e), -EINVAL);
	assert_null(p);
	arca_vm_free(vm);

	/* attach: a bad name, and one that is not there */
	assert_null(arca_vm_attach("../etc", &e));
	assert_int_equal(e.code, EINVAL);
	assert_null(arca_vm_attach("libarca-test-none", &e));
	assert_int_equal(e.code, ENOENT);
	assert_non_null(strstr(e.msg, "'libarca-test-none'"));

	/* a sandbox that cannot boot: its log's last line is in the message */
	vm = arca_vm_new(&e);
	assert_non_null(vm);
	assert_int_equal(arca_vm_set_kernel(vm, "/nonexistent/vmlinuz", &e), 0);
	assert_int_equal(arca_vm_set_path(vm, ARCA_PATH_CACHE, dir, &e), 0);
	assert_true(arca_vm_start(vm, &e) < 0);
	assert_non_null(strstr(e.msg, "stopped before it was ready"));
	assert_non_null(strstr(e.msg, "/nonexistent/vmlinuz"));
	assert_int_equal(arca_vm_state(vm), ARCA_VM_CRASHED);
	assert_int_equal(arca_vm_stop(vm, &e), 0); /* nothing to stop */
	arca_vm_free(vm);
	arca_exec_free(x);

	/* the caller as it was: handler, mask, fds, no child left */
	sigaction(SIGUSR2, NULL, &after_sa);
	sigprocmask(SIG_BLOCK, NULL, &after_mask);
	assert_ptr_equal(after_sa.sa_handler, before_sa.sa_handler);
	assert_int_equal(sigismember(&after_mask, SIGHUP), 1);
	assert_int_equal(sigismember(&after_mask, SIGINT), 0);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_builder),
		cmocka_unit_test(test_exec_builder),
		cmocka_unit_test(test_result_from),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_run_error_leaves_caller_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
