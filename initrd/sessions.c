/* SPDX-License-Identifier: MIT */
/* The agent's session table and frame checks (sessions.h). Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sessions.h"

static void sess_clear(struct sess *s)
{
	memset(s, 0, sizeof(*s));
	s->state = SESS_FREE;
	s->pid = -1;
	s->in_fd = s->out_fd = s->err_fd = -1;
}

void sess_table_init(struct sess_table *t)
{
	for (size_t i = 0; i < ARCA_SESS_MAX; i++)
		sess_clear(&t->s[i]);
	t->used = 0;
}

struct sess *sess_find(struct sess_table *t, uint32_t id)
{
	if (id == 0)
		return NULL;
	for (size_t i = 0; i < ARCA_SESS_MAX; i++)
		if (t->s[i].state != SESS_FREE && t->s[i].id == id)
			return &t->s[i];
	return NULL;
}

static void sess_refuse(struct sess *s, const char *why)
{
	free(s->spec);
	s->spec = NULL;
	s->spec_len = s->spec_cap = 0;
	s->state = SESS_REFUSED;
	s->refuse = why;
}

int sess_spec_add(struct sess_table *t, uint32_t id, const uint8_t *data, size_t len,
		  struct sess **out)
{
	*out = NULL;
	if (id == 0)
		return -EINVAL;
	struct sess *s = sess_find(t, id);
	if (s && s->state == SESS_LIVE)
		return -EBUSY;
	if (!s) {
		size_t i = 0;
		if (t->used < ARCA_SESS_MAX)
			while (i < ARCA_SESS_MAX && t->s[i].state != SESS_FREE)
				i++;
		if (t->used >= ARCA_SESS_MAX || i == ARCA_SESS_MAX)
			return -ENOSPC;
		s = &t->s[i];
		sess_clear(s);
		s->id = id;
		s->state = SESS_PENDING;
		t->used++;
	}
	*out = s;
	if (s->state == SESS_REFUSED)
		return 0;
	/* The bound of abi.h, checked without overflow: 64 sessions at most
	 * hold 16 MiB of spec at once. */
	if (len > ARCA_SESS_SPEC_MAX - s->spec_len) {
		sess_refuse(s, "session spec too large");
		return 0;
	}
	if (s->spec_len + len > s->spec_cap) {
		size_t cap = s->spec_cap ? s->spec_cap : 4096;
		while (cap < s->spec_len + len)
			cap *= 2;
		if (cap > ARCA_SESS_SPEC_MAX)
			cap = ARCA_SESS_SPEC_MAX;
		uint8_t *p = realloc(s->spec, cap);
		if (!p) {
			sess_refuse(s, "out of memory");
			return 0;
		}
		s->spec = p;
		s->spec_cap = cap;
	}
	if (len)
		memcpy(s->spec + s->spec_len, data, len);
	s->spec_len += len;
	return 0;
}

int sess_make_live(struct sess *s)
{
	uint8_t *b = malloc(SESS_IN_MAX);
	if (!b)
		return -ENOMEM;
	free(s->spec);
	uint32_t id = s->id;
	sess_clear(s);
	s->id = id;
	s->state = SESS_LIVE;
	s->in_buf = b;
	s->out_credit = ARCA_SESS_OUT_WINDOW;
	return 0;
}

void sess_free(struct sess_table *t, struct sess *s)
{
	if (s->state == SESS_FREE)
		return;
	free(s->spec);
	free(s->in_buf);
	sess_clear(s);
	t->used--;
}

const char *sess_spec_check(const struct arca_spec *s)
{
	if (s->nshares || s->ndisks)
		return "a session cannot mount shares or disks";
	if (s->root_mode != ARCA_ROOT_INITRD || s->root_tag)
		return "a session cannot choose the root";
	if (s->flags & ~ARCA_SPEC_F_TTY)
		return "a session spec may only have the tty flag";
	/* Time and entropy are the sandbox's, set once at its start. */
	if (s->has_host)
		return "a session cannot carry host time or entropy";
	/* The network, too, is the sandbox's (arca start --net). */
	if (s->has_net || s->has_net6)
		return "a session cannot configure the network";
	return NULL;
}

int sess_frame_parse(const struct arca_msg *m, struct sess_frame *f)
{
	uint32_t id;

	memset(f, 0, sizeof(*f));
	if (m->type < ARCA_SMSG_EXEC_PART || m->type > ARCA_SMSG_OUT_ACK)
		return 0;
	if (proto_get_le32(m, 0, &id) < 0 || id == 0)
		return 0;
	f->type = m->type;
	f->id = id;
	switch (m->type) {
	case ARCA_SMSG_EXEC_PART:
	case ARCA_SMSG_EXEC:
	case ARCA_SMSG_STDIN:
		f->data = m->payload + 4;
		f->len = m->len - 4;
		return 1;
	case ARCA_SMSG_SIGNAL:
		/* 1..64 only: kill(-pgid, 0) would be a probe, anything else
		 * EINVAL at best. */
		if (proto_get_le32(m, 4, &f->sig) < 0 || f->sig < 1 || f->sig > 64)
			return 0;
		return 1;
	case ARCA_SMSG_WINSIZE:
		if (proto_get_le16(m, 4, &f->rows) < 0 || proto_get_le16(m, 6, &f->cols) < 0)
			return 0;
		return 1;
	case ARCA_SMSG_OUT_ACK:
		if (proto_get_le32(m, 4, &f->credit) < 0)
			return 0;
		return 1;
	}
	return 0;
}
