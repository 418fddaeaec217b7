/* SPDX-License-Identifier: MIT */
/*
 * --config FILE: run or start options as one JSON object (jansson parses
 * it; no hand-written parser). Its keys are the long option names of
 * `arca run` (see `arca help`), plus "command":
 *
 *   { "cpus": 2, "memory": "1G", "env": { "CI": "1" }, "workdir": "/w",
 *     "share": [ "./ws:/w", "/data:/data:ro" ], "kernel-arg": [ "quiet" ],
 *     "timeout": 0.5, "tty": true, "command": [ "make", "test" ] }
 *
 * A number or string is the option's value; true sets a flag (false leaves
 * it unset); an array gives a repeatable option once per element; "env"
 * may also be an object of NAME: VALUE. The command line applies after the
 * file, so its flags override the file's values (and add to its lists);
 * "command" is used when the command line names no CMD.
 *
 * config_parse turns the text into (option, value) items in file order
 * without knowing what each option means; cli.c applies them through its
 * option table, so each option's checks and messages are the command
 * line's, prefixed by the file and the field.
 */
#ifndef ARCA_CONFIG_H
#define ARCA_CONFIG_H

#include <stddef.h>

#include "err.h"

#define CONFIG_MAX_SIZE (1u << 20)

struct config_item {
	char *name;  /* the option's long name */
	char *value; /* NULL: a flag set to true */
};

struct config {
	char **keys;    /* every top-level key but "command", in file order,
			 * even one that gives no item (false, null, []): it
			 * must still name an option */
	size_t nkeys;
	struct config_item *items;
	size_t n;
	char **command; /* NULL-terminated, or NULL when absent */
	size_t ncommand;
};

/* Parses text[0..len) (named `path` in messages). 0, or -EINVAL with one
 * line in e: "PATH:LINE:COL: what" for bad JSON, "PATH: field 'K': what"
 * for a value of the wrong kind. */
int config_parse(const char *text, size_t len, const char *path, struct config *c,
		 struct arca_err *e);
/* Reads path (at most CONFIG_MAX_SIZE bytes, a regular file) and parses
 * it. */
int config_load(const char *path, struct config *c, struct arca_err *e);
void config_free(struct config *c);

#endif
