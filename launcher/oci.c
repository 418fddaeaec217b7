/* SPDX-License-Identifier: MIT */
/* See oci.h. jansson parses; every field is type-checked before use. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <arca/limits.h>

#include "cleanup.h"
#include "oci.h"
#include "quote.h"
#include "sbstate.h"
#include "spec.h"

/* jansson's own cleanup helper (json_auto_t's). */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

void oci_argv_free(struct oci_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	*a = (struct oci_argv){ 0 };
}

void oci_plan_free(struct oci_plan *p)
{
	oci_argv_free(&p->start);
	oci_argv_free(&p->exec);
	free(p->annotations);
	p->annotations = NULL;
	free(p->hooks);
	p->hooks = NULL;
}

static int __attribute__((format(printf, 2, 3))) add(struct oci_argv *a, const char *fmt, ...)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		char **v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&a->v[a->n], fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	a->v[++a->n] = NULL;
	return 0;
}

static void note(struct oci_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct oci_plan *p, const char *fmt, ...)
{
	size_t len = strlen(p->notes);
	if (len + 3 >= sizeof(p->notes))
		return;
	if (len)
		len += (size_t)snprintf(p->notes + len, sizeof(p->notes) - len, "; ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->notes + len, sizeof(p->notes) - len, fmt, ap);
	va_end(ap);
}

bool oci_id_ok(const char *id)
{
	return sandbox_name_ok(id);
}

int oci_stat_host(const char *path, bool *is_dir)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return -errno;
	*is_dir = S_ISDIR(sb.st_mode);
	return 0;
}

/* A string field: NULL when absent; -EINVAL (e set) when not a string or
 * with a NUL inside (it would be cut short unseen). */
static int get_str(const json_t *obj, const char *key, const char *field, const char **out,
		   struct arca_err *e)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return arca_error(e, EINVAL, "%s: not a string", field);
	*out = json_string_value(v);
	return 0;
}

static int get_obj(const json_t *obj, const char *key, const char *field, json_t **out,
		   struct arca_err *e)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return arca_error(e, EINVAL, "%s: not an object", field);
	*out = v;
	return 0;
}

static int get_arr(const json_t *obj, const char *key, const char *field, json_t **out,
		   size_t max, struct arca_err *e)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return arca_error(e, EINVAL, "%s: not an array", field);
	if (json_array_size(v) > max)
		return arca_error(e, E2BIG, "%s: more than %zu entries", field, max);
	*out = v;
	return 0;
}

/* An unsigned integer field in 0..max; *present says whether it was there. */
static int get_uint(const json_t *obj, const char *key, const char *field, uint64_t max,
		    uint64_t *out, bool *present, struct arca_err *e)
{
	json_t *v = json_object_get(obj, key);
	*present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return arca_error(e, EINVAL, "%s: not an integer in 0..%" PRIu64, field, max);
	*out = (uint64_t)json_integer_value(v);
	*present = true;
	return 0;
}

/* Go engines write RLIM_INFINITY as 2^64-1, which jansson (int64) refuses
 * as "too big integer": a copy of the text with each such number token
 * (outside strings) as -1, padded to the same length so line numbers in
 * errors stay right. -1 is what the fields that take it read as "none". */
#define U64_MAX_TEXT "18446744073709551615"
static char *infinity_as_minus_one(const char *text, size_t len)
{
	char *t = malloc(len ? len : 1);
	const size_t n = sizeof(U64_MAX_TEXT) - 1;
	bool in_str = false;
	if (!t)
		return NULL;
	memcpy(t, text, len);
	for (size_t i = 0; i < len; i++) {
		if (in_str) {
			if (t[i] == '\\')
				i++;
			else if (t[i] == '"')
				in_str = false;
			continue;
		}
		if (t[i] == '"') {
			in_str = true;
			continue;
		}
		if (i + n <= len && !memcmp(t + i, U64_MAX_TEXT, n) &&
		    (i == 0 || !strchr("0123456789.-+eE", t[i - 1])) &&
		    (i + n == len || !strchr("0123456789.eE", t[i + n]))) {
			memset(t + i, ' ', n);
			t[i] = '-';
			t[i + 1] = '1';
			i += n - 1;
		}
	}
	return t;
}

