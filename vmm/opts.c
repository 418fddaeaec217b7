/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arca/limits.h"
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

/* "FD,OPT,OPT,...": the fd into *fd, then each OPT to opt(ctx, OPT), which
 * returns 0 or -EINVAL. -EINVAL for a bad fd or value, or one too long. */
static int parse_fd_opts(const char *val, int *fd, int (*opt)(void *ctx, const char *tok),
			 void *ctx)
{
	char buf[128];
	if (strlen(val) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, val);
	char *save = NULL;
	char *tok = strtok_r(buf, ",", &save);
	uint64_t v;
	if (!tok || parse_uint(tok, 1 << 20, &v) < 0)
		return -EINVAL;
	*fd = (int)v;
	while ((tok = strtok_r(NULL, ",", &save)) != NULL)
		if (opt(ctx, tok) < 0)
			return -EINVAL;
	return 0;
}

/* --fs=FD,tag=NAME[,ro][,ids=passthrough][,writeback][,direct] */
static int fs_opt(void *ctx, const char *tok)
{
	struct vmm_fs_opt *f = ctx;
	if (!strncmp(tok, "tag=", 4)) {
		size_t n = strlen(tok + 4);
		if (n == 0 || n > 36)
			return -EINVAL;
		memcpy(f->tag, tok + 4, n + 1);
	} else if (!strcmp(tok, "ro")) {
		f->read_only = true;
	} else if (!strcmp(tok, "ids=passthrough")) {
		f->ids_passthrough = true;
	} else if (!strcmp(tok, "writeback")) {
		f->writeback = true;
	} else if (!strcmp(tok, "direct")) {
		f->direct_io = true;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int parse_fs(const char *val, struct vmm_fs_opt *f)
{
	memset(f, 0, sizeof(*f));
	f->dir_fd = -1;
	if (parse_fd_opts(val, &f->dir_fd, fs_opt, f) < 0)
		return -EINVAL;
	return f->tag[0] ? 0 : -EINVAL;
}

/* --blk=FD[,ro][,id=ID][,direct][,nosync][,ephemeral][,queues=N] */
static int blk_opt(void *ctx, const char *tok)
{
	struct vmm_blk_opt *b = ctx;
	uint64_t v;
	if (!strncmp(tok, "id=", 3)) {
		size_t n = strlen(tok + 3);
		if (n == 0 || n > VMM_BLK_ID_MAX)
			return -EINVAL;
		memcpy(b->id, tok + 3, n + 1);
	} else if (!strncmp(tok, "queues=", 7)) {
		if (parse_uint(tok + 7, VMM_BLK_MAX_QUEUES, &v) < 0 || v == 0)
			return -EINVAL;
		b->queues = (unsigned)v;
	} else if (!strcmp(tok, "ro")) {
		b->read_only = true;
	} else if (!strcmp(tok, "ephemeral")) {
		b->ephemeral = true;
	} else if (!strcmp(tok, "direct")) {
		b->direct = true;
	} else if (!strcmp(tok, "nosync")) {
		b->nosync = true;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int parse_blk(const char *val, struct vmm_blk_opt *b)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->queues = 1;
	if (parse_fd_opts(val, &b->fd, blk_opt, b) < 0)
		return -EINVAL;
	/* A read-only disk cannot be ephemeral: there is nothing to absorb. */
	return b->read_only && b->ephemeral ? -EINVAL : 0;
}

/* --net=FD[,mac=XX:XX:XX:XX:XX:XX][,mtu=N][,backend=tap|stream]: 0, or -EINVAL
 * with *why set. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = p[j];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				return -EINVAL;
			v = v * 16 + (unsigned)d;
		}
		if (p[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)v;
	}
	/* A guest's source address: unicast (bit 0 of the first octet clear)
	 * and not all zeroes. */
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

struct net_ctx {
	struct vmm_net_opt *n;
	const char *why;
};

static int net_opt(void *ctx, const char *tok)
{
	struct net_ctx *c = ctx;
	uint64_t v;
	if (!strncmp(tok, "mac=", 4)) {
		if (parse_mac(tok + 4, c->n->mac) < 0) {
			c->why = "mac= wants a unicast XX:XX:XX:XX:XX:XX";
			return -EINVAL;
		}
	} else if (!strncmp(tok, "mtu=", 4)) {
		if (parse_uint(tok + 4, 65535, &v) < 0 || v < 68) {
			c->why = "mtu= wants 68..65535";
			return -EINVAL;
		}
		c->n->mtu = (uint16_t)v;
	} else if (!strncmp(tok, "backend=", 8)) {
		if (!strcmp(tok + 8, "tap")) {
			c->n->backend = VMM_NET_TAP;
		} else if (!strcmp(tok + 8, "stream")) {
			c->n->backend = VMM_NET_STREAM;
		} else {
			c->why = "backend= wants tap or stream";
			return -EINVAL;
		}
	} else {
		c->why = "unknown option (FD[,mac=XX:XX:XX:XX:XX:XX][,mtu=N][,backend=tap|stream])";
		return -EINVAL;
	}
	return 0;
}

static int parse_net(const char *val, struct vmm_net_opt *n, const char **why)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct net_ctx c = { n, "wants FD[,mac=XX:XX:XX:XX:XX:XX][,mtu=N][,backend=tap|stream]" };
	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->mtu = 1500;
	n->backend = VMM_NET_TAP;
	memcpy(n->mac, mac, sizeof(mac));
	*why = c.why;
	if (parse_fd_opts(val, &n->fd, net_opt, &c) < 0) {
		*why = c.why;
		return -EINVAL;
	}
	return 0;
}

int vmm_opts_parse(int argc, char *const argv[], struct vmm_opts *o, struct arca_err *e)
{
	memset(o, 0, sizeof(*o));
	o->kvm_fd = o->kernel_fd = o->proc_fd = o->result_fd = o->log_fd = -1;
	o->snapshot_fd = o->restore_fd = o->spec_fd = -1;
	o->stop_timeout_ms = ARCA_STOP_TIMEOUT_DEFAULT_MS;
	o->host_uid = (uint32_t)getuid();
	o->host_gid = (uint32_t)getgid();
	o->cpus = 1;
	o->memory_mib = 512;
	o->fs_max_fds = ARCA_FS_MAX_FDS;

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
		} else if (IS("--tty") && !val) {
			o->tty = true;
		} else if (IS("--timings") && !val) {
			o->timings = true;
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
		} else if (IS("--fs")) {
			if (o->nfs >= VMM_MAX_FS)
				return arca_error(e, E2BIG, "arca-vmm: too many --fs devices");
			if (parse_fs(val, &o->fs[o->nfs]) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --fs '%s'", val);
			o->nfs++;
		} else if (IS("--blk")) {
			if (o->nblk >= VMM_MAX_BLK)
				return arca_error(e, E2BIG, "arca-vmm: too many --blk disks");
			if (parse_blk(val, &o->blk[o->nblk]) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --blk '%s'", val);
			o->nblk++;
		} else if (IS("--net")) {
			const char *why;
			if (o->nnet >= VMM_MAX_NET)
				return arca_error(e, E2BIG, "arca-vmm: too many --net devices (at most %d)",
						  VMM_MAX_NET);
			if (parse_net(val, &o->net[o->nnet], &why) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --net '%s': %s", val, why);
			o->nnet++;
		} else if (IS("--proc-fd")) {
			if (parse_uint(val, 1 << 20, &v) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --proc-fd '%s'", val);
			o->proc_fd = (int)v;
		} else if (IS("--result-fd")) {
			if (parse_uint(val, 1 << 20, &v) < 0 || v < 3)
				return arca_error(e, EINVAL, "arca-vmm: bad --result-fd '%s'", val);
			o->result_fd = (int)v;
		} else if (IS("--snapshot-fd") || IS("--restore-fd") || IS("--spec-fd")) {
			if (parse_uint(val, 1 << 20, &v) < 0 || v < 3)
				return arca_error(e, EINVAL, "arca-vmm: bad fd in '%s'", a);
			if (IS("--snapshot-fd"))
				o->snapshot_fd = (int)v;
			else if (IS("--restore-fd"))
				o->restore_fd = (int)v;
			else
				o->spec_fd = (int)v;
		} else if (IS("--log-fd")) {
			if (parse_uint(val, 1 << 20, &v) < 0 || v < 3)
				return arca_error(e, EINVAL, "arca-vmm: bad --log-fd '%s'", val);
			o->log_fd = (int)v;
		} else if (IS("--cpus")) {
			if (parse_uint(val, 64, &v) < 0 || v == 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --cpus '%s'", val);
			o->cpus = (unsigned)v;
		} else if (IS("--memory-mib")) {
			if (parse_uint(val, 1 << 20, &v) < 0 || v < 64)
				return arca_error(e, EINVAL, "arca-vmm: bad --memory-mib '%s'", val);
			o->memory_mib = v;
		} else if (IS("--fs-max-fds")) {
			/* The launcher sizes this from the RLIMIT_NOFILE it could set. */
			if (parse_uint(val, ARCA_FS_MAX_FDS, &v) < 0 || v < ARCA_FS_MIN_FDS)
				return arca_error(e, EINVAL, "arca-vmm: bad --fs-max-fds '%s'", val);
			o->fs_max_fds = (uint32_t)v;
		} else if (IS("--winsize")) {
			/* ROWSxCOLS, each 0..65535 (struct winsize's fields). */
			char rbuf[8];
			const char *x = strchr(val, 'x');
			uint64_t rows, cols;
			if (!x || (size_t)(x - val) >= sizeof(rbuf))
				return arca_error(e, EINVAL, "arca-vmm: bad --winsize '%s'", val);
			memcpy(rbuf, val, (size_t)(x - val));
			rbuf[x - val] = 0;
			if (parse_uint(rbuf, 65535, &rows) < 0 || parse_uint(x + 1, 65535, &cols) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --winsize '%s'", val);
			o->rows = (uint16_t)rows;
			o->cols = (uint16_t)cols;
		} else if (IS("--stop-timeout-ms")) {
			if (parse_uint(val, 3600000u, &v) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --stop-timeout-ms '%s'", val);
			o->stop_timeout_ms = (uint32_t)v;
		} else if (IS("--launch-ns")) {
			if (parse_uint(val, UINT64_MAX, &v) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --launch-ns '%s'", val);
			o->launch_ns = v;
		} else if (IS("--boot-timeout-ms")) {
			if (parse_uint(val, UINT32_MAX, &v) < 0)
				return arca_error(e, EINVAL, "arca-vmm: bad --boot-timeout-ms '%s'", val);
			o->boot_timeout_ms = (uint32_t)v;
		} else {
			return arca_error(e, EINVAL, "arca-vmm: unknown argument '%s'", a);
		}
#undef IS
	}
	if (o->kvm_fd < 0 || o->kernel_fd < 0 || !o->cmdline)
		return arca_error(e, EINVAL,
				  "arca-vmm: --kvm-fd, --kernel-fd and --cmdline are required "
				  "(arca-vmm is started by arca, not by hand)");
	/* A warm-capable guest has no spec in its initrd: it waits for it on
	 * the control channel, after the snapshot point. */
	if ((o->snapshot_fd >= 0 || o->restore_fd >= 0) && o->spec_fd < 0)
		return arca_error(e, EINVAL, "arca-vmm: --snapshot-fd and --restore-fd need --spec-fd");
	if (o->snapshot_fd >= 0 && o->restore_fd >= 0)
		return arca_error(e, EINVAL, "arca-vmm: --snapshot-fd and --restore-fd exclude each other");
	if ((o->snapshot_fd >= 0 || o->restore_fd >= 0) && o->nblk)
		return arca_error(e, EINVAL, "arca-vmm: snapshots do not support --blk disks yet");
	if ((o->snapshot_fd >= 0 || o->restore_fd >= 0) && o->nnet)
		return arca_error(e, EINVAL, "arca-vmm: --net does not work with --snapshot-fd or "
				  "--restore-fd (warm starts have no network device yet)");
	return 0;
}
