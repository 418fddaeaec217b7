/* SPDX-License-Identifier: MIT */
/* The OCI bundle's mapping (launcher/oci.c): config.json and process.json
 * onto `arca start` / `arca exec` argument vectors, the refusals (each
 * naming its field), the runtime's state file and `state` report, and
 * container ids; then every truncation of a valid config.json. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "oci.h"

/* ---- fixtures ------------------------------------------------------------- */

static char tmpdir[64];      /* a real directory (mkdtemp) */
static char tmpfile_[96];    /* a real regular file in it */
static char valid[8192];     /* test 1's config.json, with tmpdir/tmpfile_ */
static size_t valid_len;

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/arca-test-oci-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(tmpfile_, sizeof(tmpfile_), "%s/resolv.conf", tmpdir);
	FILE *f = fopen(tmpfile_, "w");
	if (!f)
		return -1;
	fputs("nameserver 127.0.0.1\n", f);
	fclose(f);
	int n = snprintf(
		valid, sizeof(valid),
		"{\"ociVersion\": \"1.0.2\",\n"
		" \"root\": {\"path\": \"rootfs\", \"readonly\": false},\n"
		" \"process\": {\"terminal\": false, \"user\": {\"uid\": 1000, \"gid\": 100},\n"
		"   \"args\": [\"sh\", \"-c\", \"exit 3\"], \"env\": [\"PATH=/bin\", \"A=b c\"],\n"
		"   \"cwd\": \"/work\", \"capabilities\": {\"bounding\": [\"CAP_KILL\"]},\n"
		"   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 64, \"hard\": 128}],\n"
		"   \"noNewPrivileges\": true},\n"
		" \"hostname\": \"ctr\",\n"
		" \"mounts\": [\n"
		"  {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"%s\",\n"
		"   \"options\": [\"rbind\", \"ro\"]},\n"
		"  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
		"  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
		"   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
		"  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
		"   \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\"]},\n"
		"  {\"destination\": \"/etc/resolv.conf\", \"type\": \"bind\", \"source\": \"%s\",\n"
		"   \"options\": [\"rbind\", \"ro\"]}],\n"
		" \"linux\": {\"resources\": {\"memory\": {\"limit\": 268435456},\n"
		"   \"cpu\": {\"quota\": 150000, \"period\": 100000}},\n"
		"   \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}],\n"
		"   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\"}},\n"
		" \"annotations\": {\"arca.kernel\": \"/k\"}}",
		tmpdir, tmpfile_);
	if (n < 0 || (size_t)n >= sizeof(valid))
		return -1;
	valid_len = (size_t)n;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tmpfile_);
	rmdir(tmpdir);
	return 0;
}

/* A fake host: /dir... are directories, /etc/passwd, /etc/hosts,
 * /etc/hostname, /etc/resolv.conf and /f are files, the rest is missing.
 * The last path asked is kept. */
static char last_stat[8192];
static int fake_stat(const char *path, bool *is_dir)
{
	snprintf(last_stat, sizeof(last_stat), "%s", path);
	if (!strncmp(path, "/dir", 4) || !strncmp(path, "/b/", 3)) {
		*is_dir = true;
		return 0;
	}
	static const char *const files[] = { "/etc/passwd", "/etc/hosts", "/etc/hostname",
					     "/etc/resolv.conf", "/f" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(path, files[i])) {
			*is_dir = false;
			return 0;
		}
	return -ENOENT;
}

/* {"ociVersion", root, process, rest...}: NULL takes the default part,
 * "" leaves it out. The result lives until pool_free(). */
static char *pool[512];
static size_t npool;

static void pool_free(void)
{
	while (npool)
		free(pool[--npool]);
}

static const char *keep(char *s)
{
	assert_non_null(s);
	assert_true(npool < sizeof(pool) / sizeof(pool[0]));
	pool[npool++] = s;
	return s;
}

static const char *cfg(const char *ver, const char *root, const char *proc, const char *rest)
{
	const char *parts[4] = {
		ver ? ver : "\"ociVersion\": \"1.0.2\"",
		root ? root : "\"root\": {\"path\": \"rootfs\"}",
		proc ? proc : "\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}",
		rest ? rest : "",
	};
	size_t cap = 8;
	for (size_t i = 0; i < 4; i++)
		cap += strlen(parts[i]) + 1;
	char *b = malloc(cap);
	assert_non_null(b);
	size_t n = 0;
	b[n++] = '{';
	bool first = true;
	for (size_t i = 0; i < 4; i++) {
		if (!*parts[i])
			continue;
		size_t l = strlen(parts[i]);
		if (!first)
			b[n++] = ',';
		memcpy(b + n, parts[i], l);
		n += l;
		first = false;
	}
	b[n++] = '}';
	b[n] = '\0';
	return keep(b);
}

/* Only the process part differs. */
static const char *with_proc(const char *proc_body)
{
	char *b;
	assert_true(asprintf(&b, "\"process\": %s", proc_body) > 0);
	const char *r = cfg(NULL, NULL, b, NULL);
	free(b);
	return r;
}

static const char *with_rest(const char *rest)
{
	return cfg(NULL, NULL, NULL, rest);
}

static void argv_equal(const struct oci_argv *a, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	assert_non_null(a->v);
	for (size_t i = 0; i < n && i < a->n; i++)
		if (!a->v[i] || strcmp(a->v[i], want[i]))
			fail_msg("argv[%zu]: got '%s', want '%s'", i, a->v[i] ? a->v[i] : "(null)",
				 want[i]);
	if (a->n != n) {
		for (size_t i = 0; i < a->n; i++)
			print_message("  got[%zu] '%s'\n", i, a->v[i]);
		fail_msg("argc: got %zu, want %zu", a->n, n);
	}
	assert_null(a->v[n]);
}

static void plan_ok(const char *text, const char *bundle, oci_stat_fn st, struct oci_plan *p)
{
	struct arca_err e = { 0 };
	int r = oci_plan_config(text, strlen(text), bundle, "c1", st, p, &e);
	if (r != 0)
		fail_msg("%s\n -> %d '%s'", text, r, e.msg);
}

/* Fails with -code (any negative errno when code is 0), e.msg holding
 * field, and the plan freed. */
static void plan_fails(const char *text, size_t len, oci_stat_fn st, int code, const char *field)
{
	struct oci_plan p;
	struct arca_err e = { 0 };
	int r = oci_plan_config(text, len, "/b", "c1", st, &p, &e);
	if (r >= 0 || (code && r != -code))
		fail_msg("%.300s\n -> %d '%s', want %d", text, r, e.msg, -code);
	if (field && !strstr(e.msg, field))
		fail_msg("%.300s\n -> '%s', want it to name '%s'", text, e.msg, field);
	assert_int_equal(e.code, -r);
	assert_null(p.start.v);
	assert_null(p.exec.v);
	assert_int_equal(p.start.n, 0);
	assert_int_equal(p.exec.n, 0);
}

static void fails(const char *text, int code, const char *field)
{
	plan_fails(text, strlen(text), fake_stat, code, field);
}

/* ---- 1: the full mapping ----------------------------------------------------- */

