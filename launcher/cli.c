/* SPDX-License-Identifier: MIT */
/*
 * `arca` command-line parser. Pure: no I/O, no syscalls besides getenv().
 *
 * Not getopt_long(): getopt permutes argv (it would take `ls -l`'s -l as an
 * arca option), accepts abbreviations (`--mem` today breaks when `--memfd`
 * is added tomorrow) and keeps global state that tests cannot reset. The
 * rules here follow docker's: the first non-option argument, or everything
 * after `--`, is the command; long options are exact, as `--opt V` or
 * `--opt=V`; short ones as `-o V`, `-oV` or `-o=V`; a repeated option's
 * last value wins, except -e which accumulates.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "arca/limits.h"
#include "cli.h"
#include "spec.h"
#include "config.h"
#include "privsep.h"
#include "quote.h"
#include "sbstate.h"

#define CMD_BIT(c)  (1u << (c))
#define CMDS_RUN    CMD_BIT(ARCA_CMD_RUN)
#define CMDS_PREP   CMD_BIT(ARCA_CMD_PREPARE)
#define CMDS_DOCTOR CMD_BIT(ARCA_CMD_DOCTOR)
#define CMDS_START  CMD_BIT(ARCA_CMD_START)
#define CMDS_EXEC   CMD_BIT(ARCA_CMD_EXEC)
#define CMDS_STOP   CMD_BIT(ARCA_CMD_STOP)
/* What configures a VM: run and start both. */
#define CMDS_VM     (CMDS_RUN | CMDS_START)
#define CMDS_ALL    (CMD_BIT(ARCA_CMD_RUN) | CMD_BIT(ARCA_CMD_PREPARE) | \
		     CMD_BIT(ARCA_CMD_VERSION) | CMD_BIT(ARCA_CMD_HELP) | \
		     CMD_BIT(ARCA_CMD_GC) | CMD_BIT(ARCA_CMD_DOCTOR) | \
		     CMDS_START | CMDS_EXEC | CMD_BIT(ARCA_CMD_LS) | CMDS_STOP | \
		     CMD_BIT(ARCA_CMD_KILL) | CMD_BIT(ARCA_CMD_LOGS))

struct cli_option;

/* An option handler stores `val` (NULL for options without a value) into
 * *o. Returns 0, CLI_STOP to end parsing successfully (--help), or a
 * negative errno with *e filled. */
typedef int (*cli_handler)(struct arca_opts *o, const struct cli_option *opt,
			   const char *val, struct arca_err *e);
#define CLI_STOP 1

struct cli_option {
	const char *name;    /* long name without "--" */
	char short_name;     /* 0: none */
	unsigned cmds;       /* CMD_BIT()s of the commands that accept it */
	const char *metavar; /* NULL: a flag without a value */
	const char *help;    /* NULL: not listed per command (--help) */
	cli_handler handler;
	size_t off;          /* field of struct arca_opts for generic handlers */
	unsigned min, max;   /* range for opt_uint */
};

/* ---- strict number parsing --------------------------------------------- */

/* Decimal digits only: no sign, no whitespace, no base prefix (strtoul
 * accepts all three and wraps "-1" to ULONG_MAX). Stops at the first
 * non-digit; *end points there. -EINVAL without digits, -ERANGE on
 * overflow. */
static int parse_dec(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -ERANGE;
	}
	if (p == s)
		return -EINVAL;
	*out = v;
	*end = p;
	return 0;
}

static unsigned *field_uint(struct arca_opts *o, const struct cli_option *opt)
{
	return (unsigned *)((char *)o + opt->off);
}

/* ---- generic handlers -------------------------------------------------- */

static int opt_flag(struct arca_opts *o, const struct cli_option *opt,
		    const char *val, struct arca_err *e)
{
	*(bool *)((char *)o + opt->off) = true;
	return 0;
}

/* The --no-X of a default-off flag --X: the last of the two wins. */
static int opt_unflag(struct arca_opts *o, const struct cli_option *opt,
		      const char *val, struct arca_err *e)
{
	*(bool *)((char *)o + opt->off) = false;
	return 0;
}

static int opt_uint(struct arca_opts *o, const struct cli_option *opt,
		    const char *val, struct arca_err *e)
{
	struct quoted q;
	const char *end;
	uint64_t v;

	if (parse_dec(val, &v, &end) < 0 || *end || v < opt->min || v > opt->max)
		return arca_error(e, EINVAL,
				  "invalid --%s value '%s': must be an integer from %u to %u",
				  opt->name, quote(&q, val), opt->min, opt->max);
	*field_uint(o, opt) = (unsigned)v;
	return 0;
}

static int opt_string(struct arca_opts *o, const struct cli_option *opt,
		      const char *val, struct arca_err *e)
{
	if (!*val)
		return arca_error(e, EINVAL, "--%s must not be empty", opt->name);
	*(const char **)((char *)o + opt->off) = val;
	return 0;
}

static int opt_help(struct arca_opts *o, const struct cli_option *opt,
		    const char *val, struct arca_err *e)
{
	o->cmd = ARCA_CMD_HELP;
	return CLI_STOP;
}

/* ---- option-specific handlers ------------------------------------------ */

/* MiB, with "M"/"MiB" or "G"/"GiB" (any case) accepted for convenience;
 * both are binary units, as in docker's --memory. */
static int opt_memory(struct arca_opts *o, const struct cli_option *opt,
		      const char *val, struct arca_err *e)
{
	static const struct { const char *sfx; unsigned mul; } units[] = {
		{ "", 1 }, { "m", 1 }, { "mib", 1 }, { "g", 1024 }, { "gib", 1024 },
	};
	struct quoted q;
	const char *end;
	uint64_t v;
	size_t i;

	if (parse_dec(val, &v, &end) < 0)
		goto bad;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcasecmp(end, units[i].sfx))
			break;
	if (i == ARRAY_SIZE(units) ||
	    __builtin_mul_overflow(v, units[i].mul, &v) ||
	    v < ARCA_MEMORY_MIN_MIB || v > ARCA_MEMORY_MAX_MIB)
		goto bad;
	o->memory_mib = (unsigned)v;
	return 0;