static json_t *load(const char *text, size_t len, const char *what, struct arca_err *e)
{
	json_error_t je;
	if (len > OCI_CONFIG_MAX) {
		arca_error(e, E2BIG, "%s: larger than %u bytes", what, OCI_CONFIG_MAX);
		return NULL;
	}
	_cleanup_free_ char *copy = infinity_as_minus_one(text, len);
	if (!copy) {
		arca_error(e, ENOMEM, "out of memory");
		return NULL;
	}
	json_t *j = json_loadb(copy, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		arca_error(e, EINVAL, "%s: line %d: %s", what, je.line, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		arca_error(e, EINVAL, "%s: not a JSON object", what);
		return NULL;
	}
	return j;
}

/* Characters that would change the meaning of an `arca` option's value:
 * -v splits HOST:GUEST:OPTS at ':' and --root DIR[:rw] likewise. */
static int plain_path(const char *v, const char *field, struct arca_err *e)
{
	struct quoted q;
	if (!*v)
		return arca_error(e, EINVAL, "%s: empty", field);
	if (strchr(v, ':') || strchr(v, ','))
		return arca_error(e, EINVAL, "%s '%s': ':' and ',' are not supported in paths",
				  field, quote(&q, v));
	return 0;
}

/* ---- process ------------------------------------------------------------ */

static const struct {
	const char *oci;
	int res;
} rlimits[] = {
	{ "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int plan_rlimits(const json_t *proc, struct oci_argv *x, struct arca_err *e)
{
	json_t *arr, *rl;
	size_t i;
	struct quoted q;
	int r = get_arr(proc, "rlimits", "process.rlimits", &arr, ARCA_RLIMITS_MAX, e);
	if (r < 0 || !arr)
		return r;
	json_array_foreach(arr, i, rl) {
		char f[64];
		const char *type;
		uint64_t soft = 0, hard = 0;
		bool has_soft, has_hard;
		size_t k;

		snprintf(f, sizeof(f), "process.rlimits[%zu]", i);
		if (!json_is_object(rl))
			return arca_error(e, EINVAL, "%s: not an object", f);
		if ((r = get_str(rl, "type", f, &type, e)) < 0)
			return r;
		if (!type)
			return arca_error(e, EINVAL, "%s.type: missing", f);
		for (k = 0; k < ARRAY_SIZE(rlimits); k++)
			if (!strcmp(rlimits[k].oci, type))
				break;
		if (k == ARRAY_SIZE(rlimits))
			return arca_error(e, EINVAL, "%s.type: unknown limit '%s'", f,
					  quote(&q, type));
		/* -1: RLIM_INFINITY as the engine wrote it (2^64-1, see load()). */
		json_t *sv_ = json_object_get(rl, "soft"), *hv_ = json_object_get(rl, "hard");
		bool soft_inf = json_is_integer(sv_) && json_integer_value(sv_) == -1;
		bool hard_inf = json_is_integer(hv_) && json_integer_value(hv_) == -1;
		has_soft = soft_inf;
		has_hard = hard_inf;
		soft = soft_inf ? UINT64_MAX >> 1 : 0;
		hard = hard_inf ? UINT64_MAX >> 1 : 0;
		if ((!soft_inf &&
		     (r = get_uint(rl, "soft", f, UINT64_MAX >> 1, &soft, &has_soft, e)) < 0) ||
		    (!hard_inf &&
		     (r = get_uint(rl, "hard", f, UINT64_MAX >> 1, &hard, &has_hard, e)) < 0))
			return r;
		if (!has_soft || !has_hard)
			return arca_error(e, EINVAL, "%s: needs soft and hard", f);
		if (soft > hard)
			return arca_error(e, EINVAL, "%s: soft above hard", f);
		/* The guest's "unlimited" is RLIM_INFINITY; the JSON's largest
		 * integer stands for it, as runc reads 2^64-1. */
		const char *name = spec_rlimit_name((uint32_t)rlimits[k].res);
		char sv[24], hv[24];
		snprintf(sv, sizeof(sv), "%" PRIu64, soft);
		snprintf(hv, sizeof(hv), "%" PRIu64, hard);
		if ((r = add(x, "--ulimit")) < 0 ||
		    (r = add(x, "%s=%s:%s", name, soft >= (UINT64_MAX >> 1) ? "unlimited" : sv,
			     hard >= (UINT64_MAX >> 1) ? "unlimited" : hv)) < 0)
			return arca_error(e, -r, "out of memory");
	}
	return 0;
}

/* <linux/capability.h>'s names, by number (0..ARCA_CAP_LAST). */
static const char *const cap_names[ARCA_CAP_LAST + 1] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

/* process.capabilities and noNewPrivileges -> --cap-mask, --no-new-privileges.
 * A set left out is empty, as runc reads it. */
static int plan_caps(const json_t *proc, struct oci_argv *x, struct arca_err *e)
{
	static const char *const sets[5] = { "bounding", "effective", "permitted", "inheritable",
					     "ambient" };
	uint64_t m[5] = { 0 };
	json_t *caps, *arr, *v;
	struct quoted q;
	size_t i;
	int r;
	json_t *nnp = json_object_get(proc, "noNewPrivileges");
	if (nnp && !json_is_boolean(nnp))
		return arca_error(e, EINVAL, "process.noNewPrivileges: not a boolean");
	if (json_is_true(nnp) && add(x, "--no-new-privileges") < 0)
		return arca_error(e, ENOMEM, "out of memory");
	if ((r = get_obj(proc, "capabilities", "process.capabilities", &caps, e)) < 0 || !caps)
		return r;
	for (size_t k = 0; k < 5; k++) {
		char f[64];
		snprintf(f, sizeof(f), "process.capabilities.%s", sets[k]);
		if ((r = get_arr(caps, sets[k], f, &arr, 64, e)) < 0)
			return r;
		json_array_foreach(arr, i, v) {
			const char *n = json_is_string(v) ? json_string_value(v) : NULL;
			int c;
			for (c = 0; n && c <= ARCA_CAP_LAST && strcmp(n, cap_names[c]); c++)
				;
			if (!n || c > ARCA_CAP_LAST)
				return arca_error(e, EINVAL, "%s[%zu]: unknown capability '%s'", f, i,
						  n ? quote(&q, n) : "");
			m[k] |= UINT64_C(1) << c;
		}
	}
	/* The kernel would refuse these (capset, PR_CAP_AMBIENT_RAISE). */
	if (m[1] & ~m[2])
		return arca_error(e, EINVAL, "process.capabilities.effective: not within permitted");
	if (m[4] & ~(m[2] & m[3]))
		return arca_error(e, EINVAL, "process.capabilities.ambient: not within permitted "
				  "and inheritable");
	if (add(x, "--cap-mask") < 0 ||
	    add(x, "%llx,%llx,%llx,%llx,%llx", (unsigned long long)m[0], (unsigned long long)m[1],
		(unsigned long long)m[2], (unsigned long long)m[3], (unsigned long long)m[4]) < 0)
		return arca_error(e, ENOMEM, "out of memory");
	return 0;
}

static int plan_process_obj(const json_t *proc, const char *id, struct oci_plan *p,
			    struct arca_err *e)
{
	struct oci_argv *x = &p->exec;
	json_t *args, *env, *user, *v;
	const char *cwd;
	size_t i;
	int r;

	if (!proc)
		return arca_error(e, EINVAL, "process: missing");
	if ((r = add(x, "arca")) < 0 || (r = add(x, "exec")) < 0)
		goto oom;

	v = json_object_get(proc, "terminal");
	if (v && !json_is_boolean(v))
		return arca_error(e, EINVAL, "process.terminal: not a boolean");
	p->terminal = v && json_is_true(v);
	if (p->terminal && (r = add(x, "-t")) < 0)
		goto oom;

	if ((r = get_str(proc, "cwd", "process.cwd", &cwd, e)) < 0)
		return r;
	if (!cwd || cwd[0] != '/')
		return arca_error(e, EINVAL, "process.cwd: must be an absolute path");
	if ((r = add(x, "-w")) < 0 || (r = add(x, "%s", cwd)) < 0)
		goto oom;

	if ((r = get_obj(proc, "user", "process.user", &user, e)) < 0)
		return r;
	if (user) {
		uint64_t uid = 0, gid = 0;
		bool has_uid, has_gid;
		const char *uname;
		if ((r = get_uint(user, "uid", "process.user.uid", UINT32_MAX - 1, &uid, &has_uid,
				  e)) < 0 ||
		    (r = get_uint(user, "gid", "process.user.gid", UINT32_MAX - 1, &gid, &has_gid,
				  e)) < 0 ||
		    (r = get_str(user, "username", "process.user.username", &uname, e)) < 0)
			return r;
		if (uname)
			return arca_error(e, EINVAL, "process.user.username: not supported (give uid and gid)");
		if ((r = add(x, "-u")) < 0 || (r = add(x, "%" PRIu64 ":%" PRIu64, uid, gid)) < 0)
			goto oom;
	}

	if ((r = get_arr(proc, "env", "process.env", &env, OCI_ARGS_MAX, e)) < 0)
		return r;
	json_array_foreach(env, i, v) {
		const char *kv = json_is_string(v) ? json_string_value(v) : NULL;
		if (!kv || strlen(kv) != json_string_length(v))
			return arca_error(e, EINVAL, "process.env[%zu]: not a string", i);
		/* "NAME" alone would mean "copy the host's NAME" to arca exec:
		 * the host's environment is not the container's. */
		if (!strchr(kv, '=') || kv[0] == '=')
			return arca_error(e, EINVAL, "process.env[%zu]: not NAME=VALUE", i);
		if ((r = add(x, "-e")) < 0 || (r = add(x, "%s", kv)) < 0)
			goto oom;
	}

	if ((r = plan_rlimits(proc, x, e)) < 0 || (r = plan_caps(proc, x, e)) < 0)
		return r;

	if ((r = add(x, "%s", id)) < 0 || (r = add(x, "--")) < 0)
		goto oom;
	if ((r = get_arr(proc, "args", "process.args", &args, OCI_ARGS_MAX, e)) < 0)
		return r;
	if (!args || !json_array_size(args))
		return arca_error(e, EINVAL, "process.args: missing or empty");
	json_array_foreach(args, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return arca_error(e, EINVAL, "process.args[%zu]: not a string", i);
		if (i == 0 && !json_string_length(v))
			return arca_error(e, EINVAL, "process.args[0]: empty");
		if ((r = add(x, "%s", json_string_value(v))) < 0)
			goto oom;
	}
	return 0;
oom:
	return arca_error(e, ENOMEM, "out of memory");
}

int oci_plan_process(const char *text, size_t len, const char *id, struct oci_plan *p,
		     struct arca_err *e)
{
	*p = (struct oci_plan){ .net_ns_arg = -1 };
	_cleanup_json_ json_t *j = load(text, len, "process.json", e);
	if (!j)
		return -e->code;
	int r = plan_process_obj(j, id, p, e);
	if (r < 0)
		oci_plan_free(p);
	return r;
}

/* ---- mounts --------------------------------------------------------------- */

static bool has_option(const json_t *opts, const char *o)
{
	size_t i;
	json_t *v;
	json_array_foreach(opts, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), o))
			return true;
	return false;
}

static bool in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* Where the guest's init already mounts its own, or the engine mounts
 * kernel file systems that mean the VM's own inside it. */
static const char *const guest_own[] = { "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm",
					 "/dev/mqueue", "/sys/fs/cgroup", "/tmp", "/run", NULL };
static const char *const kernel_types[] = { "proc", "sysfs", "devpts", "mqueue", "cgroup",
					    "cgroup2", "tmpfs", "devtmpfs", "shm", NULL };

static int plan_mount(const json_t *m, size_t i, const char *bundle, oci_stat_fn st,
		      struct oci_plan *p, struct arca_err *e)
{
	char f[64], path[4096];
	const char *dst, *src, *type;
	json_t *opts;
	struct quoted q, q2;
	int r;

	snprintf(f, sizeof(f), "mounts[%zu]", i);
	if (!json_is_object(m))
		return arca_error(e, EINVAL, "%s: not an object", f);
	char fd_[48], fs_[48], ft_[48], fo_[48];
	snprintf(fd_, sizeof(fd_), "mounts[%zu].destination", i);
	snprintf(fs_, sizeof(fs_), "mounts[%zu].source", i);
	snprintf(ft_, sizeof(ft_), "mounts[%zu].type", i);
	snprintf(fo_, sizeof(fo_), "mounts[%zu].options", i);
	if ((r = get_str(m, "destination", fd_, &dst, e)) < 0 ||
	    (r = get_str(m, "source", fs_, &src, e)) < 0 ||
	    (r = get_str(m, "type", ft_, &type, e)) < 0 ||
	    (r = get_arr(m, "options", fo_, &opts, 64, e)) < 0)
		return r;
	if (!dst || dst[0] != '/')
		return arca_error(e, EINVAL, "%s: must be an absolute path", fd_);
	bool bind = (type && !strcmp(type, "bind")) || (opts && (has_option(opts, "bind") ||
								 has_option(opts, "rbind")));
	if (!bind) {
		if (!type)
			return arca_error(e, EINVAL, "%s: missing", ft_);
		if (!in(type, kernel_types))
			return arca_error(e, EINVAL, "%s '%s' at %s: not supported", ft_,
					  quote(&q, type), quote(&q2, dst));
		if (!in(dst, guest_own))
			return arca_error(e, EINVAL, "%s: %s at '%s': only the guest's own (/proc, "
					  "/sys, /dev, /dev/pts, /dev/shm, /tmp...) are supported",
					  f, type, quote(&q, dst));
		return 0; /* the guest mounts its own */
	}
	if (in(dst, guest_own)) {
		/* The engine's own /dev/shm (podman binds a directory of
		 * its own there): the guest has its own. */
		note(p, "%s: the guest's own %s is used", f, dst);
		return 0;
	}
	if (!src)
		return arca_error(e, EINVAL, "%s: missing", fs_);
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", src[0] == '/' ? "" : bundle,
			     src[0] == '/' ? "" : "/", src) >= sizeof(path))
		return arca_error(e, ENAMETOOLONG, "%s: too long", fs_);
	bool dir = false;
	if ((r = st(path, &dir)) < 0)
		return arca_error_errno(e, -r, "%s '%s'", fs_, quote(&q, path));
	/* The engine's resolv.conf names its resolvers, which arca's own
	 * (the guest's, from the network it sets up) relays to. */
	if (!dir && !strcmp(dst, "/etc/resolv.conf")) {
		snprintf(p->resolv_conf, sizeof(p->resolv_conf), "%s", path);
		note(p, "%s: the engine's /etc/resolv.conf names the upstreams of the guest's "
			"resolver", f);
		return 0;
	}
	/* A file (the engine's /etc/hosts, /etc/hostname, .containerenv, or
	 * the user's) is a file share, as a directory is a share. */
	if ((r = plain_path(path, fs_, e)) < 0 || (r = plain_path(dst, fd_, e)) < 0)
		return r;
	bool ro = opts && has_option(opts, "ro");
	if ((r = add(&p->start, "-v")) < 0 ||
	    (r = add(&p->start, "%s:%s:%s", path, dst, ro ? "ro" : "rw")) < 0)
		return arca_error(e, ENOMEM, "out of memory");
	return 0;
}