static void test_config_full(void **state)
{
	(void)state;
	struct oci_plan p;
	struct arca_err e = { 0 };
	char vol[128];
	snprintf(vol, sizeof(vol), "%s:/data:ro", tmpdir);

	assert_int_equal(oci_plan_config(valid, valid_len, "/bundle", "c1", oci_stat_host, &p, &e),
			 0);
	const char *start[] = { "arca", "start", "--name", "c1", "--root", "/bundle/rootfs",
				"--kernel", "/k", "--cpus", "2", "--memory", "256", "-v", vol,
				NULL };
	argv_equal(&p.start, start);
	const char *exec[] = { "arca", "exec", "-w", "/work", "-u", "1000:100", "-e", "PATH=/bin",
			       "-e", "A=b c", "--ulimit", "nofile=64:128", "--no-new-privileges",
			       "--cap-mask", "20,0,0,0,0", "c1", "--", "sh", "-c", "exit 3", NULL };
	argv_equal(&p.exec, exec);
	assert_false(p.terminal);
	assert_non_null(strstr(p.notes, "/etc/resolv.conf"));
	assert_non_null(strstr(p.notes, "mounts[4]"));
	oci_plan_free(&p);
	assert_null(p.start.v);
	assert_null(p.exec.v);
	assert_int_equal(p.start.n, 0);
}

/* The guest's own mounts, relative bind sources (against the bundle), rw
 * binds, bind by option, and the engine's files as file shares. */