bad:
	return arca_error(e, EINVAL,
			  "invalid --memory value '%s': must be an integer number of MiB from %u to %u (or with a G suffix)",
			  quote(&q, val), ARCA_MEMORY_MIN_MIB, ARCA_MEMORY_MAX_MIB);
}

/* Seconds as "N" or "N.F" with up to three decimals, in ms. Not strtod():
 * it takes "inf", "nan", "1e9", hex floats and the locale's decimal point,
 * and binary floats cannot hold 0.1 exactly. -EINVAL unless it is such a
 * number whose whole seconds are 0 to max_s. */
static int parse_seconds(const char *val, uint64_t max_s, uint64_t *out_ms)
{
	const char *end, *frac;
	uint64_t sec, ms = 0;
	unsigned scale = 100, digits = 0;

	if (parse_dec(val, &sec, &end) < 0 || sec > max_s)
		return -EINVAL;
	if (*end == '.') {
		for (frac = end + 1; *frac >= '0' && *frac <= '9'; frac++) {
			if (++digits > 3)
				return -EINVAL;
			ms += (uint64_t)(*frac - '0') * scale;
			scale /= 10;
		}
		if (!digits)
			return -EINVAL;
		end = frac;
	}
	if (*end)
		return -EINVAL;
	/* sec <= 2^31 - 1, so this cannot overflow 64 bits. */
	ms += sec * 1000;
	*out_ms = ms;
	return 0;
}

static int opt_timeout(struct arca_opts *o, const struct cli_option *opt,
		       const char *val, struct arca_err *e)
{
	struct quoted q;
	uint64_t ms;

	if (parse_seconds(val, ARCA_TIMEOUT_MAX_S, &ms) < 0 || !ms)
		return arca_error(e, EINVAL,
				  "invalid --timeout value '%s': must be a number of seconds from 0.001 to %llu, at most 3 decimals",
				  quote(&q, val), (unsigned long long)ARCA_TIMEOUT_MAX_S);
	o->timeout_ms = ms;
	return 0;
}

/* --boot-timeout and --stop-timeout: seconds (at most 3 decimals) from 0 to
 * max_s into *ms; zero says what 0 means, for the message. */
static int opt_seconds(const char *name, const char *zero, uint64_t max_s, const char *val,
		       uint64_t *ms, struct arca_err *e)
{
	struct quoted q;

	if (parse_seconds(val, max_s, ms) < 0)
		return arca_error(e, EINVAL,
				  "invalid --%s value '%s': must be a number of seconds from 0%s to %llu, at most 3 decimals",
				  name, quote(&q, val), zero, (unsigned long long)max_s);
	return 0;
}

/* 0 turns the deadline off (a guest kernel under a debugger, say). */
static int opt_boot_timeout(struct arca_opts *o, const struct cli_option *opt,
			    const char *val, struct arca_err *e)
{
	return opt_seconds("boot-timeout", " (no deadline)", ARCA_BOOT_TIMEOUT_MAX_S, val,
			   &o->boot_timeout_ms, e);
}

static int opt_stop_timeout(struct arca_opts *o, const struct cli_option *opt,
			    const char *val, struct arca_err *e)
{
	return opt_seconds("stop-timeout", "", ARCA_STOP_TIMEOUT_MAX_S, val, &o->stop_timeout_ms, e);
}

/* Kernel command-line text: printable ASCII (the kernel's parser takes
 * spaces and quotes), and never an init of its own: arca-init must be the
 * guest's PID 1 or nothing of the run works. */