/* ---- the VM ---------------------------------------------------------------- */

static int annotation_uint(const json_t *ann, const char *key, uint64_t min, uint64_t max,
			   uint64_t *out, bool *present, struct arca_err *e)
{
	const char *v;
	char f[64], *end;
	struct quoted q;
	snprintf(f, sizeof(f), "annotations.%s", key);
	int r = get_str(ann, key, f, &v, e);
	*present = false;
	if (r < 0 || !v)
		return r;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n < min || n > max)
		return arca_error(e, EINVAL, "%s '%s': not a number in %" PRIu64 "..%" PRIu64, f,
				  quote(&q, v), min, max);
	*out = n;
	*present = true;
	return 0;
}

static int plan_size(const json_t *cfg, struct oci_plan *p, struct arca_err *e)
{
	json_t *linux_, *res = NULL, *mem = NULL, *cpu = NULL, *ann;
	uint64_t cpus = 0, mib = 0, v, period = 0, quota = 0;
	bool has, has_p, has_q;
	int r;

	if ((r = get_obj(cfg, "linux", "linux", &linux_, e)) < 0)
		return r;
	if (linux_ && (r = get_obj(linux_, "resources", "linux.resources", &res, e)) < 0)
		return r;
	if (res && ((r = get_obj(res, "memory", "linux.resources.memory", &mem, e)) < 0 ||
		    (r = get_obj(res, "cpu", "linux.resources.cpu", &cpu, e)) < 0))
		return r;
	if (mem) {
		/* -1 is "no limit". */
		json_t *l = json_object_get(mem, "limit");
		if (l && !(json_is_integer(l) && json_integer_value(l) == -1)) {
			if ((r = get_uint(mem, "limit", "linux.resources.memory.limit",
					  UINT64_MAX >> 1, &v, &has, e)) < 0)
				return r;
			if (has && v)
				mib = (v + (1u << 20) - 1) >> 20;
		}
	}
	if (cpu) {
		json_t *qv = json_object_get(cpu, "quota");
		if ((r = get_uint(cpu, "period", "linux.resources.cpu.period", UINT32_MAX, &period,
				  &has_p, e)) < 0)
			return r;
		if (qv && !(json_is_integer(qv) && json_integer_value(qv) == -1) &&
		    (r = get_uint(cpu, "quota", "linux.resources.cpu.quota", UINT64_MAX >> 1,
				  &quota, &has_q, e)) < 0)
			return r;
		if (quota && period)
			cpus = (quota + period - 1) / period;
	}
	if ((r = get_obj(cfg, "annotations", "annotations", &ann, e)) < 0)
		return r;
	if (ann && !(p->annotations = json_dumps(ann, JSON_COMPACT)))
		return arca_error(e, ENOMEM, "out of memory");
	static const char *const pod_type_keys[] = { "io.kubernetes.cri.container-type",
						     "io.kubernetes.cri-o.ContainerType" };
	for (size_t k = 0; ann && k < ARRAY_SIZE(pod_type_keys); k++) {
		json_t *t = json_object_get(ann, pod_type_keys[k]);
		if (json_is_string(t) && !strcmp(json_string_value(t), "sandbox"))
			p->pod_sandbox = true;
	}
	if (ann) {
		const char *kernel;
		if ((r = annotation_uint(ann, "arca.cpus", 1, 64, &v, &has, e)) < 0)
			return r;
		if (has)
			cpus = v;
		if ((r = annotation_uint(ann, "arca.memory_mib", 64, 65536, &v, &has, e)) < 0)
			return r;
		if (has)
			mib = v;
		if ((r = get_str(ann, "arca.kernel", "annotations.arca.kernel", &kernel, e)) < 0)
			return r;
		if (kernel && ((r = add(&p->start, "--kernel")) < 0 ||
			       (r = add(&p->start, "%s", kernel)) < 0))
			return arca_error(e, ENOMEM, "out of memory");
	}
	/* The CLI checks the ranges, naming the value; a VM below 64 MiB
	 * does not boot, so a smaller limit is refused there. */
	if (cpus && ((r = add(&p->start, "--cpus")) < 0 ||
		     (r = add(&p->start, "%" PRIu64, cpus)) < 0))
		return arca_error(e, ENOMEM, "out of memory");
	if (mib && ((r = add(&p->start, "--memory")) < 0 ||
		    (r = add(&p->start, "%" PRIu64, mib)) < 0))
		return arca_error(e, ENOMEM, "out of memory");
	return 0;
}

