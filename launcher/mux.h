/* SPDX-License-Identifier: MIT */
/*
 * A long-lived sandbox's session mux: the one process that speaks to both
 * `arca exec` clients (on the sandbox's unix socket) and the guest's agent
 * (the session stream, include/arca/abi.h, on a socketpair that arca-vmm
 * relays to the guest's stdin and stdout ports).
 *
 * Each client is one session. Its frames carry id 0; the mux gives the
 * session an id of its own and rewrites every frame's id, so a client can
 * reach no other session. What the guest sends is guest bytes: a frame for
 * an id no client holds is dropped (output is still acknowledged, so a
 * session whose client left never blocks on its window), a malformed
 * stream ends the mux.
 *
 * Memory is bounded both ways, by backpressure rather than loss: the mux
 * reads a client only while the guest's queue has room, and the guest only
 * while every client's queue has room (a client that stops reading holds up
 * the others' output, never the mux's memory).
 *
 * The logic (mux_*_bytes, mux_client_*) is pure and cmocka-tested; mux_run
 * is the poll loop around it. It runs unprivileged (mux_run drops to
 * nobody when started as root): it holds no file but its sockets.
 */
#ifndef ARCA_MUX_H
#define ARCA_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define MUX_MAX_CLIENTS   ARCA_SESS_MAX
#define MUX_CLIENT_OUT_MAX (1u << 20)  /* bytes queued for one client */
#define MUX_GUEST_OUT_MAX  (256u << 10) /* bytes queued for the guest */
#define MUX_READ_CHUNK     4096u
/* Room one read's worth of input can need once re-framed (a chunk plus a
 * frame completed from earlier bytes). */
#define MUX_ROOM (2u * (ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD) + MUX_READ_CHUNK)

/* A byte queue that grows on demand up to max (set by its owner). */
struct mux_buf {
	uint8_t *p;
	size_t len, cap, max;
};

/* Appends n bytes: 0, -ENOBUFS past max, -ENOMEM. */
int mux_buf_put(struct mux_buf *b, const void *d, size_t n);
/* Drops the first n bytes (written out). */
void mux_buf_consume(struct mux_buf *b, size_t n);
void mux_buf_free(struct mux_buf *b);
/* Appends one session frame: le32 id, then rest[0..rest_len) (at most
 * ARCA_MSG_MAX_PAYLOAD - 4 bytes): 0 or -errno. */
int mux_put_frame(struct mux_buf *b, uint16_t type, uint32_t id, const void *rest,
		  size_t rest_len);

struct mux_client {
	int fd;             /* -1: slot free */
	uint32_t id;        /* the session's id for the guest */
	bool started;       /* EXEC forwarded: the session runs */
	bool exited;        /* EXIT forwarded: close once out is flushed */
	bool broken;        /* the client broke the protocol or went away */
	size_t spec_bytes;  /* EXEC_PART/EXEC bytes so far */
	int64_t in_window;  /* STDIN payload the guest can still take
			     * (ARCA_SESS_STDIN_WINDOW, STDIN_ACK); the client
			     * is read only while it is positive */
	size_t out_unacked; /* bytes delivered to the client, not yet told to
			     * the guest with OUT_ACK */
	struct proto_decoder dec;
	struct mux_buf out;
};

struct mux {
	struct mux_client c[MUX_MAX_CLIENTS];
	uint32_t next_id;
	struct proto_decoder gdec;
	struct mux_buf gout;  /* frames for the guest */
	bool ready;           /* READY seen */
	bool guest_broken;    /* malformed guest stream: stop */
	uint64_t dropped;     /* guest frames for no client */
};

void mux_init(struct mux *m);
void mux_free(struct mux *m);
/* A new client on fd: its slot, or NULL when all are taken (the caller
 * tells it so with mux_refuse_frames and closes it). */
struct mux_client *mux_client_add(struct mux *m, int fd);
/* Bytes a client sent. Returns 0, or -EPROTO when it broke the protocol
 * (the caller drops it; its session, if started, gets SIGHUP). */
int mux_client_bytes(struct mux *m, struct mux_client *c, const uint8_t *d, size_t n);
/* The client is gone: tell its running session SIGHUP, free the slot. */
void mux_client_gone(struct mux *m, struct mux_client *c);
/* Bytes from the guest. 0, or -EPROTO for a malformed stream. */
int mux_guest_bytes(struct mux *m, const uint8_t *d, size_t n);
/* May the mux read the guest now / this client now (room, see above;
 * a client also needs stdin window). */
bool mux_can_read_guest(const struct mux *m);
bool mux_can_read_client(const struct mux *m, const struct mux_client *c);
/* n bytes went out to the client: OUT_ACK them to the guest (coalesced;
 * all at once when the client's queue is empty). */
void mux_client_delivered(struct mux *m, struct mux_client *c, size_t n);
/* ERROR + EXIT 125 for a client turned away (too many sessions). */
int mux_refuse_frames(uint8_t *out, size_t cap, const char *why);

/* Installs policy/mux.policy's seccomp filter on the calling thread (after
 * no_new_privs). 0 or -errno. */
int mux_confine(void);

/* The loop: listen_fd (accepting), guest_fd (the session stream),
 * ready_fd (gets "R" once the agent is ready, then is closed; -1: none),
 * owner (the only uid accepted). Returns when the guest stream ends. */
int mux_run(int listen_fd, int guest_fd, int ready_fd, uid_t owner);

#endif
