/* SPDX-License-Identifier: MIT */
/* See config.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "quote.h"

static int add_item(struct config *c, const char *name, const char *value, struct arca_err *e)
{
	struct config_item *v = realloc(c->items, (c->n + 1) * sizeof(*v));
	if (!v)
		return arca_error(e, ENOMEM, "out of memory");
	c->items = v;
	v[c->n].name = strdup(name);
	v[c->n].value = value ? strdup(value) : NULL;
	if (!v[c->n].name || (value && !v[c->n].value)) {
		free(v[c->n].name);
		free(v[c->n].value);
		return arca_error(e, ENOMEM, "out of memory");
	}
	c->n++;
	return 0;
}

/* A scalar as the option's text: strings as they are, integers in
 * decimal, reals as the shortest text that reads back the same ("0.5"). */
static int scalar(const json_t *v, char *buf, size_t cap, const char **out)
{
	if (json_is_string(v)) {
		*out = json_string_value(v);
		/* An embedded NUL would cut the value short unseen. */
		return strlen(*out) == json_string_length(v) ? 0 : -EINVAL;
	}
	if (json_is_integer(v)) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = buf;
		return 0;
	}
	if (json_is_real(v)) {
		snprintf(buf, cap, "%.17g", json_real_value(v));
		/* %.17g may say 0.50000000000000000: the shortest that
		 * round-trips is what a user wrote. */
		for (int prec = 1; prec <= 17; prec++) {
			char t[64];
			snprintf(t, sizeof(t), "%.*g", prec, json_real_value(v));
			if (strtod(t, NULL) == json_real_value(v)) {
				snprintf(buf, cap, "%s", t);
				break;
			}
		}
		*out = buf;
		return 0;
	}
	return -EINVAL;
}

static int field_error(struct arca_err *e, const char *path, const char *key, const char *what)
{
	struct quoted q;
	return arca_error(e, EINVAL, "%s: field '%s': %s", path, quote(&q, key), what);
}

static int add_value(struct config *c, const char *path, const char *key, json_t *v,
		     struct arca_err *e)
{
	char num[64];
	const char *s;

	if (json_is_true(v))
		return add_item(c, key, NULL, e);
	if (json_is_false(v) || json_is_null(v))
		return 0;
	if (json_is_array(v)) {
		size_t i;
		json_t *el;
		json_array_foreach(v, i, el) {
			if (scalar(el, num, sizeof(num), &s) < 0)
				return field_error(e, path, key,
						   "each element must be a string or a number");
			int r = add_item(c, key, s, e);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (json_is_object(v)) {
		if (strcmp(key, "env"))
			return field_error(e, path, key, "an object is only allowed for \"env\"");
		const char *name;
		json_t *val;
		json_object_foreach(v, name, val) {
			if (scalar(val, num, sizeof(num), &s) < 0)
				return field_error(e, path, key,
						   "each variable's value must be a string or a number");
			size_t n = strlen(name) + strlen(s) + 2;
			_cleanup_free_ char *kv = malloc(n);
			if (!kv)
				return arca_error(e, ENOMEM, "out of memory");
			snprintf(kv, n, "%s=%s", name, s);
			int r = add_item(c, key, kv, e);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (scalar(v, num, sizeof(num), &s) < 0)
		return field_error(e, path, key, "must be a string, a number, a boolean or an array");
	return add_item(c, key, s, e);
}

static int set_command(struct config *c, const char *path, const json_t *v, struct arca_err *e)
{
	if (!json_is_array(v) || json_array_size(v) == 0)
		return field_error(e, path, "command", "must be a non-empty array of strings");
	size_t n = json_array_size(v);
	c->command = calloc(n + 1, sizeof(char *));
	if (!c->command)
		return arca_error(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *el = json_array_get(v, i);
		if (!json_is_string(el) ||
		    strlen(json_string_value(el)) != json_string_length(el))
			return field_error(e, path, "command", "must be a non-empty array of strings");
		if (i == 0 && !json_string_value(el)[0])
			return field_error(e, path, "command", "the command name is empty");
		if (!(c->command[i] = strdup(json_string_value(el))))
			return arca_error(e, ENOMEM, "out of memory");
		c->ncommand++;
	}
	return 0;
}

int config_parse(const char *text, size_t len, const char *path, struct config *c,
		 struct arca_err *e)
{
	json_error_t je;
	memset(c, 0, sizeof(*c));
	/* Duplicate keys are an error, not "the last one wins" silently. */
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return arca_error(e, EINVAL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	int r = 0;
	if (!json_is_object(root)) {
		r = arca_error(e, EINVAL, "%s: must hold one JSON object", path);
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "command")) {
			r = set_command(c, path, v, e);
		} else {
			char **k = realloc(c->keys, (c->nkeys + 1) * sizeof(*k));
			if (!k || !(k[c->nkeys] = strdup(key))) {
				if (k)
					c->keys = k;
				r = arca_error(e, ENOMEM, "out of memory");
				break;
			}
			c->keys = k;
			c->nkeys++;
			r = add_value(c, path, key, v, e);
		}
		if (r < 0)
			break;
	}
out:
	json_decref(root);
	if (r < 0)
		config_free(c);
	return r;
}

int config_load(const char *path, struct config *c, struct arca_err *e)
{
	struct stat st;
	memset(c, 0, sizeof(*c));
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "--config %s", path);
	if (fstat(fd, &st) < 0)
		return arca_error_errno(e, errno, "--config %s", path);
	if (!S_ISREG(st.st_mode))
		return arca_error(e, EINVAL, "--config %s: not a regular file", path);
	if (st.st_size > CONFIG_MAX_SIZE)
		return arca_error(e, EFBIG, "--config %s: larger than %u bytes", path,
				  CONFIG_MAX_SIZE);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return arca_error(e, ENOMEM, "out of memory");
	size_t have = 0;
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return arca_error_errno(e, errno, "--config %s", path);
		if (n == 0)
			break;
		have += (size_t)n;
	}
	return config_parse(buf, have, path, c, e);
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->nkeys; i++)
		free(c->keys[i]);
	free(c->keys);
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].name);
		free(c->items[i].value);
	}
	free(c->items);
	if (c->command)
		for (size_t i = 0; c->command[i]; i++)
			free(c->command[i]);
	free(c->command);
	memset(c, 0, sizeof(*c));
}
