/* SPDX-License-Identifier: MIT */
/* --config FILE: the JSON mapping (config_parse) against bad and hostile
 * files, and how cli_parse layers the file under the command line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "config.h"

/* A mutable copy: cli_parse keeps pointers into argv. */
#define S(x) ((char[]){ x })

static int parse_text(const char *text, struct config *c, struct arca_err *e)
{
	memset(e, 0, sizeof(*e));
	return config_parse(text, strlen(text), "f.json", c, e);
}

static void test_mapping(void **state)
{
	(void)state;
	struct config c;
	struct arca_err e;
	assert_int_equal(parse_text("{\"cpus\": 2, \"timeout\": 0.5, \"tty\": true, \"console\": false,"
				    " \"share\": [\"/a:/a\", \"/b:/b:ro\"], \"env\": {\"X\": \"1\", \"N\": 3},"
				    " \"command\": [\"sh\", \"-c\", \"x\"]}", &c, &e), 0);
	const char *want[][2] = { { "cpus", "2" }, { "timeout", "0.5" }, { "tty", NULL },
				  { "share", "/a:/a" }, { "share", "/b:/b:ro" },
				  { "env", "X=1" }, { "env", "N=3" } };
	assert_int_equal(c.n, 7);
	for (size_t i = 0; i < c.n; i++) {
		assert_string_equal(c.items[i].name, want[i][0]);
		if (want[i][1])
			assert_string_equal(c.items[i].value, want[i][1]);
		else
			assert_null(c.items[i].value);
	}
	assert_int_equal(c.ncommand, 3);
	assert_string_equal(c.command[2], "x");
	assert_null(c.command[3]);
	config_free(&c);
}

static void test_bad_files(void **state)
{
	(void)state;
	struct config c;
	struct arca_err e;
	const struct { const char *text, *msg; } bad[] = {
		{ "", "f.json:1:0:" },
		{ "[1]", "must hold one JSON object" },
		{ "{\"cpus\": 1,\n\"cpus\": 2}", "f.json:2:" },
		{ "{\"cpus\": {\"a\": 1}}", "field 'cpus': an object is only allowed for \"env\"" },
		{ "{\"share\": [[\"x\"]]}", "field 'share': each element" },
		{ "{\"env\": {\"A\": [1]}}", "field 'env': each variable's value" },
		{ "{\"command\": []}", "field 'command': must be a non-empty array" },
		{ "{\"command\": \"ls\"}", "field 'command': must be a non-empty array" },
		{ "{\"command\": [\"\"]}", "field 'command': the command name is empty" },
		{ "{\"workdir\": \"/a\\u0000b\"}", "is not allowed" },
		{ "{\"cpus\": 1} trailing", "f.json:1:" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_text(bad[i].text, &c, &e), -EINVAL);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("%s: got '%s'", bad[i].text, e.msg);
		assert_null(c.items);
	}
}

static char path[64];