/* linux.namespaces: a network namespace given by path is the pod's. */
static int plan_netns(const json_t *cfg, struct oci_plan *p, struct arca_err *e)
{
	json_t *linux_, *nss, *ns;
	size_t i;
	int r;
	if ((r = get_obj(cfg, "linux", "linux", &linux_, e)) < 0 || !linux_)
		return r;
	if ((r = get_arr(linux_, "namespaces", "linux.namespaces", &nss, 16, e)) < 0 || !nss)
		return r;
	json_array_foreach(nss, i, ns) {
		char f[48];
		const char *type, *path;
		snprintf(f, sizeof(f), "linux.namespaces[%zu]", i);
		if (!json_is_object(ns))
			return arca_error(e, EINVAL, "%s: not an object", f);
		if ((r = get_str(ns, "type", f, &type, e)) < 0 || (r = get_str(ns, "path", f, &path, e)) < 0)
			return r;
		if (!type || strcmp(type, "network") || !path)
			continue;
		if ((r = plain_path(path, f, e)) < 0)
			return r;
		if (path[0] != '/')
			return arca_error(e, EINVAL, "%s.path: must be an absolute path", f);
		p->net_ns_arg = (int)p->start.n + 1;
		if ((r = add(&p->start, "--net")) < 0 || (r = add(&p->start, "ns=%s", path)) < 0)
			return arca_error(e, ENOMEM, "out of memory");
	}
	return 0;
}