static int kernel_text_check(const char *what, const char *val, struct arca_err *e)
{
	struct quoted q;
	if (!*val)
		return arca_error(e, EINVAL, "%s must not be empty", what);
	for (const char *c = val; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return arca_error(e, EINVAL, "%s '%s': only printable ASCII is allowed", what,
					  quote(&q, val));
	for (const char *c = val; *c; c++) {
		if (c != val && c[-1] != ' ')
			continue;
		if (!strncmp(c, "init=", 5) || !strncmp(c, "rdinit=", 7))
			return arca_error(e, EINVAL,
					  "%s '%s': arca-init must be the guest's init (no init= or rdinit=)",
					  what, quote(&q, val));
	}
	if (strlen(val) > ARCA_CMDLINE_MAX)
		return arca_error(e, E2BIG, "%s is longer than the kernel's %d bytes", what,
				  ARCA_CMDLINE_MAX);
	return 0;
}

static int opt_kernel_arg(struct arca_opts *o, const struct cli_option *opt,
			  const char *val, struct arca_err *e)
{
	int r = kernel_text_check("--kernel-arg", val, e);
	if (r < 0)
		return r;
	if (o->nkernel_args == ARCA_KERNEL_ARGS_MAX)
		return arca_error(e, E2BIG, "too many --kernel-arg (at most %d)", ARCA_KERNEL_ARGS_MAX);
	o->kernel_args[o->nkernel_args++] = val;
	return 0;
}

static int opt_cmdline(struct arca_opts *o, const struct cli_option *opt,
		       const char *val, struct arca_err *e)
{
	int r = kernel_text_check("--cmdline", val, e);
	if (r < 0)
		return r;
	o->cmdline = val;
	return 0;
}

static int opt_workdir(struct arca_opts *o, const struct cli_option *opt,
		       const char *val, struct arca_err *e)
{
	struct quoted q;

	/* Relative paths would be resolved against whatever cwd init happens
	 * to have, which is not the host's: refuse instead of guessing. */
	if (val[0] != '/')
		return arca_error(e, EINVAL, "--workdir must be an absolute path: '%s'",
				  quote(&q, val));
	if (strlen(val) > ARCA_WORKDIR_MAX)
		return arca_error(e, EINVAL, "--workdir is longer than %u bytes: '%s'",
				  ARCA_WORKDIR_MAX, quote(&q, val));
	o->workdir = val;
	return 0;
}

static int opt_share(struct arca_opts *o, const struct cli_option *opt,
		     const char *val, struct arca_err *e)
{
	return shares_add_volume(&o->shares, val, e);
}

static int opt_fs_device(struct arca_opts *o, const struct cli_option *opt,
			 const char *val, struct arca_err *e)
{
	return shares_add_device(&o->shares, val, e);
}

static int opt_disk(struct arca_opts *o, const struct cli_option *opt,
		    const char *val, struct arca_err *e)
{
	return disks_add(&o->disks, val, e);
}

/* Two ways to say what / is: refuse the pair rather than pick one. */
static int root_conflict(struct arca_err *e)
{
	return arca_error(e, EINVAL, "--root-disk and --root cannot be used together");
}

static int opt_root_disk(struct arca_opts *o, const struct cli_option *opt,
			 const char *val, struct arca_err *e)
{
	if (o->root || o->root_initrd)
		return root_conflict(e);
	return disks_set_root(&o->disks, val, e);
}

static int opt_root(struct arca_opts *o, const struct cli_option *opt,
		    const char *val, struct arca_err *e)
{
	size_t n = strlen(val);
	if (o->disks.has_root)
		return root_conflict(e);
	o->root_rw = false;
	o->root_initrd = false;
	if (!strcmp(val, "initrd")) {
		o->root_initrd = true;
		o->root = NULL;
		return 0;
	}
	if (n > 3 && !strcmp(val + n - 3, ":rw")) {
		o->root_rw = true;
		n -= 3;
	}
	if (n == 0)
		return arca_error(e, EINVAL, "--root needs a directory");
	free(o->root_buf);
	o->root_buf = strndup(val, n);
	if (!o->root_buf)
		return arca_error(e, ENOMEM, "out of memory");
	o->root = o->root_buf;
	return 0;
}

/* Numeric only: a name lookup reads /etc/passwd or NSS, which is I/O the
 * parser does not do, and a name resolved differently later would be a
 * surprise in a security setting. */
static int opt_vmm_user(struct arca_opts *o, const struct cli_option *opt,
			const char *val, struct arca_err *e)
{
	struct quoted q;

	if (privsep_parse_user(val, &o->vmm_uid, &o->vmm_gid) < 0)
		return arca_error(e, EINVAL,
				  "invalid --vmm-user value '%s': must be UID or UID:GID, numeric, neither 0",
				  quote(&q, val));
	return 0;
}

/* --config FILE: noted here, read by cli_parse before the flags apply. */
static int opt_config(struct arca_opts *o, const struct cli_option *opt,
		      const char *val, struct arca_err *e)
{
	if (!val[0])
		return arca_error(e, EINVAL, "empty --config value");
	if (!o->config_path)
		o->config_path = val;
	return 0;
}

static int opt_name(struct arca_opts *o, const struct cli_option *opt,
		    const char *val, struct arca_err *e)
{
	struct quoted q;

	if (!sandbox_name_ok(val))
		return arca_error(e, EINVAL,
				  "invalid sandbox name '%s': 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
				  quote(&q, val));
	o->name = val;
	return 0;
}

/* exec -u UID[:GID]: numeric, 0 allowed (root in the guest is no one on
 * the host); GID defaults to UID. */
static int opt_user(struct arca_opts *o, const struct cli_option *opt,
		    const char *val, struct arca_err *e)
{
	struct quoted q;
	uint64_t u, g = 0;
	const char *end;

	if (parse_dec(val, &u, &end) < 0 || u > UINT32_MAX - 1 ||
	    (*end && (*end != ':' || parse_dec(end + 1, &g, &end) < 0 || *end ||
		      g > UINT32_MAX - 1)))
		return arca_error(e, EINVAL,
				  "invalid --user value '%s': must be UID or UID:GID, numeric",
				  quote(&q, val));
	if (!strchr(val, ':'))
		g = u;
	o->has_user = true;
	o->user_uid = (uint32_t)u;
	o->user_gid = (uint32_t)g;
	return 0;
}

/* One --ulimit value: a decimal integer or "unlimited". */
static int parse_rlim(const char *v, size_t len, uint64_t *out)
{
	const char *end;

	if (len == 9 && !memcmp(v, "unlimited", 9)) {
		*out = ARCA_RLIM_INFINITY;
		return 0;
	}
	if (parse_dec(v, out, &end) < 0 || (size_t)(end - v) != len)
		return -EINVAL;
	return 0;
}

/* --ulimit NAME=SOFT[:HARD], docker's syntax and names; HARD defaults to
 * SOFT. Checked here as the guest's decoder will (spec_rlimit_ok), so a
 * bad limit is a message before anything boots; whether the kernel takes
 * it (a hard limit above fs.nr_open, say) only the guest can tell. */
/* --cap-mask BND,EFF,PRM,INH,AMB: five hexadecimal capability masks (bit
 * N = capability N), as the OCI runtime passes process.capabilities; the
 * same rules the guest applies (spec_caps_ok), checked here with a
 * message. */
static int opt_cap_mask(struct arca_opts *o, const struct cli_option *opt, const char *val,
			struct arca_err *e)
{
	struct quoted q;
	const char *p = val;
	(void)opt;
	for (int i = 0; i < 5; i++) {
		char *end;
		if (!isxdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 16);
		if (errno || end - p > 16 || (*end != (i < 4 ? ',' : '\0')))
			goto bad;
		o->caps[i] = v;
		p = end + (i < 4);
	}
	struct arca_spec_caps c = { ARCA_CAPS_F_SET, o->caps[0], o->caps[1], o->caps[2], o->caps[3],
				    o->caps[4] };
	if (spec_caps_ok(&c) < 0)
		return arca_error(e, EINVAL, "--cap-mask '%s': capabilities 0..%d only; effective "
				  "within permitted; ambient within permitted and inheritable",
				  quote(&q, val), ARCA_CAP_LAST);
	o->has_caps = true;
	return 0;
bad:
	return arca_error(e, EINVAL, "--cap-mask '%s': five hexadecimal masks "
			  "BOUNDING,EFFECTIVE,PERMITTED,INHERITABLE,AMBIENT", quote(&q, val));
}

static int opt_ulimit(struct arca_opts *o, const struct cli_option *opt,
		      const char *val, struct arca_err *e)
{
	struct quoted q;
	const char *eq = strchr(val, '='), *colon;
	struct arca_spec_rlimit rl;
	size_t i;

	if (!eq)
		return arca_error(e, EINVAL,
				  "invalid --ulimit value '%s': must be NAME=SOFT[:HARD]",
				  quote(&q, val));
	int res = spec_rlimit_lookup(val, (size_t)(eq - val));
	if (res < 0)
		return arca_error(e, EINVAL,
				  "invalid --ulimit name '%s': one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack, as",
				  quoten(&q, val, (size_t)(eq - val)));
	rl.resource = (uint32_t)res;
	const char *soft = eq + 1, *hard = soft;
	size_t soft_len = strlen(soft);
	colon = strchr(soft, ':');
	if (colon) {
		soft_len = (size_t)(colon - soft);
		hard = colon + 1;
	}
	if (parse_rlim(soft, soft_len, &rl.soft) < 0 || parse_rlim(hard, strlen(hard), &rl.hard) < 0)
		return arca_error(e, EINVAL,
				  "invalid --ulimit value '%s': SOFT and HARD must be decimal integers or 'unlimited'",
				  quote(&q, val));
	if (!spec_rlimit_ok(&rl))
		return arca_error(e, EINVAL,
				  "invalid --ulimit value '%s': the soft limit is above the hard limit",
				  quote(&q, val));
	for (i = 0; i < o->nrlimits && o->rlimits[i].resource != rl.resource; i++)
		;
	if (i < o->nrlimits) {
		uint32_t bit = 1u << rl.resource;
		/* The command line overrides the config file, once. */
		if (!(o->rlimits_from_config & bit))
			return arca_error(e, EINVAL, "--ulimit %s given twice ('%s')",
					  spec_rlimit_name(rl.resource), quote(&q, val));
		o->rlimits_from_config &= ~bit;
		o->rlimits[i] = rl;
		return 0;
	}
	/* Unreachable with ARCA_RLIMITS_MAX == RLIM_NLIMITS and each name
	 * once; kept so the array bound never rests on that equality. */
	if (o->nrlimits == ARCA_RLIMITS_MAX)
		return arca_error(e, E2BIG, "too many --ulimit (at most %d): '%s'",
				  ARCA_RLIMITS_MAX, quote(&q, val));
	o->rlimits[o->nrlimits++] = rl;
	return 0;
}

/* POSIX portable environment name: [A-Za-z_][A-Za-z0-9_]*. Stricter than
 * what execve() allows, but a name with '=' or a leading digit cannot be
 * read back by a shell and is almost always a typo. */
static bool env_name_valid(const char *s, size_t len)
{
	size_t i;

	if (!len || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Take ownership of `kv` ("NAME=VALUE", name `nlen` bytes): replace an
 * earlier entry for the same name, else append. */
static int env_put(struct arca_opts *o, char *kv, size_t nlen, struct arca_err *e)
{
	char **env;
	size_t i;

	for (i = 0; i < o->envc; i++) {
		if (!strncmp(o->env[i], kv, nlen) && o->env[i][nlen] == '=') {
			free(o->env[i]);
			o->env[i] = kv;
			return 0;
		}
	}
	/* envc + 2: the new entry and the terminating NULL. */
	env = reallocarray(o->env, o->envc + 2, sizeof(*env));
	if (!env) {
		free(kv);
		return arca_error(e, ENOMEM, "out of memory");
	}
	env[o->envc++] = kv;
	env[o->envc] = NULL;
	o->env = env;
	return 0;
}

static int opt_env(struct arca_opts *o, const struct cli_option *opt,
		   const char *val, struct arca_err *e)
{
	struct quoted q;
	const char *eq = strchr(val, '='), *hostval = NULL;
	size_t nlen = eq ? (size_t)(eq - val) : strlen(val), vlen, size;
	char *kv;

	if (!env_name_valid(val, nlen))
		return arca_error(e, EINVAL,
				  "invalid --env value '%s': must be NAME=VALUE or NAME, NAME made of letters, digits and '_', not starting with a digit",
				  quote(&q, val));
	if (!eq) {
		/* docker: `-e NAME` passes the host's value, and nothing at
		 * all when the host has none. */
		hostval = getenv(val);
		if (!hostval)
			return 0;
		vlen = strlen(hostval);
	} else {
		vlen = strlen(eq + 1);
	}
	/* name '=' value NUL */
	if (__builtin_add_overflow(nlen, vlen, &size) ||
	    __builtin_add_overflow(size, 2, &size))
		return arca_error(e, ENOMEM, "--env value too long");
	kv = malloc(size);
	if (!kv)
		return arca_error(e, ENOMEM, "out of memory");
	memcpy(kv, val, nlen);
	kv[nlen] = '=';
	memcpy(kv + nlen + 1, eq ? eq + 1 : hostval, vlen);
	kv[nlen + 1 + vlen] = '\0';
	return env_put(o, kv, nlen, e);
}

/* --net MODE (netcfg.h): checked here, so a bad value is one line before
 * anything is set up; given twice, the last one counts. */
static int opt_net(struct arca_opts *o, const struct cli_option *opt, const char *val,
		   struct arca_err *e)
{
	netcfg_init(&o->net);
	return netcfg_parse(&o->net, val, e);
}

/* -p/--publish (netcfg.h), repeatable; that --net allows it is checked
 * once every option is in (final_checks). */
static int opt_publish(struct arca_opts *o, const struct cli_option *opt, const char *val,
		       struct arca_err *e)
{
	return netcfg_add_publish(&o->publish, val, e);
}

/* ---- the option table: one entry per option ----------------------------- */

#define FIELD(f) offsetof(struct arca_opts, f)

static const struct cli_option options[] = {
	{ "cpus", 0, CMDS_VM, "N",
	  "number of vCPUs, 1 to 64 (default 1)",
	  opt_uint, FIELD(cpus), ARCA_CPUS_MIN, ARCA_CPUS_MAX },
	{ "memory", 0, CMDS_VM, "MiB",
	  "guest RAM in MiB, 64 to 65536; 1G = 1024 (default 512)",
	  opt_memory, 0, 0, 0 },
	{ "env", 'e', CMDS_RUN | CMDS_EXEC, "K=V",
	  "set a variable, repeatable; -e K copies the host's K",
	  opt_env, 0, 0, 0 },
	{ "workdir", 'w', CMDS_RUN | CMDS_EXEC, "DIR",
	  "absolute working directory of CMD (default /)",
	  opt_workdir, 0, 0, 0 },
	{ "ulimit", 0, CMDS_RUN | CMDS_EXEC, "NAME=SOFT[:HARD]",
	  "a resource limit for CMD, set in the guest before it starts (repeatable, each NAME once); NAME: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack, as; a number or 'unlimited'; HARD defaults to SOFT",
	  opt_ulimit, 0, 0, 0 },
	{ "cap-mask", 0, CMDS_RUN | CMDS_EXEC, "BND,EFF,PRM,INH,AMB",
	  "CMD's capability sets as hexadecimal masks (bit N = capability N): the bounding set is cut to BND before the uid change, then effective, permitted and inheritable are set and AMB raised (what arca-runtime passes for process.capabilities; default: root's full sets)",
	  opt_cap_mask, 0, 0, 0 },
	{ "no-new-privileges", 0, CMDS_RUN | CMDS_EXEC, NULL,
	  "CMD and its children gain no privilege through execve (setuid bits, file capabilities): PR_SET_NO_NEW_PRIVS",
	  opt_flag, FIELD(no_new_privs), 0, 0 },
	{ "timeout", 0, CMDS_VM, "SECONDS",
	  "stop the VM after SECONDS, e.g. 0.5 (default none)",
	  opt_timeout, 0, 0, 0 },
	{ "stop-timeout", 0, CMDS_VM | CMDS_STOP, "SECONDS",
	  "after a SIGTERM passed on to CMD, stop the VM if CMD still runs SECONDS later (default 10)",
	  opt_stop_timeout, 0, 0, 0 },
	{ "boot-timeout", 0, CMDS_VM, "SECONDS",
	  "stop the VM with exit 125 when the guest's init has not started by then; 0 = never (default 60)",
	  opt_boot_timeout, 0, 0, 0 },
	{ "kernel-arg", 0, CMDS_VM, "ARG",
	  "append ARG to the guest kernel's command line, after arca's defaults (repeatable)",
	  opt_kernel_arg, 0, 0, 0 },
	{ "cmdline", 0, CMDS_VM, "STRING",
	  "the guest kernel's whole command line instead of arca's defaults (rdinit=/init is kept)",
	  opt_cmdline, 0, 0, 0 },
	{ "kernel", 0, CMDS_VM | CMDS_PREP | CMDS_DOCTOR, "PATH",
	  "guest kernel image (default: the one 'make' fetched)",
	  opt_string, FIELD(kernel), 0, 0 },
	{ "tty", 't', CMDS_RUN | CMDS_EXEC, NULL,
	  "give CMD a terminal (a pty in the guest; this terminal in raw mode)",
	  opt_flag, FIELD(tty), 0, 0 },
	{ "interactive", 'i', CMDS_RUN | CMDS_EXEC, NULL,
	  "keep stdin attached (always the case; for docker's -it habit)",
	  opt_flag, FIELD(interactive), 0, 0 },
	{ "verbose", 0, CMDS_VM, NULL,
	  "show the guest kernel log and init diagnostics",
	  opt_flag, FIELD(verbose), 0, 0 },
	{ "timings", 0, CMDS_RUN, NULL,
	  "at the end, print where the run's time went (launcher, kernel, arca-init's steps, CMD, exit) on stderr",
	  opt_flag, FIELD(timings), 0, 0 },
	{ "console", 0, CMDS_RUN, NULL,
	  "show the guest serial console (kernel messages) only",
	  opt_flag, FIELD(console), 0, 0 },
	{ "kaslr", 0, CMDS_VM, NULL,
	  "boot the kernel's bzImage through its own decompressor, which randomizes the guest kernel's base address (KASLR), instead of the copy arca decompressed once into its cache (the default: ~30% faster cold boots, its pages shared between VMs until written)",
	  opt_flag, FIELD(kaslr), 0, 0 },
	{ "no-kaslr", 0, CMDS_VM, NULL,
	  "boot the copy of the kernel arca decompressed once into its cache (the default; undoes an earlier --kaslr)",
	  opt_unflag, FIELD(kaslr), 0, 0 },
	{ "warm", 0, CMDS_VM, NULL,
	  "start from a snapshot of a booted VM of the same configuration in arca's cache (made by the first such run, which boots as usual); not with --disk",
	  opt_flag, FIELD(warm), 0, 0 },
	{ "net", 0, CMDS_VM, "MODE",
	  "the guest's network: none (default: loopback only); nat (outbound IPv4 through NAT, DNS; private ranges, link-local and the host's own addresses refused unless ',allow-private'); allow=DEST[,DEST...] (only these: CIDR[:PORT[/tcp|udp]] or NAME[:PORT[/tcp|udp]], names resolved through arca's relay as the guest asks); ',pool=CIDR' picks the address pool (default " NET_POOL_DEFAULT "); ns=PATH[,dns=IPV4] (the guest takes over the interface of that network namespace, e.g. a pod's); without root only nat,allow-private, through passt",
	  opt_net, 0, 0, 0 },
	{ "publish", 'p', CMDS_VM, "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|udp]",
	  "make the guest's GUESTPORT reachable on the host's HOSTIP:HOSTPORT (default every address) through a proxy in arca's supervisor (passt's forwarding without root); repeatable; needs --net nat or allow=",
	  opt_publish, 0, 0, 0 },
	{ "no-seccomp", 0, CMDS_VM, NULL,
	  "debugging only: run arca-vmm without its seccomp filters (it still runs jailed and unprivileged)",
	  opt_flag, FIELD(no_seccomp), 0, 0 },
	{ "share", 'v', CMDS_VM, "HOST:GUEST[:OPTS]",
	  "share a host directory, mounted at GUEST before CMD starts; OPTS: ro, rw (default), ids=passthrough, cache=auto|writeback|none; repeatable",
	  opt_share, 0, 0, 0 },
	{ "fs-device", 0, CMDS_VM, "HOST[:ro],tag=NAME",
	  "attach a virtio-fs device without mounting it (mount -t virtiofs NAME DIR); repeatable",
	  opt_fs_device, 0, 0, 0 },
	{ "root", 0, CMDS_VM, "DIR[:rw]",
	  "use DIR as the guest's / (read-only under a tmpfs overlay; :rw writes through); 'initrd' for the busybox initramfs (default: the host's /usr, read-only, with a generated /etc)",
	  opt_root, 0, 0, 0 },
	{ "disk", 0, CMDS_VM, "SPEC",
	  "attach a disk image or block device: PATH:GUEST[:OPTS] mounts it at GUEST, PATH[,OPTS] only attaches it (/dev/disk/by-id/virtio-ID); OPTS: ro, ephemeral, id=NAME, cache=writeback|none, sync=full|none, fstype=TYPE; repeatable (up to 8)",
	  opt_disk, 0, 0, 0 },
	{ "root-disk", 0, CMDS_VM, "IMAGE[:rw]",
	  "use a filesystem image as the guest's / (read-only under a tmpfs overlay; :rw writes through)",
	  opt_root_disk, 0, 0, 0 },
	{ "vmm-user", 0, CMDS_VM, "UID[:GID]",
	  "run arca-vmm as these ids when arca runs as root",
	  opt_vmm_user, 0, 0, 0 },
	{ "config", 0, CMDS_VM, "FILE",
	  "take options from a JSON object (keys: these options' long names, and \"command\"); flags given here override it",
	  opt_config, 0, 0, 0 },
	{ "name", 0, CMDS_START, "NAME",
	  "the sandbox's name for exec, stop, kill and logs (required): letters, digits, '_', '.', '-', up to 64",
	  opt_name, 0, 0, 0 },
	{ "user", 'u', CMDS_EXEC, "UID[:GID]",
	  "run CMD with these numeric ids in the guest (default 0:0)",
	  opt_user, 0, 0, 0 },
	{ "json", 0, CMDS_DOCTOR | CMD_BIT(ARCA_CMD_LS), NULL,
	  "print the checks (doctor) or the sandboxes (ls) as JSON",
	  opt_flag, FIELD(json), 0, 0 },
	{ "help", 'h', CMDS_ALL, NULL, NULL, opt_help, 0, 0, 0 },
};

/* ---- commands ---------------------------------------------------------- */

static const struct {
	const char *name;
	enum arca_cmd cmd;
} commands[] = {
	{ "run", ARCA_CMD_RUN },
	{ "prepare", ARCA_CMD_PREPARE },
	{ "gc", ARCA_CMD_GC },
	{ "doctor", ARCA_CMD_DOCTOR },
	{ "start", ARCA_CMD_START },
	{ "exec", ARCA_CMD_EXEC },
	{ "ls", ARCA_CMD_LS },
	{ "stop", ARCA_CMD_STOP },
	{ "kill", ARCA_CMD_KILL },
	{ "logs", ARCA_CMD_LOGS },
	{ "version", ARCA_CMD_VERSION },
	{ "--version", ARCA_CMD_VERSION },
	{ "help", ARCA_CMD_HELP },
	{ "--help", ARCA_CMD_HELP },
	{ "-h", ARCA_CMD_HELP },
};

static const char *cmd_name(enum arca_cmd c)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].cmd == c)
			return commands[i].name;
	return "?";
}