static void write_file(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/arca-test-config.%d.json", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int cli(struct arca_opts *o, struct arca_err *e, int argc, char **argv)
{
	memset(e, 0, sizeof(*e));
	return cli_parse(argc, argv, o, e);
}

/* The file applies first: flags override its scalars and add to its
 * lists; its command is used only when the command line has none; each
 * error names the file and the field. */
static void test_layering(void **state)
{
	(void)state;
	struct arca_opts o;
	struct arca_err e;
	write_file("{\"cpus\": 2, \"memory\": \"1G\", \"env\": {\"A\": \"file\", \"B\": \"file\"},"
		   " \"command\": [\"echo\", \"from-file\"]}");
	char *a1[] = { S("arca"), S("run"), S("--config"), path, S("--cpus"), S("3"), S("-e"), S("A=flag"), NULL };
	assert_int_equal(cli(&o, &e, 8, a1), 0);
	assert_int_equal(o.cpus, 3);
	assert_int_equal(o.memory_mib, 1024);
	assert_int_equal(o.envc, 2);
	assert_string_equal(o.env[0], "A=flag");
	assert_string_equal(o.env[1], "B=file");
	assert_int_equal(o.argc, 2);
	assert_string_equal(o.argv[1], "from-file");
	cli_free(&o);

	char *a2[] = { S("arca"), S("run"), S("--config"), path, S("--"), S("true"), NULL };
	assert_int_equal(cli(&o, &e, 6, a2), 0);
	assert_int_equal(o.argc, 1);
	assert_string_equal(o.argv[0], "true");
	assert_int_equal(o.cpus, 2);
	cli_free(&o);

	write_file("{\"cpus\": 65}");
	char *a3[] = { S("arca"), S("run"), S("--config"), path, S("--"), S("true"), NULL };
	assert_int_equal(cli(&o, &e, 6, a3), -EINVAL);
	assert_non_null(strstr(e.msg, ": field 'cpus': invalid --cpus value '65'"));
	assert_non_null(strstr(e.msg, path));

	write_file("{\"name\": \"x\"}");
	assert_int_equal(cli(&o, &e, 6, a3), -EINVAL);
	assert_non_null(strstr(e.msg, "field 'name' is not an option of 'arca run'"));

	/* A key that gives no value still has to name an option. */
	write_file("{\"sharez\": [], \"verbos\": false}");
	assert_int_equal(cli(&o, &e, 6, a3), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown field 'sharez'"));

	write_file("{\"memory\": true}");
	assert_int_equal(cli(&o, &e, 6, a3), -EINVAL);
	assert_non_null(strstr(e.msg, "field 'memory' wants a value"));

	/* arca start takes the file too, but not a command. */
	write_file("{\"cpus\": 2, \"command\": [\"ls\"]}");
	char *a4[] = { S("arca"), S("start"), S("--name"), S("x"), S("--config"), path, NULL };
	assert_int_equal(cli(&o, &e, 6, a4), -EINVAL);
	assert_non_null(strstr(e.msg, "field 'command' is for 'arca run' only"));
	write_file("{\"cpus\": 2}");
	assert_int_equal(cli(&o, &e, 6, a4), 0);
	assert_int_equal(o.cpus, 2);
	assert_string_equal(o.name, "x");
	cli_free(&o);

	/* "ulimit": a list like the other repeatable options. The command
	 * line replaces a name the file gave (once) and adds the others; a
	 * name twice in the file is the command line's error. */
	write_file("{\"ulimit\": [\"nofile=1024:2048\", \"core=0\"]}");
	char *a6[] = { S("arca"), S("run"), S("--config"), path, S("--ulimit"), S("nofile=10"),
		       S("--ulimit"), S("nproc=5:unlimited"), S("true"), NULL };
	assert_int_equal(cli(&o, &e, 9, a6), 0);
	assert_int_equal(o.nrlimits, 3);
	assert_int_equal(o.rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(o.rlimits[0].soft == 10 && o.rlimits[0].hard == 10);
	assert_int_equal(o.rlimits[1].resource, RLIMIT_CORE);
	assert_int_equal(o.rlimits[2].resource, RLIMIT_NPROC);
	assert_true(o.rlimits[2].hard == ARCA_RLIM_INFINITY);
	cli_free(&o);
	char *a7[] = { S("arca"), S("run"), S("--config"), path, S("--ulimit"), S("nofile=10"),
		       S("--ulimit"), S("nofile=11"), S("true"), NULL };
	assert_int_equal(cli(&o, &e, 9, a7), -EINVAL);
	assert_string_equal(e.msg, "--ulimit nofile given twice ('nofile=11')");
	write_file("{\"ulimit\": [\"core=0\", \"core=1\"]}");
	assert_int_equal(cli(&o, &e, 6, a3), -EINVAL);
	assert_non_null(strstr(e.msg, ": field 'ulimit': --ulimit core given twice ('core=1')"));
	write_file("{\"ulimit\": \"nofile=2:1\"}");
	assert_int_equal(cli(&o, &e, 6, a3), -EINVAL);
	assert_non_null(strstr(e.msg, "field 'ulimit': invalid --ulimit value 'nofile=2:1'"));
	write_file("{\"ulimit\": [\"core=0\"]}");
	assert_int_equal(cli(&o, &e, 6, a4), -EINVAL);
	assert_non_null(strstr(e.msg, "field 'ulimit' is not an option of 'arca start'"));

	/* No command anywhere. */
	char *a5[] = { S("arca"), S("run"), S("--config"), path, NULL };
	assert_int_equal(cli(&o, &e, 4, a5), -EINVAL);
	assert_non_null(strstr(e.msg, "missing command"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_layering),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
