/* SPDX-License-Identifier: MIT */
/*
 * sessions.c: the agent's session table and the checks on host session
 * frames (include/arca/abi.h, "exec sessions"). Pure: no syscalls, so the
 * host's unit tests cover it; agent.c owns the processes and fds a live
 * session holds.
 */
#ifndef ARCA_SESSIONS_H
#define ARCA_SESSIONS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arca/abi.h"
#include "proto.h"
#include "spec.h"

enum sess_state {
	SESS_FREE = 0,
	SESS_PENDING, /* EXEC_PARTs arrived: spec[0..spec_len) so far */
	SESS_REFUSED, /* its spec cannot be accepted (refuse says why); the
		       * rest of it is swallowed and EXEC answers ERROR + EXIT */
	SESS_LIVE,    /* EXEC started it: agent.c's fields below */
};

/* A session's stdin buffer: what the host sent that the command has not
 * read yet. When a STDIN frame does not fit, the agent stops reading the
 * host stream until it does (backpressure, never unbounded memory). */
#define SESS_IN_MAX (64u * 1024)

struct sess {
	uint32_t id;
	enum sess_state state;
	/* SESS_PENDING */
	uint8_t *spec;
	size_t spec_len, spec_cap;
	/* SESS_REFUSED */
	const char *refuse;
	/* SESS_LIVE (agent.c) */
	pid_t pid;          /* its process group too (the child calls setsid) */
	int tty;            /* ARCA_SPEC_F_TTY: out_fd is the pty master */
	int in_fd;          /* stdin pipe's write end or a dup of the master; -1 */
	int out_fd, err_fd; /* -1 once at EOF (or abandoned) */
	int in_eof;         /* host sent EOF: close in_fd once in_buf is empty */
	int exited;         /* main process reaped; status is its wait status */
	int status;
	int abandoned;      /* drain deadline passed: EAGAIN counts as EOF */
	long long drain_deadline_ms;
	uint8_t *in_buf;    /* SESS_IN_MAX bytes, allocated with the session */
	size_t in_off, in_len;
	size_t in_unacked;  /* stdin bytes written (or dropped), not yet told
			     * to the host with STDIN_ACK */
	size_t out_credit;  /* output frame bytes it may still send (OUT_ACK) */
};

struct sess_table {
	struct sess s[ARCA_SESS_MAX];
	size_t used; /* slots not SESS_FREE */
};

void sess_table_init(struct sess_table *t);

/* The slot of id (any state but FREE), or NULL. */
struct sess *sess_find(struct sess_table *t, uint32_t id);

/*
 * Adds the bytes of an EXEC_PART or EXEC to id's spec. Returns 0 with *out
 * the session (PENDING, or REFUSED: over ARCA_SESS_SPEC_MAX in all, or out
 * of memory; a refused session swallows its remaining parts), or:
 *   -EINVAL  id 0 (never a session)
 *   -EBUSY   id is a live session: the frame must be dropped (a second
 *            EXIT for the live id would confuse the host's stream)
 *   -ENOSPC  no free slot: ARCA_SESS_MAX sessions pending or live
 */
int sess_spec_add(struct sess_table *t, uint32_t id, const uint8_t *data, size_t len,
		  struct sess **out);

/* Turns a PENDING session LIVE (spec buffer freed, fds -1) and gives it a
 * stdin buffer. -ENOMEM leaves it as it was. */
int sess_make_live(struct sess *s);

/* Frees a slot's memory and marks it FREE. Its fds must be closed and its
 * processes gone or reaped elsewhere (agent.c). */
void sess_free(struct sess_table *t, struct sess *s);

/* Checks a decoded session spec against what a session may ask for:
 * no SHARE, DISK, ROOT or HOST record (the sandbox's mounts, root, clock
 * and entropy are the agent's), no flag but ARCA_SPEC_F_TTY; USER and RLIMIT records are the
 * session's own (they apply to its command's child only). NULL when
 * acceptable, else why not (static text). */
const char *sess_spec_check(const struct arca_spec *s);

/* A host -> guest session frame, checked. */
struct sess_frame {
	uint16_t type; /* ARCA_SMSG_EXEC_PART .. ARCA_SMSG_OUT_ACK */
	uint32_t id;   /* nonzero */
	const uint8_t *data; /* EXEC_PART, EXEC, STDIN: the bytes after the id */
	size_t len;
	uint32_t sig;        /* SIGNAL: 1..64 */
	uint32_t credit;     /* OUT_ACK */
	uint16_t rows, cols; /* WINSIZE */
};

/* Returns 1 with *f filled for a frame to act on, 0 for one to drop: an
 * unknown type, a payload too short for its type, id 0, a signal outside
 * 1..64. f->data points into m. */
int sess_frame_parse(const struct arca_msg *m, struct sess_frame *f);

#endif