/* One hook object: path absolute; args and env arrays of strings (env
 * NAME=VALUE); timeout a positive integer. */
static int hook_ok(const json_t *h, const char *f, struct arca_err *e)
{
	const char *path;
	json_t *arr, *v;
	size_t i;
	uint64_t t;
	bool has;
	int r;
	char g[160];
	if (!json_is_object(h))
		return arca_error(e, EINVAL, "%s: not an object", f);
	snprintf(g, sizeof(g), "%s.path", f);
	if ((r = get_str(h, "path", g, &path, e)) < 0)
		return r;
	if (!path || path[0] != '/')
		return arca_error(e, EINVAL, "%s: must be an absolute path", g);
	static const char *const lists[] = { "args", "env" };
	for (size_t k = 0; k < 2; k++) {
		snprintf(g, sizeof(g), "%s.%s", f, lists[k]);
		if ((r = get_arr(h, lists[k], g, &arr, OCI_ARGS_MAX, e)) < 0)
			return r;
		json_array_foreach(arr, i, v) {
			if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
				return arca_error(e, EINVAL, "%s[%zu]: not a string", g, i);
			if (k == 1 && (!strchr(json_string_value(v), '=') ||
				       json_string_value(v)[0] == '='))
				return arca_error(e, EINVAL, "%s[%zu]: not NAME=VALUE", g, i);
		}
	}
	snprintf(g, sizeof(g), "%s.timeout", f);
	if ((r = get_uint(h, "timeout", g, 86400, &t, &has, e)) < 0)
		return r;
	if (has && !t)
		return arca_error(e, EINVAL, "%s: must be positive", g);
	return 0;
}