static void test_config_mounts(void **state)
{
	(void)state;
	struct oci_plan p;
	plan_ok(with_rest("\"mounts\": ["
			  "{\"destination\": \"/src\", \"type\": \"none\", \"source\": \"data\","
			  " \"options\": [\"bind\"]},"
			  "{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\"},"
			  "{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\"},"
			  "{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\"},"
			  "{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup2\"},"
			  "{\"destination\": \"/tmp\", \"type\": \"tmpfs\"},"
			  "{\"destination\": \"/run\", \"type\": \"tmpfs\"},"
			  "{\"destination\": \"/etc/hosts\", \"type\": \"bind\", \"source\": \"/etc/hosts\"},"
			  "{\"destination\": \"/etc/hostname\", \"source\": \"/etc/hostname\","
			  " \"options\": [\"rbind\", \"rw\"]},"
			  "{\"destination\": \"/opt/x\", \"type\": \"bind\", \"source\": \"/dir/x\","
			  " \"options\": [\"rbind\", \"rw\"]}]"),
		"/b", fake_stat, &p);
	const char *start[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs",
				"-v", "/b/data:/src:rw", "-v", "/etc/hosts:/etc/hosts:rw",
				"-v", "/etc/hostname:/etc/hostname:rw", "-v", "/dir/x:/opt/x:rw",
				NULL };
	argv_equal(&p.start, start);
	const char *exec[] = { "arca", "exec", "-w", "/", "c1", "--", "sh", NULL };
	argv_equal(&p.exec, exec);
	assert_null(strstr(p.notes, "mounts[7]"));
	oci_plan_free(&p);

	/* The engine's resolv.conf names the resolvers; it is not a share. */
	plan_ok(with_rest("\"mounts\": [{\"destination\": \"/etc/resolv.conf\", \"type\": \"bind\","
			  " \"source\": \"/etc/hosts\", \"options\": [\"ro\"]}]"),
		"/b", fake_stat, &p);
	const char *start2[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs", NULL };
	argv_equal(&p.start, start2);
	assert_string_equal(p.resolv_conf, "/etc/hosts");
	oci_plan_free(&p);

	/* Empty hooks arrays, unknown hooks keys with no entries: fine. */
	plan_ok(with_rest("\"hooks\": {\"prestart\": [], \"createRuntime\": [], \"poststop\": []}"),
		"/b", fake_stat, &p);
	assert_string_equal(p.notes, "");
	oci_plan_free(&p);
	pool_free();
}

/* ---- 2: variants ------------------------------------------------------------- */

static void test_config_variants(void **state)
{
	(void)state;
	struct oci_plan p;

	/* readonly: the bundle is left alone. */
	plan_ok(cfg(NULL, "\"root\": {\"path\": \"rootfs\", \"readonly\": true}", NULL, NULL), "/b",
		fake_stat, &p);
	const char *ro[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs", NULL };
	argv_equal(&p.start, ro);
	oci_plan_free(&p);

	/* arca.root_rw: write through; not with readonly; only true/false. */
	plan_ok(cfg(NULL, NULL, NULL, "\"annotations\": {\"arca.root_rw\": \"true\"}"), "/b",
		fake_stat, &p);
	const char *rw[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs:rw", NULL };
	argv_equal(&p.start, rw);
	oci_plan_free(&p);
	plan_ok(cfg(NULL, NULL, NULL, "\"annotations\": {\"arca.root_rw\": \"false\"}"), "/b",
		fake_stat, &p);
	const char *norw[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs", NULL };
	argv_equal(&p.start, norw);
	oci_plan_free(&p);
	{
		const char *t = cfg(NULL, "\"root\": {\"path\": \"rootfs\", \"readonly\": true}",
				    NULL, "\"annotations\": {\"arca.root_rw\": \"true\"}");
		plan_fails(t, strlen(t), fake_stat, EINVAL, "arca.root_rw");
		t = cfg(NULL, NULL, NULL, "\"annotations\": {\"arca.root_rw\": \"yes\"}");
		plan_fails(t, strlen(t), fake_stat, EINVAL, "arca.root_rw");
		t = cfg(NULL, NULL, NULL, "\"annotations\": {\"arca.root_rw\": true}");
		plan_fails(t, strlen(t), fake_stat, EINVAL, "arca.root_rw");
	}

	/* An absolute root.path as is. */
	plan_ok(cfg(NULL, "\"root\": {\"path\": \"/srv/r\"}", NULL, NULL), "/b", fake_stat, &p);
	const char *abs[] = { "arca", "start", "--name", "c1", "--root", "/srv/r", NULL };
	argv_equal(&p.start, abs);
	oci_plan_free(&p);

	/* Annotations override the resources. */
	plan_ok(with_rest("\"linux\": {\"resources\": {\"memory\": {\"limit\": 268435456},"
			  " \"cpu\": {\"quota\": 150000, \"period\": 100000}}},"
			  "\"annotations\": {\"arca.cpus\": \"4\", \"arca.memory_mib\": \"1024\"}"),
		"/b", fake_stat, &p);
	const char *ann[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs",
			      "--cpus", "4", "--memory", "1024", NULL };
	argv_equal(&p.start, ann);
	oci_plan_free(&p);

	/* -1: no limit. */
	plan_ok(with_rest("\"linux\": {\"resources\": {\"memory\": {\"limit\": -1},"
			  " \"cpu\": {\"quota\": -1, \"period\": 100000}}}"),
		"/b", fake_stat, &p);
	const char *nolim[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs", NULL };
	argv_equal(&p.start, nolim);
	oci_plan_free(&p);

	/* Rounded up: one byte over 256 MiB, 1.00001 CPUs. */
	plan_ok(with_rest("\"linux\": {\"resources\": {\"memory\": {\"limit\": 268435457},"
			  " \"cpu\": {\"quota\": 100001, \"period\": 100000}}}"),
		"/b", fake_stat, &p);
	const char *up[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs",
			     "--cpus", "2", "--memory", "257", NULL };
	argv_equal(&p.start, up);
	oci_plan_free(&p);

	/* A quota without a period, a zero limit: nothing. */
	plan_ok(with_rest("\"linux\": {\"resources\": {\"memory\": {\"limit\": 0},"
			  " \"cpu\": {\"quota\": 50000}}}"),
		"/b", fake_stat, &p);
	argv_equal(&p.start, nolim);
	oci_plan_free(&p);

	/* The largest JSON integer is "unlimited". */
	plan_ok(with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": ["
			  "{\"type\": \"RLIMIT_CORE\", \"soft\": 9223372036854775807,"
			  " \"hard\": 9223372036854775807},"
			  "{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 9223372036854775807},"
			  "{\"type\": \"RLIMIT_STACK\", \"soft\": 0, \"hard\": 9223372036854775806}]}"),
		"/b", fake_stat, &p);
	const char *rl[] = { "arca", "exec", "-w", "/", "--ulimit", "core=unlimited:unlimited",
			     "--ulimit", "nofile=1024:unlimited", "--ulimit",
			     "stack=0:9223372036854775806", "c1", "--", "sh", NULL };
	argv_equal(&p.exec, rl);
	oci_plan_free(&p);

	/* A second argument may be empty; root is 0:0. */
	plan_ok(with_proc("{\"args\": [\"echo\", \"\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0},"
			  " \"env\": [\"E=\"], \"terminal\": true}"),
		"/b", fake_stat, &p);
	const char *misc[] = { "arca", "exec", "-t", "-w", "/", "-u", "0:0", "-e", "E=", "c1",
			       "--", "echo", "", NULL };
	argv_equal(&p.exec, misc);
	assert_true(p.terminal);
	oci_plan_free(&p);

	/* Exactly OCI_MOUNTS_MAX mounts is fine. */
	static char many[OCI_MOUNTS_MAX * 64 + 64];
	size_t n = (size_t)snprintf(many, sizeof(many), "\"mounts\": [");
	for (size_t i = 0; i < OCI_MOUNTS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s{\"destination\": \"/proc\","
				      " \"type\": \"proc\"}", i ? "," : "");
	snprintf(many + n, sizeof(many) - n, "]");
	plan_ok(with_rest(many), "/b", fake_stat, &p);
	oci_plan_free(&p);
	pool_free();
}

/* ---- 3: refusals --------------------------------------------------------------- */

static void test_config_errors(void **state)
{
	(void)state;
	const struct {
		const char *text;
		int code;
		const char *field;
	} bad[] = {
		/* the document */
		{ "", EINVAL, "config.json" },
		{ "not json", EINVAL, "config.json" },
		{ "[{\"ociVersion\": \"1.0.2\"}]", EINVAL, "config.json: not a JSON object" },
		{ "\"1.0.2\"", EINVAL, "config.json" },
		{ "{\"ociVersion\": \"1.0.2\", \"ociVersion\": \"1.0.2\","
		  " \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}}",
		  EINVAL, "duplicate" },
		{ "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\", \"path\": \"s\"},"
		  " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}}",
		  EINVAL, "duplicate" },
		/* ociVersion */
		{ cfg("", NULL, NULL, NULL), EINVAL, "ociVersion" },
		{ cfg("\"ociVersion\": \"2.0.0\"", NULL, NULL, NULL), EINVAL, "ociVersion" },
		{ cfg("\"ociVersion\": \"1\"", NULL, NULL, NULL), EINVAL, "ociVersion" },
		{ cfg("\"ociVersion\": \"\"", NULL, NULL, NULL), EINVAL, "ociVersion" },
		{ cfg("\"ociVersion\": 1", NULL, NULL, NULL), EINVAL, "ociVersion" },
		/* root */
		{ cfg(NULL, "", NULL, NULL), EINVAL, "root.path" },
		{ cfg(NULL, "\"root\": {}", NULL, NULL), EINVAL, "root.path" },
		{ cfg(NULL, "\"root\": {\"path\": 1}", NULL, NULL), EINVAL, "root.path" },
		{ cfg(NULL, "\"root\": \"rootfs\"", NULL, NULL), EINVAL, "root" },
		{ cfg(NULL, "\"root\": {\"path\": \"a:b\"}", NULL, NULL), EINVAL, "root.path" },
		{ cfg(NULL, "\"root\": {\"path\": \"/a:rw\"}", NULL, NULL), EINVAL, "root.path" },
		{ cfg(NULL, "\"root\": {\"path\": \"a,b\"}", NULL, NULL), EINVAL, "root.path" },
		{ cfg(NULL, "\"root\": {\"path\": \"r\", \"readonly\": \"yes\"}", NULL, NULL), EINVAL,
		  "root.readonly" },
		/* process */
		{ cfg(NULL, NULL, "", NULL), EINVAL, "process" },
		{ cfg(NULL, NULL, "\"process\": [\"sh\"]", NULL), EINVAL, "process" },
		{ with_proc("{\"cwd\": \"/\"}"), EINVAL, "process.args" },
		{ with_proc("{\"args\": [], \"cwd\": \"/\"}"), EINVAL, "process.args" },
		{ with_proc("{\"args\": \"sh\", \"cwd\": \"/\"}"), EINVAL, "process.args" },
		{ with_proc("{\"args\": [1], \"cwd\": \"/\"}"), EINVAL, "process.args[0]" },
		{ with_proc("{\"args\": [\"sh\", null], \"cwd\": \"/\"}"), EINVAL, "process.args[1]" },
		{ with_proc("{\"args\": [\"\"], \"cwd\": \"/\"}"), EINVAL, "process.args[0]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"work\"}"), EINVAL, "process.cwd" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"\"}"), EINVAL, "process.cwd" },
		{ with_proc("{\"args\": [\"sh\"]}"), EINVAL, "process.cwd" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": 1}"), EINVAL, "process.cwd" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": [\"A=1\", \"B\"]}"), EINVAL,
		  "process.env[1]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": [\"=x\"]}"), EINVAL,
		  "process.env[0]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": [\"A=1\", 2]}"), EINVAL,
		  "process.env[1]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": [{\"A\": \"1\"}]}"), EINVAL,
		  "process.env[0]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": \"A=1\"}"), EINVAL,
		  "process.env" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"terminal\": \"yes\"}"), EINVAL,
		  "process.terminal" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"user\": {\"uid\": 0, \"gid\": 0, \"username\": \"root\"}}"),
		  EINVAL, "process.user.username" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"user\": {\"uid\": 4294967295, \"gid\": 0}}"),
		  EINVAL, "process.user.uid" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"user\": {\"uid\": -1, \"gid\": 0}}"),
		  EINVAL, "process.user.uid" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"user\": {\"uid\": 0, \"gid\": 4294967296}}"),
		  EINVAL, "process.user.gid" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"user\": {\"uid\": \"0\", \"gid\": 0}}"),
		  EINVAL, "process.user.uid" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"user\": {\"uid\": 1.5, \"gid\": 0}}"),
		  EINVAL, "process.user.uid" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": 0}"), EINVAL,
		  "process.user" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"rlimits\": [{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]}"),
		  EINVAL, "process.rlimits[0].type" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"rlimits\": [{\"type\": \"nofile\", \"soft\": 1, \"hard\": 1}]}"),
		  EINVAL, "process.rlimits[0].type" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"rlimits\": [{\"soft\": 1, \"hard\": 1}]}"),
		  EINVAL, "process.rlimits[0].type" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1}]}"),
		  EINVAL, "process.rlimits[0]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": ["
			    "{\"type\": \"RLIMIT_CORE\", \"soft\": 1, \"hard\": 1},"
			    "{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1}]}"),
		  EINVAL, "process.rlimits[1]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\","
			    " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": -1, \"hard\": 1}]}"),
		  EINVAL, "process.rlimits[0]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": [\"RLIMIT_CORE\"]}"),
		  EINVAL, "process.rlimits[0]" },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": ["
			    "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]}"),
		  E2BIG, "process.rlimits" },
		/* mounts */
		{ with_rest("\"mounts\": {}"), EINVAL, "mounts" },
		{ with_rest("\"mounts\": [1]"), EINVAL, "mounts[0]" },
		{ with_rest("\"mounts\": [{\"destination\": \"data\", \"type\": \"bind\","
			    " \"source\": \"/dir\"}]"),
		  EINVAL, "mounts[0].destination" },
		{ with_rest("\"mounts\": [{\"type\": \"proc\"}]"), EINVAL, "mounts[0].destination" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"nfs\","
			    " \"source\": \"srv:/x\"}]"),
		  EINVAL, "mounts[0].type" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\"}]"), EINVAL, "mounts[0].type" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": 7}]"), EINVAL,
		  "mounts[0].type" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"tmpfs\"}]"), EINVAL,
		  "mounts[0]" },
		{ with_rest("\"mounts\": [{\"destination\": \"/proc/sys\", \"type\": \"proc\"}]"),
		  EINVAL, "mounts[0]" },
		{ with_rest("\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\"},"
			    " {\"destination\": \"/x\", \"type\": \"overlay\"}]"),
		  EINVAL, "mounts[1].type" },
		{ with_rest("\"mounts\": [{\"destination\": \"/a:b\", \"type\": \"bind\","
			    " \"source\": \"/etc/passwd\", \"options\": [\"rbind\", \"ro\"]}]"),
		  EINVAL, "mounts[0].destination" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
			    " \"source\": \"/f,x\"}]"),
		  ENOENT, "mounts[0].source" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
			    " \"source\": \"/nope\"}]"),
		  ENOENT, "mounts[0].source" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\"}]"), EINVAL,
		  "mounts[0].source" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"options\": [\"rbind\"]}]"),
		  EINVAL, "mounts[0].source" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
			    " \"source\": \"/dir:x\"}]"),
		  EINVAL, "mounts[0].source" },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
			    " \"source\": \"/dir,x\"}]"),
		  EINVAL, "mounts[0].source" },
		{ with_rest("\"mounts\": [{\"destination\": \"/a:b\", \"type\": \"bind\","
			    " \"source\": \"/dir\"}]"),
		  EINVAL, "mounts[0].destination" },
		{ with_rest("\"mounts\": [{\"destination\": \"/a\", \"type\": \"bind\","
			    " \"source\": \"/dir\", \"options\": \"ro\"}]"),
		  EINVAL, "mounts[0].options" },
		/* hooks */
		{ with_rest("\"hooks\": {\"startContainer\": [{\"path\": \"/bin/true\"}]}"), ENOTSUP,
		  "hooks.startContainer" },
		{ with_rest("\"hooks\": {\"prestart\": [], \"poststart\": [{\"path\": \"x\"}]}"),
		  EINVAL, "hooks.poststart[0].path" },
		{ with_rest("\"hooks\": {\"poststop\": [{\"path\": \"/x\", \"env\": [\"A\"]}]}"),
		  EINVAL, "hooks.poststop[0].env[0]" },
		{ with_rest("\"hooks\": {\"poststop\": [{\"path\": \"/x\", \"args\": [1]}]}"),
		  EINVAL, "hooks.poststop[0].args[0]" },
		{ with_rest("\"hooks\": {\"poststop\": [{\"path\": \"/x\", \"timeout\": 0}]}"),
		  EINVAL, "hooks.poststop[0].timeout" },
		{ with_rest("\"hooks\": {\"poststop\": [\"/x\"]}"), EINVAL, "hooks.poststop[0]" },
		{ with_rest("\"hooks\": {\"poststop\": {}}"), EINVAL, "hooks.poststop" },
		{ with_rest("\"hooks\": {\"later\": []}"), EINVAL, "hooks.later" },
		{ with_rest("\"hooks\": []"), EINVAL, "hooks" },
		/* resources and annotations */
		{ with_rest("\"annotations\": {\"arca.cpus\": \"0\"}"), EINVAL, "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.cpus\": \"x\"}"), EINVAL, "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.cpus\": \"65\"}"), EINVAL,
		  "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.cpus\": \"\"}"), EINVAL, "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.cpus\": \"-1\"}"), EINVAL,
		  "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.cpus\": \"2x\"}"), EINVAL,
		  "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.cpus\": 2}"), EINVAL, "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.cpus\": \"18446744073709551617\"}"), EINVAL,
		  "annotations.arca.cpus" },
		{ with_rest("\"annotations\": {\"arca.memory_mib\": \"63\"}"), EINVAL,
		  "annotations.arca.memory_mib" },
		{ with_rest("\"annotations\": {\"arca.memory_mib\": \"65537\"}"), EINVAL,
		  "annotations.arca.memory_mib" },
		{ with_rest("\"annotations\": {\"arca.kernel\": 1}"), EINVAL, "annotations.arca.kernel" },
		{ with_rest("\"annotations\": [\"arca.cpus\"]"), EINVAL, "annotations" },
		{ with_rest("\"linux\": {\"resources\": {\"memory\": {\"limit\": \"1g\"}}}"), EINVAL,
		  "linux.resources.memory.limit" },
		{ with_rest("\"linux\": {\"resources\": {\"memory\": {\"limit\": -2}}}"), EINVAL,
		  "linux.resources.memory.limit" },
		{ with_rest("\"linux\": {\"resources\": {\"cpu\": {\"quota\": -2, \"period\": 1}}}"),
		  EINVAL, "linux.resources.cpu.quota" },
		{ with_rest("\"linux\": {\"resources\": {\"cpu\": {\"period\": -1}}}"), EINVAL,
		  "linux.resources.cpu.period" },
		{ with_rest("\"linux\": {\"resources\": []}"), EINVAL, "linux.resources" },
		{ with_rest("\"linux\": 1"), EINVAL, "linux" },
		/* a NUL inside a string: refused (jansson's own message) */
		{ with_proc("{\"args\": [\"sh\\u0000x\"], \"cwd\": \"/\"}"), EINVAL, NULL },
		{ with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\\u0000/x\"}"), EINVAL, NULL },
		{ with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
			    " \"source\": \"/dir\\u0000/etc\"}]"),
		  EINVAL, NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		fails(bad[i].text, bad[i].code, bad[i].field);
	pool_free();
}