static const struct cli_option *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (strlen(options[i].name) == len &&
		    !memcmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

static const struct cli_option *find_short(char c)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (options[i].short_name && options[i].short_name == c)
			return &options[i];
	return NULL;
}

/*
 * Handle the option in argv[*i] (which starts with '-' and is not "-" or
 * "--"), consuming its value from argv[*i + 1] when it is separate.
 */
static int parse_option(int argc, char *const argv[], int *i,
			struct arca_opts *o, struct arca_err *e)
{
	const char *arg = argv[*i], *val = NULL, *shown;
	const struct cli_option *opt;
	bool attached = false;
	size_t arglen = strlen(arg);
	struct quoted q;
	char spelled[8];

	if (arg[1] == '-') {
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);

		opt = find_long(name, len);
		arglen = len + 2; /* name the option, not its value */
		if (eq) {
			val = eq + 1;
			attached = true;
		}
		shown = NULL; /* "--name" */
	} else {
		opt = find_short(arg[1]);
		/* Flags bundle, as in -it: every letter a flag without a value. */
		if (opt && !opt->metavar && arg[2]) {
			bool all = true;
			for (const char *c = arg + 1; *c && all; c++) {
				const struct cli_option *f = find_short(*c);
				all = f && !f->metavar && (f->cmds & CMD_BIT(o->cmd));
			}
			if (all) {
				for (const char *c = arg + 1; *c; c++) {
					const struct cli_option *f = find_short(*c);
					int r = f->handler(o, f, NULL, e);
					if (r < 0)
						return r;
				}
				return 0;
			}
		}
		if (opt && arg[2]) {
			/* -eK=V, or pflag's -e=K=V */
			val = arg + 2 + (arg[2] == '=');
			attached = true;
			/* -hx is not -h with a value: there is no bundling. */
			if (!opt->metavar)
				opt = NULL;
		}
		snprintf(spelled, sizeof(spelled), "-%c", arg[1]);
		shown = spelled;
	}
	if (!opt)
		return arca_error(e, EINVAL, "unknown option '%s' (see 'arca help')",
				  quoten(&q, arg, arglen));
	if (!(opt->cmds & CMD_BIT(o->cmd)))
		return arca_error(e, EINVAL, "option '%s%s' is not valid for 'arca %s'",
				  shown ? shown : "--", shown ? "" : opt->name,
				  cmd_name(o->cmd));
	if (!opt->metavar && attached)
		return arca_error(e, EINVAL, "option '--%s' takes no value", opt->name);
	if (opt->metavar && !attached) {
		if (*i + 1 >= argc)
			return arca_error(e, EINVAL, "option '%s%s' needs a value",
					  shown ? shown : "--", shown ? "" : opt->name);
		val = argv[++*i];
	}
	return opt->handler(o, opt, val, e);
}

