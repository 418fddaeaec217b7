/* SPDX-License-Identifier: MIT */
/*
 * oneshot [CMD ARG...]: run one command in a new microVM with libarca and
 * exit with its status, as `arca run` does.
 *
 * Default command: sh -c 'echo hello from the guest; exit 3' (exits 3).
 *
 * libarca reads no ARCA_* variable itself (arca(3)); this program passes
 * the ones the arca CLI knows to the setters, so it runs from a build tree:
 *   ARCA_LIBEXEC    where arca-vmm and arca-init are
 *   ARCA_KERNEL     a bzImage instead of arca's own kernel
 *   ARCA_CACHE_DIR  the initrd cache
 *   EXAMPLE_SHARE=1 share the current directory at /work (and run there)
 */
#include <arca.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CPUS       1
#define MEMORY_MIB 256

/* The environment variables the example honours, as setter calls. */
static int configure_from_env(arca_vm *vm, struct arca_err *err)
{
	const char *v;
	int r;

	if ((v = getenv("ARCA_LIBEXEC")) && *v &&
	    (r = arca_vm_set_path(vm, ARCA_PATH_LIBEXEC, v, err)) < 0)
		return r;
	if ((v = getenv("ARCA_CACHE_DIR")) && *v &&
	    (r = arca_vm_set_path(vm, ARCA_PATH_CACHE, v, err)) < 0)
		return r;
	if ((v = getenv("ARCA_KERNEL")) && *v &&
	    (r = arca_vm_set_kernel(vm, v, err)) < 0)
		return r;
	return 0;
}

static int build_vm(arca_vm *vm, bool share, struct arca_err *err)
{
	char cwd[PATH_MAX];
	int r, saved;

	if ((r = arca_vm_set_cpus(vm, CPUS, err)) < 0 ||
	    (r = arca_vm_set_memory_mib(vm, MEMORY_MIB, err)) < 0 ||
	    (r = arca_vm_set_log_fd(vm, STDERR_FILENO, false, err)) < 0 ||
	    (r = configure_from_env(vm, err)) < 0)
		return r;
	if (!share)
		return 0;
	if (!getcwd(cwd, sizeof(cwd))) {
		saved = errno;
		err->code = saved;
		snprintf(err->msg, sizeof(err->msg), "getcwd: %s", strerror(saved));
		return -saved;
	}
	return arca_vm_add_share(vm, cwd, "/work", NULL, 0, err);
}

static void print_result(const struct arca_result *res)
{
	switch (res->kind) {
	case ARCA_RESULT_EXITED:
		fprintf(stderr, "result: exited %d\n", res->value);
		break;
	case ARCA_RESULT_SIGNALED:
		fprintf(stderr, "result: signaled %d\n", res->value);
		break;
	case ARCA_RESULT_TIMED_OUT:
		fprintf(stderr, "result: timed out\n");
		break;
	case ARCA_RESULT_ERROR:
	default:
		fprintf(stderr, "result: error: %s\n", res->err.msg);
		break;
	}
}

int main(int argc, char **argv)
{
	static const char *const default_cmd[] = {
		"sh", "-c", "echo hello from the guest; exit 3", NULL,
	};
	const char *const *cmd = argc > 1 ? (const char *const *)(argv + 1) : default_cmd;
	const char *share_env = getenv("EXAMPLE_SHARE");
	bool share = share_env && strcmp(share_env, "1") == 0;
	struct arca_result res = { .kind = ARCA_RESULT_ERROR, .exit_code = 125 };
	struct arca_err err = { 0 };
	arca_exec *x = NULL;
	arca_vm *vm;

	vm = arca_vm_new(&err);
	if (!vm) {
		fprintf(stderr, "oneshot: %s\n", err.msg);
		return 125;
	}
	if (build_vm(vm, share, &err) < 0 || !(x = arca_exec_new(cmd, &err)) ||
	    (share && arca_exec_set_workdir(x, "/work", &err) < 0)) {
		fprintf(stderr, "oneshot: %s\n", err.msg);
		goto out;
	}

	/* res is filled whatever happens; a failure of arca itself is
	 * res.kind == ARCA_RESULT_ERROR (exit_code 125), so the return value
	 * adds nothing here. */
	arca_vm_run(vm, x, &res, &err);
	print_result(&res);
out:
	if (x)
		arca_exec_free(x);
	arca_vm_free(vm);
	return res.exit_code;
}
