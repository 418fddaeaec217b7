/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int vmm_opts_parse(int argc, char *const argv[], struct vmm_opts *o, struct arca_err *e)
{
	memset(o, 0, sizeof(*o));
	o->kvm_fd = o->kernel_fd = -1;
	o->cpus = 1;
	o->memory_mib = 512;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		const char *val = eq ? eq + 1 : NULL;
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		uint64_t v;
#define IS(name) (nlen == strlen(name) && !strncmp(a, name, nlen))
		if (IS("--console") && !val) {
			o->console = true;
		} else if (IS("--verbose") && !val) {
			o->verbose = o->console = true;
		} else if (!val) {
			return arca_error(e, EINVAL, "arca-vmm: unknown argument '%s'", a);
		} else if (IS("--cmdline")) {
			o->cmdline = val;
		} else if (IS("--kvm-fd") || IS("--kernel-fd") || IS("--initrd-fd")) {
			if (parse_uint(val, 1 << 20, &v) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad fd in '%s'", a);
			if (IS("--kvm-fd"))
				o->kvm_fd = (int)v;
			else if (IS("--kernel-fd"))
				o->kernel_fd = (int)v;
			else if (o->ninitrd < VMM_MAX_INITRDS)
				o->initrd_fd[o->ninitrd++] = (int)v;
			else
				return arca_error(e, E2BIG, "arca-vmm: too many initrds");
		} else if (IS("--cpus")) {
			if (parse_uint(val, 64, &v) < 0 || v == 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --cpus '%s'", val);
			o->cpus = (unsigned)v;
		} else if (IS("--memory-mib")) {
			if (parse_uint(val, 1 << 20, &v) < 0 || v < 64)
				return arca_error(e, EINVAL, "arca-vmm: bad --memory-mib '%s'", val);
			o->memory_mib = v;
		} else {
			return arca_error(e, EINVAL, "arca-vmm: unknown argument '%s'", a);
		}
#undef IS
	}
	if (o->kvm_fd < 0 || o->kernel_fd < 0 || !o->cmdline)
		return arca_error(e, EINVAL,
				  "arca-vmm: --kvm-fd, --kernel-fd and --cmdline are required "
				  "(arca-vmm is started by arca, not by hand)");
	return 0;
}