/* Errors against the real host (oci_stat_host), sizes, and counts. */
static void test_config_errors_host(void **state)
{
	(void)state;
	char *t, *src;

	/* A regular file is a file share, read-only where asked. */
	{
		struct oci_plan p;
		assert_true(asprintf(&t, "\"mounts\": [{\"destination\": \"/data\", \"type\":"
				     " \"bind\", \"source\": \"%s\", \"options\": [\"rbind\","
				     " \"ro\"]}]", tmpfile_) > 0);
		plan_ok(with_rest(t), "/b", oci_stat_host, &p);
		char *want;
		assert_true(asprintf(&want, "%s:/data:ro", tmpfile_) > 0);
		assert_string_equal(p.start.v[p.start.n - 1], want);
		free(want);
		free(t);
		oci_plan_free(&p);
	}
	/* Missing, absolute and relative to the bundle. */
	assert_true(asprintf(&src, "%s/nope", tmpdir) > 0);
	assert_true(asprintf(&t, "\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
			     " \"source\": \"%s\"}]", src) > 0);
	const char *text = with_rest(t);
	plan_fails(text, strlen(text), oci_stat_host, ENOENT, "mounts[0].source");
	free(t);
	free(src);
	{
		struct oci_plan p;
		struct arca_err e = { 0 };
		text = with_rest("\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
				 " \"source\": \"nope\"}]");
		assert_int_equal(oci_plan_config(text, strlen(text), tmpdir, "c1", oci_stat_host, &p,
						 &e),
				 -ENOENT);
		assert_non_null(strstr(e.msg, "mounts[0].source"));
		assert_non_null(strstr(e.msg, "/nope"));
		assert_null(p.start.v);
		assert_null(p.exec.v);
		/* ...and a relative source found in the bundle. */
		text = with_rest("\"mounts\": [{\"destination\": \"/etc/resolv.conf\","
				 " \"type\": \"bind\", \"source\": \"resolv.conf\"},"
				 " {\"destination\": \"/d\", \"type\": \"bind\", \"source\": \".\"}]");
		assert_int_equal(oci_plan_config(text, strlen(text), tmpdir, "c1", oci_stat_host, &p,
						 &e),
				 0);
		char vol[128];
		snprintf(vol, sizeof(vol), "%s/.:/d:rw", tmpdir);
		char root[128];
		snprintf(root, sizeof(root), "%s/rootfs", tmpdir);
		const char *want[] = { "arca", "start", "--name", "c1", "--root", root, "-v", vol,
				       NULL };
		argv_equal(&p.start, want);
		assert_non_null(strstr(p.notes, "/etc/resolv.conf"));
		oci_plan_free(&p);
	}

	/* Size: OCI_CONFIG_MAX bytes is read, one more is E2BIG. */
	const char *base = cfg(NULL, NULL, NULL, NULL);
	size_t bl = strlen(base);
	char *big = malloc(OCI_CONFIG_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', OCI_CONFIG_MAX + 1);
	memcpy(big, base, bl);
	big[OCI_CONFIG_MAX + 1] = '\0';
	{
		struct oci_plan p;
		struct arca_err e = { 0 };
		assert_int_equal(oci_plan_config(big, OCI_CONFIG_MAX, "/b", "c1", fake_stat, &p, &e),
				 0);
		oci_plan_free(&p);
	}
	plan_fails(big, OCI_CONFIG_MAX + 1, fake_stat, E2BIG, "config.json");
	free(big);

	/* OCI_MOUNTS_MAX + 1 mounts. */
	size_t cap = (OCI_MOUNTS_MAX + 1) * 64 + 64, n;
	char *many = malloc(cap);
	assert_non_null(many);
	n = (size_t)snprintf(many, cap, "\"mounts\": [");
	for (size_t i = 0; i <= OCI_MOUNTS_MAX; i++)
		n += (size_t)snprintf(many + n, cap - n, "%s{\"destination\": \"/proc\","
				      " \"type\": \"proc\"}", i ? "," : "");
	snprintf(many + n, cap - n, "]");
	text = with_rest(many);
	plan_fails(text, strlen(text), fake_stat, E2BIG, "mounts");
	free(many);

	/* More than OCI_ARGS_MAX args. */
	cap = (OCI_ARGS_MAX + 1) * 6 + 64;
	char *args = malloc(cap);
	assert_non_null(args);
	n = (size_t)snprintf(args, cap, "{\"cwd\": \"/\", \"args\": [");
	for (size_t i = 0; i <= OCI_ARGS_MAX; i++)
		n += (size_t)snprintf(args + n, cap - n, "%s\"a\"", i ? "," : "");
	snprintf(args + n, cap - n, "]}");
	text = with_proc(args);
	plan_fails(text, strlen(text), fake_stat, E2BIG, "process.args");
	free(args);

	/* A bundle so long that bundle/root.path does not fit. */
	char *longb = malloc(5000);
	assert_non_null(longb);
	memset(longb, 'b', 4999);
	longb[0] = '/';
	longb[4999] = '\0';
	{
		struct oci_plan p;
		struct arca_err e = { 0 };
		text = cfg(NULL, NULL, NULL, NULL);
		assert_int_equal(oci_plan_config(text, strlen(text), longb, "c1", fake_stat, &p, &e),
				 -ENAMETOOLONG);
		assert_non_null(strstr(e.msg, "root.path"));
		assert_null(p.start.v);
		assert_null(p.exec.v);
	}
	free(longb);
	pool_free();
}

/* ---- 4: process.json ------------------------------------------------------------ */

static void test_process(void **state)
{
	(void)state;
	struct oci_plan p;
	struct arca_err e = { 0 };
	const char *ok = "{\"terminal\": true, \"args\": [\"top\", \"-b\"], \"cwd\": \"/root\","
			 " \"env\": [\"TERM=xterm\"], \"user\": {\"uid\": 0, \"gid\": 0},"
			 " \"rlimits\": [{\"type\": \"RLIMIT_NPROC\", \"soft\": 10, \"hard\": 20}]}";
	assert_int_equal(oci_plan_process(ok, strlen(ok), "c1", &p, &e), 0);
	const char *want[] = { "arca", "exec", "-t", "-w", "/root", "-u", "0:0", "-e",
			       "TERM=xterm", "--ulimit", "nproc=10:20", "c1", "--", "top", "-b",
			       NULL };
	argv_equal(&p.exec, want);
	assert_true(p.terminal);
	assert_null(p.start.v);
	oci_plan_free(&p);

	const char *plain = "{\"args\": [\"true\"], \"cwd\": \"/\", \"terminal\": false}";
	assert_int_equal(oci_plan_process(plain, strlen(plain), "x.y", &p, &e), 0);
	const char *want2[] = { "arca", "exec", "-w", "/", "x.y", "--", "true", NULL };
	argv_equal(&p.exec, want2);
	assert_false(p.terminal);
	oci_plan_free(&p);

	const struct {
		const char *text;
		int code;
		const char *field;
	} bad[] = {
		{ "", EINVAL, "process.json" },
		{ "nope", EINVAL, "process.json" },
		{ "[\"sh\"]", EINVAL, "process.json: not a JSON object" },
		{ "{}", EINVAL, "process.cwd" },
		{ "{\"cwd\": \"/\"}", EINVAL, "process.args" },
		{ "{\"cwd\": \"/\", \"args\": []}", EINVAL, "process.args" },
		{ "{\"cwd\": \"/\", \"args\": [\"\"]}", EINVAL, "process.args[0]" },
		{ "{\"cwd\": \"/\", \"args\": [\"a\", 1]}", EINVAL, "process.args[1]" },
		{ "{\"cwd\": \"tmp\", \"args\": [\"a\"]}", EINVAL, "process.cwd" },
		{ "{\"cwd\": \"/\", \"args\": [\"a\"], \"terminal\": 1}", EINVAL, "process.terminal" },
		{ "{\"cwd\": \"/\", \"args\": [\"a\"], \"env\": [\"X\"]}", EINVAL, "process.env[0]" },
		{ "{\"cwd\": \"/\", \"args\": [\"a\"], \"user\": {\"uid\": 4294967295}}", EINVAL,
		  "process.user.uid" },
		{ "{\"cwd\": \"/\", \"args\": [\"a\"], \"user\": {\"username\": \"u\"}}", EINVAL,
		  "process.user.username" },
		{ "{\"cwd\": \"/\", \"args\": [\"a\"],"
		  " \"rlimits\": [{\"type\": \"RLIMIT_X\", \"soft\": 1, \"hard\": 1}]}",
		  EINVAL, "process.rlimits[0].type" },
		{ "{\"cwd\": \"/\", \"cwd\": \"/\", \"args\": [\"a\"]}", EINVAL, "duplicate" },
		{ "{\"cwd\": \"/\", \"args\": [\"a\\u0000b\"]}", EINVAL, NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		int r = oci_plan_process(bad[i].text, strlen(bad[i].text), "c1", &p, &e);
		if (r != -bad[i].code)
			fail_msg("%s -> %d '%s'", bad[i].text, r, e.msg);
		if (bad[i].field && !strstr(e.msg, bad[i].field))
			fail_msg("%s -> '%s', want '%s'", bad[i].text, e.msg, bad[i].field);
		assert_null(p.exec.v);
		assert_null(p.start.v);
		assert_int_equal(p.exec.n, 0);
	}

	char *big = malloc(OCI_CONFIG_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', OCI_CONFIG_MAX + 1);
	memcpy(big, plain, strlen(plain));
	assert_int_equal(oci_plan_process(big, OCI_CONFIG_MAX + 1, "c1", &p, &e), -E2BIG);
	assert_null(p.exec.v);
	assert_int_equal(oci_plan_process(big, OCI_CONFIG_MAX, "c1", &p, &e), 0);
	oci_plan_free(&p);
	free(big);
}

/* ---- 5: state ----------------------------------------------------------------- */

static void test_state_round_trip(void **state)
{
	(void)state;
	struct oci_state s = { .pid = 4242, .pid_start = 1ull << 40,
			       .created_ms = 1700000000123ull, .started = true };
	snprintf(s.id, sizeof(s.id), "ctr-1");
	snprintf(s.bundle, sizeof(s.bundle), "/run/bundles/ctr-1");
	s.annotations = strdup("{\"a\": \"b\"}");
	assert_non_null(s.annotations);

	char *text = oci_state_format(&s);
	assert_non_null(text);
	struct oci_state t;
	struct arca_err e = { 0 };
	assert_int_equal(oci_state_parse(text, strlen(text), &t, &e), 0);
	assert_string_equal(t.id, "ctr-1");
	assert_string_equal(t.bundle, "/run/bundles/ctr-1");
	assert_int_equal(t.pid, 4242);
	assert_true(t.pid_start == 1ull << 40);
	assert_true(t.created_ms == 1700000000123ull);
	assert_true(t.started);
	assert_non_null(t.annotations);
	json_t *a = json_loads(t.annotations, 0, NULL);
	assert_non_null(a);
	assert_true(json_is_object(a));
	assert_int_equal(json_object_size(a), 1);
	assert_string_equal(json_string_value(json_object_get(a, "a")), "b");
	json_decref(a);
	oci_state_free(&t);
	assert_null(t.annotations);
	free(text);

	/* Not started, no annotations; garbage annotations become {}. */
	s.started = false;
	free(s.annotations);
	s.annotations = strdup("[1, 2]");
	text = oci_state_format(&s);
	assert_non_null(text);
	assert_int_equal(oci_state_parse(text, strlen(text), &t, &e), 0);
	assert_false(t.started);
	assert_true(!t.annotations || !strcmp(t.annotations, "{}"));
	oci_state_free(&t);
	free(text);
	oci_state_free(&s);
	assert_null(s.annotations);

	/* The longest id that fits. */
	memset(s.id, 'i', sizeof(s.id) - 1);
	s.id[sizeof(s.id) - 1] = '\0';
	text = oci_state_format(&s);
	assert_non_null(text);
	assert_int_equal(oci_state_parse(text, strlen(text), &t, &e), 0);
	assert_string_equal(t.id, s.id);
	oci_state_free(&t);
	free(text);
}

static void test_state_parse_errors(void **state)
{
	(void)state;
	char longid[300];
	memset(longid, 'i', 128);
	longid[128] = '\0';
	char *toolong;
	assert_true(asprintf(&toolong, "{\"id\": \"%s\", \"bundle\": \"/b\", \"pid\": 1,"
			     " \"pid_start\": 1, \"created_ms\": 1, \"started\": true}", longid) > 0);
	const char *bad[] = {
		"",
		"nope",
		"[]",
		"{\"id\": \"c\", \"bundle\": \"/b\", \"pid_start\": 1, \"created_ms\": 1,"
		" \"started\": true}",
		"{\"id\": \"c\", \"bundle\": \"/b\", \"pid\": -1, \"pid_start\": 1,"
		" \"created_ms\": 1, \"started\": true}",
		"{\"id\": \"c\", \"bundle\": \"/b\", \"pid\": 2147483648, \"pid_start\": 1,"
		" \"created_ms\": 1, \"started\": true}",
		"{\"id\": \"c\", \"bundle\": \"/b\", \"pid\": \"1\", \"pid_start\": 1,"
		" \"created_ms\": 1, \"started\": true}",
		"{\"id\": \"c\", \"bundle\": \"/b\", \"pid\": 1, \"pid_start\": -1,"
		" \"created_ms\": 1, \"started\": true}",
		"{\"id\": \"c\", \"bundle\": \"/b\", \"pid\": 1, \"pid_start\": 1,"
		" \"created_ms\": -5, \"started\": true}",
		"{\"id\": \"c\", \"bundle\": \"/b\", \"pid\": 1, \"pid_start\": 1,"
		" \"created_ms\": 1, \"started\": 1}",
		"{\"id\": 1, \"bundle\": \"/b\", \"pid\": 1, \"pid_start\": 1,"
		" \"created_ms\": 1, \"started\": true}",
		"{\"bundle\": \"/b\", \"pid\": 1, \"pid_start\": 1, \"created_ms\": 1,"
		" \"started\": true}",
		toolong,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct oci_state t;
		struct arca_err e = { 0 };
		int r = oci_state_parse(bad[i], strlen(bad[i]), &t, &e);
		if (r >= 0)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(r, -EPROTO);
		assert_non_null(strstr(e.msg, "state file"));
		assert_null(t.annotations);
	}
	free(toolong);
}

static void test_state_report(void **state)
{
	(void)state;
	struct oci_state s = { .pid = 4242, .pid_start = 7, .created_ms = 1700000000123ull,
			       .started = true };
	snprintf(s.id, sizeof(s.id), "ctr-1");
	snprintf(s.bundle, sizeof(s.bundle), "/run/b");
	s.annotations = strdup("{\"a\":\"b\"}");
	const struct {
		enum oci_status st;
		const char *name;
		int pid;
	} cases[] = { { OCI_RUNNING, "running", 4242 },
		      { OCI_STOPPED, "stopped", 0 },
		      { OCI_CREATED, "created", 4242 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = oci_state_report(&s, cases[i].st);
		assert_non_null(text);
		json_error_t je;
		json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
		if (!j)
			fail_msg("not JSON: %s (%s)", text, je.text);
		assert_true(json_is_object(j));
		const char *v = json_string_value(json_object_get(j, "ociVersion"));
		assert_non_null(v);
		assert_true(!strncmp(v, "1.", 2));
		assert_string_equal(json_string_value(json_object_get(j, "id")), "ctr-1");
		assert_string_equal(json_string_value(json_object_get(j, "status")), cases[i].name);
		assert_true(json_is_integer(json_object_get(j, "pid")));
		assert_int_equal(json_integer_value(json_object_get(j, "pid")), cases[i].pid);
		assert_string_equal(json_string_value(json_object_get(j, "bundle")), "/run/b");
		const char *c = json_string_value(json_object_get(j, "created"));
		assert_non_null(c);
		assert_string_equal(c, "2023-11-14T22:13:20.123Z");
		assert_int_equal(c[strlen(c) - 1], 'Z');
		json_t *a = json_object_get(j, "annotations");
		assert_true(json_is_object(a));
		assert_string_equal(json_string_value(json_object_get(a, "a")), "b");
		json_decref(j);
		free(text);
	}
	/* No annotations: an empty object; epoch 0 plain. */
	oci_state_free(&s);
	s.created_ms = 5;
	char *text = oci_state_report(&s, OCI_CREATING);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "creating");
	assert_string_equal(json_string_value(json_object_get(j, "created")),
			    "1970-01-01T00:00:00.005Z");
	assert_true(json_is_object(json_object_get(j, "annotations")));
	assert_int_equal(json_object_size(json_object_get(j, "annotations")), 0);
	json_decref(j);
	free(text);

	assert_string_equal(oci_status_name(OCI_CREATING), "creating");
	assert_string_equal(oci_status_name(OCI_CREATED), "created");
	assert_string_equal(oci_status_name(OCI_RUNNING), "running");
	assert_string_equal(oci_status_name(OCI_STOPPED), "stopped");
}

/* ---- 6: ids --------------------------------------------------------------------- */

static void test_id_ok(void **state)
{
	(void)state;
	char hex[66];
	for (size_t i = 0; i < 64; i++)
		hex[i] = "0123456789abcdef"[i % 16];
	hex[64] = '\0';
	assert_true(oci_id_ok(hex));
	assert_true(oci_id_ok("my.ctr_1-x"));
	assert_true(oci_id_ok("A"));
	assert_true(oci_id_ok("9"));
	hex[64] = 'a';
	hex[65] = '\0';
	assert_false(oci_id_ok(hex));
	assert_false(oci_id_ok(""));
	assert_false(oci_id_ok(".x"));
	assert_false(oci_id_ok("-x"));
	assert_false(oci_id_ok("_x"));
	assert_false(oci_id_ok("a/b"));
	assert_false(oci_id_ok(".."));
	assert_false(oci_id_ok("a b"));
	assert_false(oci_id_ok("a:b"));
}

/* ---- 7: hostile input ----------------------------------------------------------- */

static void test_truncations(void **state)
{
	(void)state;
	struct oci_plan p;
	struct arca_err e;
	/* The whole text is accepted; each proper prefix is not. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(oci_plan_config(valid, valid_len, "/bundle", "c1", oci_stat_host, &p, &e),
			 0);
	oci_plan_free(&p);
	for (size_t len = 0; len < valid_len; len++) {
		/* A copy of exactly len bytes, so a read past it is caught by ASan. */
		char *t = malloc(len ? len : 1);
		assert_non_null(t);
		memcpy(t, valid, len);
		for (int k = 0; k < 2; k++) {
			memset(&e, 0, sizeof(e));
			memset(&p, 0x5a, sizeof(p));
			int r = oci_plan_config(t, len, "/bundle", "c1", k ? fake_stat : oci_stat_host,
						&p, &e);
			if (r >= 0)
				fail_msg("prefix of %zu bytes accepted", len);
			assert_int_equal(e.code, -r);
			assert_true(e.msg[0] != '\0');
			assert_null(p.start.v);
			assert_null(p.exec.v);
			assert_int_equal(p.start.n, 0);
			assert_int_equal(p.exec.n, 0);
		}
		free(t);
	}
	/* And each byte flipped to something hostile: never a crash, never a
	 * half-built plan on failure. */
	char *t = malloc(valid_len);
	assert_non_null(t);
	const char subst[] = { '\0', '"', '\\', '{', ']', ':', ',', '-', 'x', '\x80' };
	for (size_t i = 0; i < valid_len; i++) {
		for (size_t k = 0; k < sizeof(subst); k++) {
			memcpy(t, valid, valid_len);
			t[i] = subst[k];
			memset(&e, 0, sizeof(e));
			int r = oci_plan_config(t, valid_len, "/bundle", "c1", oci_stat_host, &p,
						&e);
			if (r < 0) {
				assert_int_equal(e.code, -r);
				assert_null(p.start.v);
				assert_null(p.exec.v);
			} else {
				assert_non_null(p.start.v);
				assert_non_null(p.exec.v);
				assert_null(p.start.v[p.start.n]);
				assert_null(p.exec.v[p.exec.n]);
				oci_plan_free(&p);
			}
		}
	}
	free(t);
}

/* ---- regressions: each of these was a bug in oci.c, found by these tests ------- */

/* runc and Go engines write RLIM_INFINITY as 2^64-1 (runtime-spec's
 * POSIXRlimit is uint64): oci.c's own comment says that stands for
 * "unlimited", but jansson refuses integers past INT64_MAX, so the whole
 * config.json is refused. */
static void test_rlimit_uint64_max(void **state)
{
	(void)state;
	struct oci_plan p;
	struct arca_err e = { 0 };
	const char *text = with_proc("{\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": ["
				     "{\"type\": \"RLIMIT_CORE\", \"soft\": 18446744073709551615,"
				     " \"hard\": 18446744073709551615}]}");
	int r = oci_plan_config(text, strlen(text), "/b", "c1", fake_stat, &p, &e);
	pool_free();
	if (r < 0)
		fail_msg("RLIMIT_CORE 18446744073709551615 refused: %d '%s'", r, e.msg);
	const char *want[] = { "arca", "exec", "-w", "/", "--ulimit", "core=unlimited:unlimited",
			       "c1", "--", "sh", NULL };
	argv_equal(&p.exec, want);
	oci_plan_free(&p);
}

/* An absolute root.path of 4096 bytes or more is cut to 4095 by
 * snprintf without a check (the relative case is checked: ENAMETOOLONG):
 * --root then names another directory than the config did. */
static void test_root_path_too_long(void **state)
{
	(void)state;
	char *path = malloc(5001), *t;
	assert_non_null(path);
	/* "////...//srv/data-public": its first 4095 bytes end in "/srv/data". */
	size_t pad = 4095 - strlen("srv/data");
	memset(path, '/', pad);
	snprintf(path + pad, 5001 - pad, "srv/data-public");
	assert_true(asprintf(&t, "\"root\": {\"path\": \"%s\"}", path) > 0);
	struct oci_plan p;
	struct arca_err e = { 0 };
	const char *text = cfg(NULL, t, NULL, NULL);
	int r = oci_plan_config(text, strlen(text), "/b", "c1", fake_stat, &p, &e);
	free(t);
	pool_free();
	if (r == 0) {
		char got[64];
		const char *root = p.start.v[5];
		size_t rlen = strlen(root), plen = strlen(path);
		snprintf(got, sizeof(got), "...%s", root + rlen - 20);
		oci_plan_free(&p);
		free(path);
		fail_msg("root.path of %zu bytes accepted as --root '%s' (%zu bytes)", plen, got,
			 rlen);
	}
	free(path);
	assert_int_equal(r, -ENAMETOOLONG);
	assert_non_null(strstr(e.msg, "root.path"));
	assert_null(p.start.v);
}

/* The same for an absolute bind source: the cut path is stat'd and bound. */
static void test_mount_source_too_long(void **state)
{
	(void)state;
	char *src = malloc(5001), *t;
	assert_non_null(src);
	/* "/dir////...///x": its first 4095 bytes are "/dir///...", the parent. */
	memcpy(src, "/dir", 4);
	memset(src + 4, '/', 4100 - 4);
	snprintf(src + 4100, 5001 - 4100, "x");
	assert_true(asprintf(&t, "\"mounts\": [{\"destination\": \"/data\", \"type\": \"bind\","
			     " \"source\": \"%s\"}]", src) > 0);
	struct oci_plan p;
	struct arca_err e = { 0 };
	const char *text = with_rest(t);
	last_stat[0] = '\0';
	int r = oci_plan_config(text, strlen(text), "/b", "c1", fake_stat, &p, &e);
	free(t);
	pool_free();
	size_t asked = strlen(last_stat);
	if (r == 0) {
		oci_plan_free(&p);
		free(src);
		fail_msg("mounts[0].source of 4101 bytes accepted: stat asked about a %zu-byte "
			 "prefix, which was bound", asked);
	}
	free(src);
	assert_int_equal(r, -ENAMETOOLONG);
	assert_non_null(strstr(e.msg, "mounts[0].source"));
}

/* A pod's sandbox (pause) container, by either CRI's annotation. */
static void test_pod_sandbox(void **state)
{
	(void)state;
	struct oci_plan p;
	static const char *const yes[] = {
		"\"annotations\": {\"io.kubernetes.cri.container-type\": \"sandbox\"}",
		"\"annotations\": {\"io.kubernetes.cri-o.ContainerType\": \"sandbox\"}",
	};
	static const char *const no[] = {
		"\"annotations\": {\"io.kubernetes.cri.container-type\": \"container\"}",
		"\"annotations\": {\"io.kubernetes.cri-o.ContainerType\": \"Sandbox\"}",
		"\"annotations\": {\"sandbox\": \"sandbox\"}",
		"",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		plan_ok(cfg(NULL, NULL, NULL, yes[i]), "/b", fake_stat, &p);
		assert_true(p.pod_sandbox);
		oci_plan_free(&p);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		plan_ok(cfg(NULL, NULL, NULL, no[i]), "/b", fake_stat, &p);
		assert_false(p.pod_sandbox);
		oci_plan_free(&p);
	}
	pool_free();
}

/* linux.namespaces: a network namespace with a path becomes --net ns=PATH
 * (its index kept for the resolver), one without a path nothing; the
 * engine's resolv.conf bind is remembered. */
static void test_netns(void **state)
{
	(void)state;
	struct oci_plan p;
	plan_ok(cfg(NULL, NULL, NULL,
		    "\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", "
		    "\"path\": \"/run/netns/cni-1\"}]}, \"mounts\": [{\"destination\": "
		    "\"/etc/resolv.conf\", \"type\": \"bind\", \"source\": \"/etc/resolv.conf\"}]"),
		"/b", fake_stat, &p);
	const char *want[] = { "arca", "start", "--name", "c1", "--root", "/b/rootfs", "--net",
			       "ns=/run/netns/cni-1", NULL };
	argv_equal(&p.start, want);
	assert_int_equal(p.net_ns_arg, 7);
	assert_string_equal(p.resolv_conf, "/etc/resolv.conf");
	oci_plan_free(&p);

	plan_ok(cfg(NULL, NULL, NULL, "\"linux\": {\"namespaces\": [{\"type\": \"network\"}]}"),
		"/b", fake_stat, &p);
	assert_int_equal(p.net_ns_arg, -1);
	assert_int_equal(p.start.n, 6);
	oci_plan_free(&p);

	static const char *const bad[] = {
		"\"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": \"rel/ns\"}]}",
		"\"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": \"/a:b\"}]}",
		"\"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": 3}]}",
		"\"linux\": {\"namespaces\": [\"network\"]}",
		"\"linux\": {\"namespaces\": {}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *t = cfg(NULL, NULL, NULL, bad[i]);
		plan_fails(t, strlen(t), fake_stat, EINVAL, "linux.namespaces");
	}
	pool_free();
}