static void opts_init(struct arca_opts *o)
{
	*o = (struct arca_opts){
		.cmd = ARCA_CMD_HELP,
		.cpus = ARCA_CPUS_DEFAULT,
		.memory_mib = ARCA_MEMORY_DEFAULT_MIB,
		.boot_timeout_ms = ARCA_BOOT_TIMEOUT_DEFAULT_MS,
		.stop_timeout_ms = ARCA_STOP_TIMEOUT_DEFAULT_MS,
	};
	netcfg_init(&o->net);
}

/* A positional argument for a command other than run: only `help` takes
 * one, the name of a command (all share one help text). */
static int parse_positional(const char *arg, struct arca_opts *o,
			    bool *seen, struct arca_err *e)
{
	struct quoted q;

	if ((o->cmd == ARCA_CMD_STOP || o->cmd == ARCA_CMD_KILL || o->cmd == ARCA_CMD_LOGS) &&
	    !o->name) {
		if (!sandbox_name_ok(arg))
			return arca_error(e, EINVAL, "invalid sandbox name '%s'", quote(&q, arg));
		o->name = arg;
		return 0;
	}
	if (o->cmd == ARCA_CMD_HELP && !*seen) {
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
			if (!strcmp(commands[i].name, arg)) {
				*seen = true;
				return 0;
			}
		}
		return arca_error(e, EINVAL, "unknown command '%s' (see 'arca help')",
				  quote(&q, arg));
	}
	return arca_error(e, EINVAL, "unexpected argument '%s' after 'arca %s'",
			  quote(&q, arg), cmd_name(o->cmd));
}