static const char *const hook_kinds[] = { "prestart", "createRuntime", "createContainer",
					  "startContainer", "poststart", "poststop", NULL };

static int plan_hooks(const json_t *cfg, struct oci_plan *p, struct arca_err *e)
{
	json_t *hooks, *v, *h;
	const char *k;
	size_t i;
	int r = get_obj(cfg, "hooks", "hooks", &hooks, e);
	if (r < 0 || !hooks)
		return r;
	json_object_foreach(hooks, k, v) {
		char f[96];
		snprintf(f, sizeof(f), "hooks.%.64s", k);
		if (!in(k, hook_kinds))
			return arca_error(e, EINVAL, "%s: unknown kind of hook", f);
		if ((r = get_arr(hooks, k, f, &v, OCI_HOOKS_MAX, e)) < 0)
			return r;
		/* It runs "in the container namespace" after the process
		 * is set up: that is inside the VM, where arca has no hook. */
		if (!strcmp(k, "startContainer") && v && json_array_size(v))
			return arca_error(e, ENOTSUP, "%s: runs inside the container (the VM): not "
					  "supported", f);
		json_array_foreach(v, i, h) {
			char g[128];
			snprintf(g, sizeof(g), "%s[%zu]", f, i);
			if ((r = hook_ok(h, g, e)) < 0)
				return r;
		}
	}
	if (!(p->hooks = json_dumps(hooks, JSON_COMPACT)))
		return arca_error(e, ENOMEM, "out of memory");
	return 0;
}

void oci_hooks_free(struct oci_hook *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].path);
		for (char **a = h[i].args; a && *a; a++)
			free(*a);
		free(h[i].args);
		for (char **a = h[i].env; a && *a; a++)
			free(*a);
		free(h[i].env);
	}
	free(h);
}

static char **strings_of(const json_t *arr, const char *first)
{
	size_t n = arr ? json_array_size(arr) : 0, i, k = 0;
	json_t *v;
	char **out = calloc(n + 2, sizeof(*out));
	if (!out)
		return NULL;
	if (!n && first && !(out[k++] = strdup(first)))
		goto oom;
	json_array_foreach(arr, i, v)
		if (!(out[k++] = strdup(json_string_value(v))))
			goto oom;
	return out;
oom:
	for (size_t j = 0; j < k; j++)
		free(out[j]);
	free(out);
	return NULL;
}