/* Hooks: kept as checked JSON; oci_hooks_get gives each kind's with its
 * args (path as argv[0] when none), env and timeout. */
static void test_hooks(void **state)
{
	(void)state;
	struct oci_plan p;
	struct oci_hook *h;
	size_t n;
	struct arca_err e = { 0 };
	plan_ok(with_rest("\"hooks\": {\"createRuntime\": [{\"path\": \"/bin/a\"}, {\"path\": "
			  "\"/bin/b\", \"args\": [\"b\", \"-x\"], \"env\": [\"K=V\"], \"timeout\": 5}],"
			  " \"poststop\": [{\"path\": \"/bin/c\"}]}"),
		"/b", fake_stat, &p);
	assert_non_null(p.hooks);
	assert_int_equal(oci_hooks_get(p.hooks, "createRuntime", &h, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].path, "/bin/a");
	assert_string_equal(h[0].args[0], "/bin/a");
	assert_null(h[0].args[1]);
	assert_null(h[0].env[0]);
	assert_int_equal(h[0].timeout_s, 0);
	assert_string_equal(h[1].args[0], "b");
	assert_string_equal(h[1].args[1], "-x");
	assert_null(h[1].args[2]);
	assert_string_equal(h[1].env[0], "K=V");
	assert_int_equal(h[1].timeout_s, 5);
	oci_hooks_free(h, n);
	assert_int_equal(oci_hooks_get(p.hooks, "poststart", &h, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(oci_hooks_get(NULL, "poststop", &h, &n, &e), 0);
	assert_int_equal(n, 0);
	/* Through the state file and back. */
	struct oci_state s = { .pid = 1, .hooks = p.hooks }, s2;
	snprintf(s.id, sizeof(s.id), "c1");
	char *text = oci_state_format(&s);
	assert_non_null(text);
	assert_int_equal(oci_state_parse(text, strlen(text), &s2, &e), 0);
	assert_int_equal(oci_hooks_get(s2.hooks, "poststop", &h, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].path, "/bin/c");
	oci_hooks_free(h, n);
	oci_state_free(&s2);
	free(text);
	/* A state file's hooks are checked again. */
	assert_true(oci_hooks_get("{\"poststop\": [{\"path\": \"rel\"}]}", "poststop", &h, &n,
				  &e) < 0);
	assert_true(oci_hooks_get("not json", "poststop", &h, &n, &e) < 0);
	oci_plan_free(&p);
	pool_free();
}

/* process.capabilities -> --cap-mask (a set left out is empty),
 * noNewPrivileges -> --no-new-privileges; unknown names and sets the
 * kernel would refuse name their field. */
static void test_caps_map(void **state)
{
	(void)state;
	struct oci_plan p;
	plan_ok(cfg(NULL, NULL,
		    "\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"noNewPrivileges\": true, "
		    "\"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\", "
		    "\"CAP_CHECKPOINT_RESTORE\"], \"effective\": [\"CAP_KILL\"], \"permitted\": "
		    "[\"CAP_KILL\", \"CAP_CHOWN\"]}}",
		    NULL),
		"/b", fake_stat, &p);
	const char *want[] = { "arca", "exec", "-w", "/", "--no-new-privileges", "--cap-mask",
			       "10000000021,20,21,0,0", "c1", "--", "sh", NULL };
	argv_equal(&p.exec, want);
	oci_plan_free(&p);
	static const char *const bad[][2] = {
		{ "\"capabilities\": {\"bounding\": [\"CAP_NOPE\"]}", "process.capabilities.bounding[0]" },
		{ "\"capabilities\": {\"effective\": [3]}", "process.capabilities.effective[0]" },
		{ "\"capabilities\": {\"effective\": [\"CAP_KILL\"]}", "process.capabilities.effective" },
		{ "\"capabilities\": {\"permitted\": [\"CAP_KILL\"], \"ambient\": [\"CAP_KILL\"]}",
		  "process.capabilities.ambient" },
		{ "\"capabilities\": []", "process.capabilities" },
		{ "\"noNewPrivileges\": 1", "process.noNewPrivileges" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char proc[512];
		snprintf(proc, sizeof(proc), "\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", %s}",
			 bad[i][0]);
		const char *t = cfg(NULL, NULL, proc, NULL);
		plan_fails(t, strlen(t), fake_stat, EINVAL, bad[i][1]);
	}
	pool_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_mounts),
		cmocka_unit_test(test_config_variants),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_errors_host),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_parse_errors),
		cmocka_unit_test(test_state_report),
		cmocka_unit_test(test_id_ok),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_rlimit_uint64_max),
		cmocka_unit_test(test_root_path_too_long),
		cmocka_unit_test(test_mount_source_too_long),
		cmocka_unit_test(test_pod_sandbox),
		cmocka_unit_test(test_netns),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_caps_map),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
