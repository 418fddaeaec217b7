/* SPDX-License-Identifier: MIT */
/* The seccomp policy parser (policy/parse.c): what it accepts, and that
 * every malformed line is an error naming file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "../../policy/parse.c"

static struct policy pol;
static char err[512];

static int parse(const char *text)
{
	return policy_parse("t.policy", text, strlen(text), &pol, err, sizeof(err));
}

static void test_accepts(void **state)
{
	assert_int_equal(parse("# header\n"
			       "\n"
			       "# why: event loop\n"
			       "epoll_wait\n"
			       "read   # trailing comment\n"
			       "\n"
			       "# ioctls\n"
			       "ioctl arg1 == KVM_RUN\n"
			       "ioctl arg1 == KVM_IRQ_LINE\n"
			       "mmap arg2 & PROT_EXEC == 0 && arg3 == MAP_PRIVATE|MAP_ANONYMOUS\n"
			       "epoll_ctl arg1 != 0x2\n"
			       "futex arg1 == 129"), 0);
	assert_int_equal(pol.nrules, 7);
	assert_int_equal(policy_count_syscalls(&pol), 6);
	assert_int_equal(policy_count_ioctls(&pol), 2);

	const struct policy_rule *r = &pol.rules[2];
	assert_string_equal(r->name, "ioctl");
	assert_int_equal(r->nr, SYS_ioctl);
	assert_int_equal(r->line, 8);
	assert_int_equal(r->ncond, 1);
	assert_int_equal(r->cond[0].arg, 1);
	assert_int_equal(r->cond[0].op, POLICY_EQ);
	assert_int_equal(r->cond[0].value, KVM_RUN);

	r = &pol.rules[4];
	assert_int_equal(r->ncond, 2);
	assert_int_equal(r->cond[0].op, POLICY_MASKED_EQ);
	assert_int_equal(r->cond[0].mask, PROT_EXEC);
	assert_int_equal(r->cond[0].value, 0);
	assert_int_equal(r->cond[1].arg, 3);
	assert_int_equal(r->cond[1].value, MAP_PRIVATE | MAP_ANONYMOUS);

	assert_int_equal(pol.rules[5].cond[0].op, POLICY_NE);
	assert_int_equal(pol.rules[5].cond[0].value, 2);
	assert_int_equal(pol.rules[6].cond[0].value, 129);
}

struct bad {
	const char *text;
	const char *want; /* substring of the message, after "t.policy:LINE: " */
	unsigned line;
};

static void test_rejects(void **state)
{
	static const struct bad bad[] = {
		{ "# c\nfrobnicate\n", "unknown x86_64 system call 'frobnicate'", 2 },
		/* exists on i386/s390 but not on x86_64 */
		{ "# c\nsocketcall\n", "unknown x86_64 system call", 2 },
		{ "# c\nioctl arg1 == KVM_FROBNICATE\n", "unknown ioctl request 'KVM_FROBNICATE'", 2 },
		{ "# c\nmmap arg2 & PROT_BOGUS == 0\n", "unknown constant 'PROT_BOGUS'", 2 },
		{ "# c\nread\n\nwrite\n", "no '# why' comment", 4 },
		{ "read # \n", "no '# why' comment", 1 },
		{ "# c\nread arg0\n", "malformed condition", 2 },
		{ "# c\nread arg0 = 1\n", "expected == or !=", 2 },
		{ "# c\nread arg6 == 1\n", "expected arg0..arg5", 2 },
		{ "# c\nread fd == 1\n", "expected arg0..arg5", 2 },
		{ "# c\nread arg0 == 1 &&\n", "dangling &&", 2 },
		{ "# c\nread && arg0 == 1\n", "empty condition", 2 },
		{ "# c\nread arg0 == 1 && arg0 == 2\n", "two conditions on arg0", 2 },
		{ "# c\nread arg0 == 1 && arg1 == 1 && arg2 == 1 && arg3 == 1\n",
		  "more than 3 conditions", 2 },
		{ "# c\nread arg0 == 12abc\n", "bad number '12abc'", 2 },
		{ "# c\nread arg0 == -1\n", "bad value", 2 },
		{ "# c\nread arg0 == 0x\n", "bad number", 2 },
		{ "# c\nread arg0 == 1||2\n", "bad value", 2 },
		{ "# c\nread arg0 == |1\n", "bad value", 2 },
		{ "# c\nmmap arg2 & PROT_EXEC == PROT_READ\n", "bits outside the mask", 2 },
		{ "# c\nread arg0 & 1 = 1\n", "expected 'arg0 & MASK == VALUE'", 2 },
		{ "# c\nread\nread arg0 == 1\n", "already allowed on line 2", 3 },
		{ "# c\nread arg0 == 1\nread\n", "already allowed on line 2", 3 },
		{ "# c\nread\nread\n", "already allowed on line 2", 3 },
		{ "# c\nread arg0 == 1\nread arg0 == 1\n", "duplicate of line 2", 3 },
		{ "# c\nwrite arg1 == KVM_RUN\n", "ioctl request names only fit", 2 },
		{ "# c\nioctl arg2 == KVM_RUN\n", "ioctl request names only fit", 2 },
		{ "# c\nioctl arg1 != KVM_RUN\n", "ioctl request names only fit", 2 },
		{ "# c\n9read\n", "bad syscall name", 2 },
		{ "# c\nread\r\n", "control character", 2 },
		{ "# only comments\n", "no entries", 0 },
		{ "", "no entries", 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "t.policy:%u: ", bad[i].line);
		int r = parse(bad[i].text);
		if (r != -EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 ||
		    !strstr(err, bad[i].want))
			fail_msg("case %zu: '%s' gave %d '%s', want '%s%s'", i, bad[i].text, r, err,
				 prefix, bad[i].want);
	}
}

static void test_nul_and_long_lines(void **state)
{
	static const char nul[] = "# c\nre\0ad\n";
	assert_int_equal(policy_parse("t.policy", nul, sizeof(nul) - 1, &pol, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.policy:2: NUL byte"));

	char longline[1024];
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "# c\n", 4);
	assert_int_equal(policy_parse("t.policy", longline, sizeof(longline), &pol, err,
				      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.policy:2: line too long"));
}

static void test_too_many_rules(void **state)
{
	/* POLICY_MAX_RULES + 1 distinct conditional entries. */
	static char text[POLICY_MAX_RULES * 32 + 64];
	size_t n = (size_t)snprintf(text, sizeof(text), "# c\n");
	for (unsigned i = 0; i <= POLICY_MAX_RULES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "read arg0 == %u\n", i);
	assert_int_equal(parse(text), -EINVAL);
	assert_non_null(strstr(err, "too many rules"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_too_many_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