int oci_hooks_get(const char *hooks_json, const char *kind, struct oci_hook **out, size_t *n,
		  struct arca_err *e)
{
	*out = NULL;
	*n = 0;
	if (!hooks_json)
		return 0;
	/* The runtime's own text, checked at create: checked again all the
	 * same (it sat in a file). */
	json_t *hooks = load(hooks_json, strlen(hooks_json), "state file hooks", e);
	if (!hooks)
		return -e->code;
	json_t *arr = json_object_get(hooks, kind), *h;
	size_t i, cnt = json_is_array(arr) ? json_array_size(arr) : 0;
	int r = 0;
	if (cnt > OCI_HOOKS_MAX)
		cnt = 0;
	struct oci_hook *v = cnt ? calloc(cnt, sizeof(*v)) : NULL;
	if (cnt && !v) {
		json_decref(hooks);
		return arca_error(e, ENOMEM, "out of memory");
	}
	for (i = 0; i < cnt; i++) {
		char f[96];
		h = json_array_get(arr, i);
		snprintf(f, sizeof(f), "hooks.%.32s[%zu]", kind, i);
		if ((r = hook_ok(h, f, e)) < 0)
			break;
		json_t *t = json_object_get(h, "timeout");
		v[i].timeout_s = t ? (unsigned)json_integer_value(t) : 0;
		if (!(v[i].path = strdup(json_string_value(json_object_get(h, "path")))) ||
		    !(v[i].args = strings_of(json_object_get(h, "args"), v[i].path)) ||
		    !(v[i].env = strings_of(json_object_get(h, "env"), NULL))) {
			r = arca_error(e, ENOMEM, "out of memory");
			i++;
			break;
		}
	}
	json_decref(hooks);
	if (r < 0) {
		oci_hooks_free(v, i);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int oci_plan_config(const char *text, size_t len, const char *bundle, const char *id,
		    oci_stat_fn st, struct oci_plan *p, struct arca_err *e)
{
	json_t *root, *mounts, *m;
	const char *ver, *rpath;
	char rootdir[4096];
	struct quoted q;
	size_t i;
	int r;

	*p = (struct oci_plan){ .net_ns_arg = -1 };
	_cleanup_json_ json_t *cfg = load(text, len, "config.json", e);
	if (!cfg)
		return -e->code;
	if ((r = get_str(cfg, "ociVersion", "ociVersion", &ver, e)) < 0)
		goto fail;
	if (!ver || strncmp(ver, "1.", 2)) {
		r = arca_error(e, EINVAL, "ociVersion '%s': only 1.x is supported",
			       ver ? quote(&q, ver) : "");
		goto fail;
	}
	if ((r = add(&p->start, "arca")) < 0 || (r = add(&p->start, "start")) < 0 ||
	    (r = add(&p->start, "--name")) < 0 || (r = add(&p->start, "%s", id)) < 0) {
		r = arca_error(e, ENOMEM, "out of memory");
		goto fail;
	}

	if ((r = get_obj(cfg, "root", "root", &root, e)) < 0 ||
	    (r = root ? get_str(root, "path", "root.path", &rpath, e) : 0) < 0)
		goto fail;
	if (!root || !rpath) {
		r = arca_error(e, EINVAL, "root.path: missing");
		goto fail;
	}
	if (!rpath[0]) {
		r = arca_error(e, EINVAL, "root.path: empty");
		goto fail;
	}
	if ((size_t)snprintf(rootdir, sizeof(rootdir), "%s%s%s", rpath[0] == '/' ? "" : bundle,
			     rpath[0] == '/' ? "" : "/", rpath) >= sizeof(rootdir)) {
		r = arca_error(e, ENAMETOOLONG, "root.path: too long");
		goto fail;
	}
	if ((r = plain_path(rootdir, "root.path", e)) < 0)
		goto fail;
	json_t *ro = json_object_get(root, "readonly");
	if (ro && !json_is_boolean(ro)) {
		r = arca_error(e, EINVAL, "root.readonly: not a boolean");
		goto fail;
	}
	/* The container's writes to its root stay in the VM (arca's tmpfs
	 * overlay) unless the annotation arca.root_rw asks to write through:
	 * an engine's root file system is root's, and where arca-vmm runs as
	 * nobody without an idmapped mount (tmpfs before Linux 6.3) a
	 * write-through root could not even take a mount point. readonly:
	 * true is the same overlay (the guest's root is writable but the
	 * bundle never is); with arca.root_rw it is refused as contradictory. */
	const char *rw;
	json_t *ann_ = json_object_get(cfg, "annotations");
	if ((r = json_is_object(ann_) ? get_str(ann_, "arca.root_rw", "annotations.arca.root_rw",
						&rw, e)
				      : 0) < 0)
		goto fail;
	if (!json_is_object(ann_))
		rw = NULL;
	if (rw && strcmp(rw, "true") && strcmp(rw, "false")) {
		r = arca_error(e, EINVAL, "annotations.arca.root_rw '%s': true or false",
			       quote(&q, rw));
		goto fail;
	}
	bool write_through = rw && !strcmp(rw, "true");
	if (write_through && ro && json_is_true(ro)) {
		r = arca_error(e, EINVAL, "annotations.arca.root_rw: true with root.readonly true");
		goto fail;
	}
	if ((r = add(&p->start, "--root")) < 0 ||
	    (r = add(&p->start, "%s%s", rootdir, write_through ? ":rw" : "")) < 0) {
		r = arca_error(e, ENOMEM, "out of memory");
		goto fail;
	}

	if ((r = plan_size(cfg, p, e)) < 0 || (r = plan_hooks(cfg, p, e)) < 0 ||
	    (r = plan_netns(cfg, p, e)) < 0)
		goto fail;
	if ((r = get_arr(cfg, "mounts", "mounts", &mounts, OCI_MOUNTS_MAX, e)) < 0)
		goto fail;
	json_array_foreach(mounts, i, m)
		if ((r = plan_mount(m, i, bundle, st, p, e)) < 0)
			goto fail;

	json_t *proc;
	if ((r = get_obj(cfg, "process", "process", &proc, e)) < 0 ||
	    (r = plan_process_obj(proc, id, p, e)) < 0)
		goto fail;
	return 0;
fail:
	oci_plan_free(p);
	return r;
}

/* ---- state ---------------------------------------------------------------- */

const char *oci_status_name(enum oci_status s)
{
	switch (s) {
	case OCI_CREATING: return "creating";
	case OCI_CREATED: return "created";
	case OCI_RUNNING: return "running";
	case OCI_STOPPED: return "stopped";
	}
	return "unknown";
}

void oci_state_free(struct oci_state *s)
{
	free(s->annotations);
	s->annotations = NULL;
	free(s->hooks);
	s->hooks = NULL;
}

static json_t *annotations_of(const struct oci_state *s)
{
	json_t *a = s->annotations ? json_loads(s->annotations, 0, NULL) : NULL;
	if (a && !json_is_object(a)) {
		json_decref(a);
		a = NULL;
	}
	return a ? a : json_object();
}

char *oci_state_format(const struct oci_state *s)
{
	_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:i, s:I, s:I, s:b, s:o}", "id", s->id,
					     "bundle", s->bundle, "pid", s->pid, "pid_start",
					     (json_int_t)s->pid_start, "created_ms",
					     (json_int_t)s->created_ms, "started", s->started,
					     "annotations", annotations_of(s));
	json_t *hooks = s->hooks ? json_loads(s->hooks, 0, NULL) : NULL;
	if (j && hooks && json_object_set_new(j, "hooks", hooks) < 0)
		return NULL;
	return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

int oci_state_parse(const char *text, size_t len, struct oci_state *s, struct arca_err *e)
{
	json_error_t je;
	json_t *ann = NULL, *hooks = NULL;
	const char *id, *bundle;
	json_int_t pid, pid_start, created;
	int started;

	*s = (struct oci_state){ 0 };
	_cleanup_json_ json_t *j = json_loadb(text, len, 0, &je);
	if (!j || json_unpack(j, "{s:s, s:s, s:I, s:I, s:I, s:b, s?o, s?o}", "id", &id, "bundle",
			      &bundle, "pid", &pid, "pid_start", &pid_start, "created_ms",
			      &created, "started", &started, "annotations", &ann, "hooks",
			      &hooks) < 0)
		return arca_error(e, EPROTO, "state file: not the runtime's format");
	if (pid < 0 || pid > INT32_MAX || pid_start < 0 || created < 0 ||
	    strlen(id) >= sizeof(s->id) || strlen(bundle) >= sizeof(s->bundle))
		return arca_error(e, EPROTO, "state file: a value out of range");
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->bundle, sizeof(s->bundle), "%s", bundle);
	s->pid = (int)pid;
	s->pid_start = (uint64_t)pid_start;
	s->created_ms = (uint64_t)created;
	s->started = started;
	if (ann && json_is_object(ann) && !(s->annotations = json_dumps(ann, JSON_COMPACT)))
		return arca_error(e, ENOMEM, "out of memory");
	if (hooks && json_is_object(hooks) && !(s->hooks = json_dumps(hooks, JSON_COMPACT))) {
		oci_state_free(s);
		return arca_error(e, ENOMEM, "out of memory");
	}
	return 0;
}

char *oci_state_report(const struct oci_state *s, enum oci_status st)
{
	char created[96];
	time_t t = (time_t)(s->created_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(created, sizeof(created), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(s->created_ms % 1000));
	/* pid is only meaningful while the process lives (runtime.md). */
	_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o}", "ociVersion",
					     "1.2.0", "id", s->id, "status", oci_status_name(st),
					     "pid", st == OCI_STOPPED ? 0 : s->pid, "bundle",
					     s->bundle, "created", created, "annotations",
					     annotations_of(s));
	return j ? json_dumps(j, JSON_INDENT(2)) : NULL;
}