static int parse(int argc, char *const argv[], struct arca_opts *o,
		 struct arca_err *e)
{
	struct quoted q;
	bool seen = false, dashdash = false;
	size_t c;
	int i, r;

	if (argc < 2 || !argv[1])
		return arca_error(e, EINVAL,
				  "missing command: try 'arca run [OPTIONS] CMD [ARG...]' or 'arca help'");
	for (c = 0; c < ARRAY_SIZE(commands); c++)
		if (!strcmp(argv[1], commands[c].name))
			break;
	if (c == ARRAY_SIZE(commands))
		return arca_error(e, EINVAL, "unknown %s '%s' (see 'arca help')",
				  argv[1][0] == '-' ? "option" : "command",
				  quote(&q, argv[1]));
	o->cmd = commands[c].cmd;

	for (i = 2; i < argc; i++) {
		const char *arg = argv[i];

		if (!dashdash && !strcmp(arg, "--")) {
			dashdash = true;
			continue;
		}
		if (!dashdash && arg[0] == '-' && arg[1]) {
			r = parse_option(argc, argv, &i, o, e);
			if (r == CLI_STOP)
				return 0;
			if (r < 0)
				return r;
			continue;
		}
		if (o->cmd == ARCA_CMD_EXEC && !o->name) {
			/* exec NAME CMD...: the sandbox first. */
			if (!sandbox_name_ok(arg))
				return arca_error(e, EINVAL, "invalid sandbox name '%s'",
						  quote(&q, arg));
			o->name = arg;
			continue;
		}
		if (o->cmd == ARCA_CMD_RUN || o->cmd == ARCA_CMD_EXEC) {
			/* The first non-option argument starts CMD; the rest
			 * are CMD's, options included. */
			if (!arg[0])
				return arca_error(e, EINVAL, "empty command name after 'arca %s'",
						  cmd_name(o->cmd));
			o->argv = &argv[i];
			o->argc = (size_t)(argc - i);
			return 0;
		}
		r = parse_positional(arg, o, &seen, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* What every command needs once the command line and the config file are
 * both applied. */
static int final_checks(const struct arca_opts *o, struct arca_err *e)
{
	if (o->cmd == ARCA_CMD_EXEC && !o->name)
		return arca_error(e, EINVAL, "missing sandbox name: 'arca exec [OPTIONS] NAME CMD [ARG...]'");
	if ((o->cmd == ARCA_CMD_RUN || o->cmd == ARCA_CMD_EXEC) && !o->argv)
		return arca_error(e, EINVAL, "missing command after 'arca %s'", cmd_name(o->cmd));
	if (!o->name && (o->cmd == ARCA_CMD_START || o->cmd == ARCA_CMD_STOP ||
			 o->cmd == ARCA_CMD_KILL || o->cmd == ARCA_CMD_LOGS))
		return arca_error(e, EINVAL, "missing sandbox name: 'arca %s %s'", cmd_name(o->cmd),
				  o->cmd == ARCA_CMD_START ? "--name NAME [OPTIONS]" : "NAME");
	if (o->publish.n && o->net.mode == NET_NONE)
		return arca_error(e, EINVAL, "--publish needs --net nat or --net allow=... "
				  "(with --net none the guest has no network to publish)");
	if (o->publish.n && o->net.mode == NET_POD)
		return arca_error(e, EINVAL, "--publish is not for --net ns= (the namespace's "
				  "owner publishes its ports)");
	return 0;
}

/* The config file's items through the option table, as if given first on
 * the command line; each error names the file and the field. */
static int apply_config(struct arca_opts *o, const struct config *c, const char *path,
			struct arca_err *e)
{
	struct quoted q;
	struct arca_err inner;

	/* Every key first, also one that gives no item ("x": [] or false). */
	for (size_t i = 0; i < c->nkeys; i++) {
		const struct cli_option *opt = find_long(c->keys[i], strlen(c->keys[i]));
		if (!opt || !opt->help || opt->handler == opt_config)
			return arca_error(e, EINVAL, "%s: unknown field '%s' (the options of 'arca "
					  "help', and \"command\")", path, quote(&q, c->keys[i]));
		if (!(opt->cmds & CMD_BIT(o->cmd)))
			return arca_error(e, EINVAL, "%s: field '%s' is not an option of 'arca %s'",
					  path, c->keys[i], cmd_name(o->cmd));
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct config_item *it = &c->items[i];
		const struct cli_option *opt = find_long(it->name, strlen(it->name));
		if (opt->metavar && !it->value)
			return arca_error(e, EINVAL, "%s: field '%s' wants a value, not true", path,
					  it->name);
		if (!opt->metavar && it->value)
			return arca_error(e, EINVAL, "%s: field '%s' is a flag: true or false", path,
					  it->name);
		memset(&inner, 0, sizeof(inner));
		int r = opt->handler(o, opt, it->value, &inner);
		if (r < 0)
			return arca_error(e, -r, "%s: field '%s': %s", path, it->name, inner.msg);
	}
	if (c->command) {
		if (o->cmd != ARCA_CMD_RUN)
			return arca_error(e, EINVAL, "%s: field 'command' is for 'arca run' only", path);
		o->argv = c->command;
		o->argc = c->ncommand;
	}
	return 0;
}

int cli_parse(int argc, char *const argv[], struct arca_opts *o,
	      struct arca_err *e)
{
	int r;

	opts_init(o);
	r = parse(argc, argv, o, e);
	if (r == 0 && o->config_path && o->cmd != ARCA_CMD_HELP) {
		/* Again from the start: the file's values first, then the
		 * command line's over them. */
		const char *path = o->config_path;
		enum arca_cmd cmd = o->cmd;
		struct config *c = calloc(1, sizeof(*c));
		r = c ? config_load(path, c, e) : arca_error(e, ENOMEM, "out of memory");
		cli_free(o);
		opts_init(o);
		o->cmd = cmd;
		if (r < 0) {
			free(c);
		} else {
			o->config = c;
			r = apply_config(o, c, path, e);
			for (size_t i = 0; r == 0 && i < o->nrlimits; i++)
				o->rlimits_from_config |= 1u << o->rlimits[i].resource;
			if (r == 0)
				r = parse(argc, argv, o, e);
		}
	}
	if (r == 0)
		r = final_checks(o, e);
	if (r < 0) {
		cli_free(o);
		opts_init(o);
	}
	return r < 0 ? r : 0;
}

void cli_free(struct arca_opts *o)
{
	for (size_t i = 0; i < o->envc; i++)
		free(o->env[i]);
	free(o->env);
	o->env = NULL;
	o->envc = 0;
	shares_free(&o->shares);
	disks_free(&o->disks);
	free(o->root_buf);
	o->root_buf = NULL;
	o->root = NULL;
	if (o->config) {
		if (o->argv == o->config->command) {
			o->argv = NULL;
			o->argc = 0;
		}
		config_free(o->config);
		free(o->config);
		o->config = NULL;
	}
}

/* ---- help text ---------------------------------------------------------- */

struct textbuf {
	char *p;
	size_t size, len;
};

static void __attribute__((format(printf, 2, 3)))
tb_printf(struct textbuf *tb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (tb->len >= tb->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tb->p + tb->len, tb->size - tb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		tb->len += (size_t)n; /* may pass size: truncation is sticky */
}

/* "  LEFT  help..." with the help wrapped at 78 columns in a column of its
 * own; a LEFT too wide for the column gets the help on the next line. */
static void usage_entry(struct textbuf *tb, const char *left, const char *help)
{
	enum { COL = 25, WIDTH = 78 };
	size_t pos = 2 + strlen(left);

	tb_printf(tb, "  %s", left);
	if (pos + 1 > COL) {
		tb_printf(tb, "\n");
		pos = 0;
	}
	while (*help) {
		size_t room = WIDTH - COL, len = strlen(help), cut = len;
		if (len > room) {
			cut = room;
			while (cut > 0 && help[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = room;
		}
		tb_printf(tb, "%*s%.*s\n", (int)(COL - pos), "", (int)cut, help);
		pos = 0;
		help += cut;
		while (*help == ' ')
			help++;
	}
}

static void usage_options(struct textbuf *tb, enum arca_cmd cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct cli_option *opt = &options[i];
		char left[64];

		if (!opt->help || !(opt->cmds & CMD_BIT(cmd)))
			continue;
		/* "-e, --env K=V" and "    --cpus N": long names aligned */
		if (opt->short_name)
			snprintf(left, sizeof(left), "-%c, ", opt->short_name);
		else
			snprintf(left, sizeof(left), "    ");
		snprintf(left + 4, sizeof(left) - 4, "--%s%s%s", opt->name,
			 opt->metavar ? " " : "", opt->metavar ? opt->metavar : "");
		usage_entry(tb, left, opt->help);
	}
}

const char *cli_usage(void)
{
	static char text[12288];
	struct textbuf tb = { text, sizeof(text), 0 };

	if (text[0])
		return text;
	tb_printf(&tb,
		  "Usage:\n"
		  "  arca run [OPTIONS] [--] CMD [ARG...]  run CMD in a new microVM\n"
		  "  arca prepare [OPTIONS]                build the cached base initrd\n"
		  "  arca start --name NAME [OPTIONS]      boot a sandbox that runs commands on request\n"
		  "  arca exec [OPTIONS] NAME CMD [ARG...] run CMD in sandbox NAME (run's exit codes)\n"
		  "  arca ls                               list this user's sandboxes\n"
		  "  arca stop NAME | kill NAME            stop a sandbox (SIGTERM, then forced) | now\n"
		  "  arca logs NAME                        print a sandbox's console log\n"
		  "  arca gc                               remove what killed runs left behind\n"
		  "  arca doctor [OPTIONS]                 check that this host can run arca\n"
		  "  arca version | --version              print the version\n"
		  "  arca help | --help | -h               print this help\n"
		  "\n"
		  "The first argument that is not an option, or everything after '--',\n"
		  "is CMD. Options take their value as '--opt V' or '--opt=V'.\n"
		  "\n"
		  "Options for 'arca run':\n");
	usage_options(&tb, ARCA_CMD_RUN);
	tb_printf(&tb, "\nOptions for 'arca start' (as for run, plus):\n");
	usage_entry(&tb, "    --name NAME", "the sandbox's name (required)");
	tb_printf(&tb, "\nOptions for 'arca exec':\n");
	usage_options(&tb, ARCA_CMD_EXEC);
	tb_printf(&tb, "\nOptions for 'arca prepare':\n");
	usage_options(&tb, ARCA_CMD_PREPARE);
	tb_printf(&tb, "\nOptions for 'arca doctor' (exit 0 only when 'arca run' can work here):\n");
	usage_options(&tb, ARCA_CMD_DOCTOR);
	tb_printf(&tb,
		  "\n"
		  "Exit status:\n"
		  "  124      --timeout expired; the VM was killed\n"
		  "  125      arca itself failed (bad option, VM could not start)\n"
		  "  126      CMD exists but cannot be executed\n"
		  "  127      CMD was not found\n"
		  "  128+N    CMD was killed by signal N\n"
		  "  other    the exit status of CMD\n"
		  "\n"
		  "As root, arca-vmm runs as --vmm-user, else as SUDO_UID:SUDO_GID, else as\n"
		  "65534:65534 (nobody), in its own namespaces with an empty root directory.\n");
	return text;
}
