/* SPDX-License-Identifier: MIT */
/*
 * The agent loop (agent.h): one poll loop over the host's session stream
 * (stdin port), the guest's (stdout port), the control port, the SIGCHLD
 * signalfd and every live session's stdio.
 *
 * Memory stays bounded whatever the host sends or the commands print:
 *   - host -> guest: one frame is decoded at a time; a STDIN frame that
 *     does not fit its session's SESS_IN_MAX buffer, or any frame while
 *     the output buffer lacks room for the ERROR + EXIT it may cause, is
 *     held ("stalled") and the stdin port is not read until it can be
 *     acted on;
 *   - guest -> host: one OUT_CAP buffer for all frames; a session's pipes
 *     are read only while it has room for a whole frame plus OUT_RESERVE.
 *   - specs: ARCA_SESS_SPEC_MAX per session, ARCA_SESS_MAX slots.
 *
 * Ending: SIGNAL on the control port (arca stop) or the host's stream
 * ending or breaking sends the signal (SIGTERM when the host is gone) to
 * every session's process group, SIGKILLs everything STOP_GRACE_MS later,
 * waits up to STOP_DRAIN_MS more for the sessions' EXITs to go out, then
 * unmounts, sends EXIT on the control port and powers off.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "command.h"
#include "init.h"
#include "proto.h"
#include "sessions.h"

#define FRAME_MAX (ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD)
/* Output for the host: a few dozen frames in flight is plenty to keep the
 * port busy; more would only be memory a slow host makes us hold. */
#define OUT_CAP (256u * 1024)
/* Kept free for what a host frame can make the agent say (ERROR + EXIT of
 * a refused EXEC): session output never takes the last of the buffer. */
#define OUT_RESERVE (2 * FRAME_MAX)
/* Chunk read from the stdin port at once. */
#define IN_CHUNK (16u * 1024)
/* How long a session's pipes may stay open after its main process exited
 * and its group was killed: only a process that left the group (setsid)
 * or cannot be killed still holds them. Shorter than the one-shot's 5 s:
 * `arca exec` waits for EXIT, and a daemon it started must not hold it. */
#define SESS_DRAIN_MS 2000
/* arca stop: the sessions' time to end on the signal before SIGKILL, then
 * the most the EXITs and the output may take to reach the host. */
#define STOP_GRACE_MS 2000
#define STOP_DRAIN_MS 3000
/* The stdout port said POLLHUP (the host side is not connected): poll it
 * again this often instead of spinning (relay.c does the same). */
#define HUP_RETRY_MS 20

enum { DONE, STALL };

static struct {
	const char *root; /* every session's root: the run spec's */
	int in_port, out_port, ctl_port, sfd;
	struct proto_decoder dec, ctl_dec;
	uint8_t inq[IN_CHUNK];
	size_t inq_off, inq_len;
	struct arca_msg msg; /* the decoded host frame ... */
	int held;            /* ... not acted on yet */
	uint8_t out[OUT_CAP];
	size_t out_off, out_len;
	int out_dead; /* the stdout port failed for good: output is dropped */
	long long out_retry_at;
	struct sess_table t;
	int stopping, killed;
	uint32_t exit_code;
	long long kill_at, give_up_at;
} a;

/* ---- output to the host -------------------------------------------------- */

static size_t out_room(void)
{
	return a.out_dead ? OUT_CAP : OUT_CAP - a.out_len;
}

/* Queues one session frame: le32 id, then head[0..hlen), then
 * data[0..len). The caller checked out_room(); a frame that does not fit
 * is dropped (and logged), never written partially. */
static void out_frame(uint16_t type, uint32_t id, const void *head, size_t hlen,
		      const void *data, size_t len)
{
	uint8_t payload[ARCA_MSG_MAX_PAYLOAD];

	if (a.out_dead)
		return;
	if (4 + hlen + len > sizeof(payload))
		len = sizeof(payload) - 4 - hlen;
	proto_put_le32(payload, id);
	if (hlen)
		memcpy(payload + 4, head, hlen);
	if (len)
		memcpy(payload + 4 + hlen, data, len);
	size_t need = ARCA_MSG_HDR_SIZE + 4 + hlen + len;
	if (need > OUT_CAP - a.out_len) {
		init_log("session %u: output buffer full, frame %u dropped", id, type);
		return;
	}
	if (a.out_off + a.out_len + need > OUT_CAP) {
		memmove(a.out, a.out + a.out_off, a.out_len);
		a.out_off = 0;
	}
	int n = proto_encode(a.out + a.out_off + a.out_len, OUT_CAP - a.out_off - a.out_len,
			     type, payload, (uint32_t)(4 + hlen + len));
	if (n > 0)
		a.out_len += (size_t)n;
}

static void out_exit(uint32_t id, uint32_t kind, uint32_t value)
{
	uint8_t b[8];
	proto_put_le32(b, kind);
	proto_put_le32(b + 4, value);
	out_frame(ARCA_SMSG_EXIT, id, b, sizeof(b), NULL, 0);
}

/* ERROR then EXIT with the same code: the session did not start. */
static void out_refuse(uint32_t id, uint32_t code, const char *msg)
{
	uint8_t b[4];
	proto_put_le32(b, code);
	init_log("session %u: %s", id, msg);
	out_frame(ARCA_SMSG_ERROR, id, b, sizeof(b), msg, strlen(msg));
	out_exit(id, ARCA_EXIT_CODE, code);
}

static void agent_stop(uint32_t code, int sig, const char *why);

static void out_flush(long long now)
{
	while (a.out_len && !a.out_dead) {
		ssize_t n = write(a.out_port, a.out + a.out_off, a.out_len);
		if (n > 0) {
			a.out_off += (size_t)n;
			a.out_len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN)
			return;
		/* The port is gone: nobody will read the sessions' output. */
		init_log("stdout port: %s; output dropped from now on", strerror(errno));
		a.out_dead = 1;
		a.out_len = a.out_off = 0;
		agent_stop(0, SIGTERM, "the host's output stream failed");
	}
	a.out_off = 0;
}

/* ---- sessions ------------------------------------------------------------ */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* No more input for the command: what is buffered is dropped (and
 * acknowledged: the host's window must not shrink for bytes that went
 * nowhere). */
static void sess_close_in(struct sess *s)
{
	close_fd(&s->in_fd);
	s->in_unacked += s->in_len;
	s->in_off = s->in_len = 0;
}

/* STDIN_ACK for what the command took: once a whole frame's worth, or
 * when its buffer is empty (so a small write is not left unacknowledged).
 * Needs little room; what does not fit goes next round. */
static void sess_ack_in(struct sess *s)
{
	if (!s->in_unacked || (s->in_unacked < ARCA_MSG_MAX_PAYLOAD && s->in_len))
		return;
	if (out_room() < OUT_RESERVE + ARCA_MSG_HDR_SIZE + 8)
		return;
	uint8_t b[4];
	proto_put_le32(b, (uint32_t)s->in_unacked);
	out_frame(ARCA_SMSG_STDIN_ACK, s->id, b, sizeof(b), NULL, 0);
	s->in_unacked = 0;
}

static void sess_end(struct sess *s)
{
	sess_close_in(s);
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
	sess_free(&a.t, s);
}

static void sess_refuse(struct sess *s, uint32_t code, const char *msg)
{
	out_refuse(s->id, code, msg);
	sess_end(s);
}

static void sess_write_in(struct sess *s)
{
	while (s->in_len && s->in_fd >= 0) {
		ssize_t n = write(s->in_fd, s->in_buf + s->in_off, s->in_len);
		if (n > 0) {
			s->in_off += (size_t)n;
			s->in_len -= (size_t)n;
			s->in_unacked += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EPIPE: the command closed its stdin; EIO: the pty is
		 * hung up. The rest of its input has nowhere to go. */
		sess_close_in(s);
		return;
	}
	s->in_off = 0;
	/* A pty has no EOF to pass on without a ^D in the line discipline;
	 * its input just stops. */
	if (s->in_eof && !s->tty)
		sess_close_in(s);
}

/* One read from a session's stdout (which 0) or stderr (1): one frame. */
static void sess_read(struct sess *s, int which)
{
	int *fd = which ? &s->err_fd : &s->out_fd;
	uint8_t buf[ARCA_MSG_MAX_PAYLOAD - 4];

	if (*fd < 0)
		return;
	/* Flow control: the host has room for this session's output. */
	if (s->out_credit < FRAME_MAX)
		return;
	ssize_t n = read(*fd, buf, sizeof(buf));
	if (n > 0) {
		out_frame(which ? ARCA_SMSG_STDERR : ARCA_SMSG_STDOUT, s->id, NULL, 0, buf,
			  (size_t)n);
		s->out_credit -= ARCA_MSG_HDR_SIZE + 4 + (size_t)n;
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	if (n < 0 && errno == EAGAIN && !s->abandoned)
		return;
	/* EOF; EIO from a pty master once its terminal side is closed;
	 * nothing there after the drain deadline. */
	close_fd(fd);
}

static void sess_start(struct sess *s)
{
	struct arca_spec spec;
	struct command_start st;
	char msg[PATH_MAX + 64], why[PATH_MAX + 32];
	int stdio[3] = { -1, -1, -1 }, r;

	r = spec_decode(s->spec, s->spec_len, &spec);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "arca-init: session spec: %s",
			 r == -EPROTO ? "malformed" :
			 r == -EPROTONOSUPPORT ? "version mismatch" : strerror(-r));
		sess_refuse(s, 125, msg);
		return;
	}
	const char *bad = sess_spec_check(&spec);
	if (bad || sess_make_live(s) < 0) {
		snprintf(msg, sizeof(msg), "arca-init: %s", bad ? bad : "out of memory");
		spec_free(&spec);
		sess_refuse(s, 125, msg);
		return;
	}
	if (spec.flags & ARCA_SPEC_F_TTY) {
		int m, t;
		s->tty = 1;
		r = command_pty(a.root, &m, &t, why, sizeof(why));
		if (r == 0) {
			stdio[0] = stdio[1] = stdio[2] = t;
			s->out_fd = m;
			s->in_fd = fcntl(m, F_DUPFD_CLOEXEC, 3);
			if (s->in_fd < 0) {
				r = -errno;
				snprintf(why, sizeof(why), "pty: %s", strerror(-r));
			}
		}
	} else {
		r = command_pipe(1, &s->in_fd, &stdio[0]);
		if (r == 0)
			r = command_pipe(0, &s->out_fd, &stdio[1]);
		if (r == 0)
			r = command_pipe(0, &s->err_fd, &stdio[2]);
		if (r < 0)
			snprintf(why, sizeof(why), "pipe: %s", strerror(-r));
	}
	if (r < 0) {
		for (int i = 0; i < 3; i++)
			if (stdio[i] >= 0 && (i == 0 || stdio[i] != stdio[0]))
				close(stdio[i]);
		spec_free(&spec);
		snprintf(msg, sizeof(msg), "arca-init: %s", why);
		sess_refuse(s, 125, msg);
		return;
	}
	/* stdio[] is closed by command_spawn in every case. */
	r = command_spawn(&spec, a.root, stdio, &st);
	if (r < 0 || st.code >= 0) {
		/* A child that failed to exec is reaped as an orphan. */
		sess_refuse(s, r < 0 ? 125 : (uint32_t)st.code, st.msg);
		spec_free(&spec);
		return;
	}
	s->pid = st.pid;
	init_log("session %u: exec %s: pid %d", s->id, spec.argv[0], (int)st.pid);
	spec_free(&spec);
}

/* Reaps every exited child; a session's main process starts its drain. */
static void agent_reap(long long now)
{
	int st;

	for (;;) {
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return;
		for (size_t i = 0; i < ARCA_SESS_MAX; i++) {
			struct sess *s = &a.t.s[i];
			if (s->state != SESS_LIVE || s->exited || s->pid != p)
				continue;
			s->exited = 1;
			s->status = st;
			/* Nothing of the session may write after its EXIT.
			 * Killed now, before any fork: the group's id cannot
			 * have been reused yet. What is in the pipes still
			 * goes out. */
			kill(-p, SIGKILL);
			sess_close_in(s);
			s->drain_deadline_ms = now + SESS_DRAIN_MS;
			init_log("session %u: main process exited; draining", s->id);
		}
	}
}

/* Deadlines and sessions whose output is complete. */
static void sess_tick(long long now)
{
	for (size_t i = 0; i < ARCA_SESS_MAX; i++) {
		struct sess *s = &a.t.s[i];
		if (s->state == SESS_LIVE)
			sess_ack_in(s);
		if (s->state != SESS_LIVE || !s->exited)
			continue;
		if (!s->abandoned && now >= s->drain_deadline_ms) {
			init_log("session %u: output not drained after %d ms; not waiting "
				 "for its pipes' writers", s->id, SESS_DRAIN_MS);
			s->abandoned = 1;
		}
		if (s->abandoned) {
			/* Read without waiting for POLLIN: EAGAIN now ends
			 * the stream. A slow host still gets everything. */
			while (s->out_fd >= 0 && out_room() >= FRAME_MAX + OUT_RESERVE &&
			       s->out_credit >= FRAME_MAX)
				sess_read(s, 0);
			while (s->err_fd >= 0 && out_room() >= FRAME_MAX + OUT_RESERVE &&
			       s->out_credit >= FRAME_MAX)
				sess_read(s, 1);
		}
		if (s->out_fd >= 0 || s->err_fd >= 0 || out_room() < FRAME_MAX)
			continue;
		uint32_t kind = ARCA_EXIT_CODE, value = (uint32_t)WEXITSTATUS(s->status);
		if (WIFSIGNALED(s->status)) {
			kind = ARCA_EXIT_SIGNAL;
			value = (uint32_t)WTERMSIG(s->status);
		}
		init_log("session %u: exit %s %u", s->id,
			 kind == ARCA_EXIT_SIGNAL ? "signal" : "code", value);
		out_exit(s->id, kind, value);
		sess_end(s);
	}
}

/* ---- host frames ----------------------------------------------------------- */

static int on_stdin(const struct sess_frame *f)
{
	struct sess *s = sess_find(&a.t, f->id);

	/* A session that ended (or never was): the host may still send.
	 * Bytes for a live session's closed stdin are acknowledged all the
	 * same, or the host's window would close on them. */
	if (!s || s->state != SESS_LIVE || s->in_fd < 0 || s->in_eof) {
		if (s && s->state == SESS_LIVE)
			s->in_unacked += f->len;
		return DONE;
	}
	if (!f->len) {
		s->in_eof = 1;
		sess_write_in(s);
		return DONE;
	}
	if (f->len > SESS_IN_MAX - s->in_len)
		return STALL; /* backpressure: wait for the command to read */
	if (s->in_off + s->in_len + f->len > SESS_IN_MAX) {
		memmove(s->in_buf, s->in_buf + s->in_off, s->in_len);
		s->in_off = 0;
	}
	memcpy(s->in_buf + s->in_off + s->in_len, f->data, f->len);
	s->in_len += f->len;
	sess_write_in(s);
	return DONE;
}

static void on_exec(const struct sess_frame *f)
{
	struct sess *s;
	int r = sess_spec_add(&a.t, f->id, f->data, f->len, &s);

	if (r == -ENOSPC) {
		/* No slot to remember it by: the parts are dropped, the
		 * EXEC answered. */
		if (f->type == ARCA_SMSG_EXEC)
			out_refuse(f->id, 125, "arca-init: too many sessions");
		return;
	}
	if (r < 0) {
		/* -EBUSY: a live id. Answering would put a second EXIT in
		 * that session's stream; the host broke the protocol. */
		init_log("session %u: exec frame for a live session dropped", f->id);
		return;
	}
	if (f->type != ARCA_SMSG_EXEC)
		return;
	if (s->state == SESS_REFUSED) {
		char msg[128];
		snprintf(msg, sizeof(msg), "arca-init: %s", s->refuse);
		sess_refuse(s, 125, msg);
	} else if (a.stopping) {
		sess_refuse(s, 125, "arca-init: the sandbox is stopping");
	} else {
		sess_start(s);
	}
}

static int on_frame(const struct arca_msg *m)
{
	struct sess_frame f;

	if (!sess_frame_parse(m, &f))
		return DONE; /* unknown type, or not a valid frame of its type */
	if (out_room() < OUT_RESERVE)
		return STALL;
	struct sess *s = sess_find(&a.t, f.id);
	int live = s && s->state == SESS_LIVE && !s->exited;
	switch (f.type) {
	case ARCA_SMSG_EXEC_PART:
	case ARCA_SMSG_EXEC:
		on_exec(&f);
		return DONE;
	case ARCA_SMSG_STDIN:
		return on_stdin(&f);
	case ARCA_SMSG_SIGNAL:
		/* Only before the main process is reaped: its pid (the
		 * group's id) may be reused after. */
		if (live && kill(-s->pid, (int)f.sig) < 0)
			(void)kill(s->pid, (int)f.sig);
		return DONE;
	case ARCA_SMSG_OUT_ACK:
		/* Clamped to the window: a host that over-acknowledges
		 * cannot make this session queue more than its share. */
		if (s && s->state == SESS_LIVE)
			s->out_credit = s->out_credit + f.credit > ARCA_SESS_OUT_WINDOW
					? ARCA_SESS_OUT_WINDOW : s->out_credit + f.credit;
		return DONE;
	case ARCA_SMSG_WINSIZE:
		if (live && s->tty) {
			/* The pty sends SIGWINCH to its foreground job itself. */
			struct winsize ws = { .ws_row = f.rows, .ws_col = f.cols };
			(void)ioctl(s->out_fd >= 0 ? s->out_fd : s->in_fd, TIOCSWINSZ, &ws);
		}
		return DONE;
	}
	return DONE;
}

static int pump_frame(void *ctx, const struct arca_msg *m)
{
	(void)ctx;
	return on_frame(m) == STALL;
}

/* Acts on the held frame and decodes more of what was read, until a frame
 * must wait or the chunk is used up. */
static void input_pump(void)
{
	if (a.held) {
		if (on_frame(&a.msg) == STALL)
			return;
		a.held = 0;
	}
	/* A frame that stalls stays in a.msg; the bytes after it wait in
	 * a.inq. */
	size_t used;
	int r = proto_decoder_each(&a.dec, a.inq + a.inq_off, a.inq_len - a.inq_off, &a.msg,
				   pump_frame, NULL, &used);
	if (r < 0) {
		a.inq_off = a.inq_len = 0;
		close_fd(&a.in_port);
		agent_stop(0, SIGTERM, "malformed session stream from the host");
		return;
	}
	a.inq_off += used;
	a.held = r > 0;
}

static void in_read(void)
{
	ssize_t n = read(a.in_port, a.inq, sizeof(a.inq));
	if (n > 0) {
		a.inq_off = 0;
		a.inq_len = (size_t)n;
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	/* EOF: the host closed its end of the session stream (the VMM
	 * turns the end of its fd into a port close). */
	close_fd(&a.in_port);
	agent_stop(0, SIGTERM, "the host closed the session stream");
}

/* The control port: SIGNAL (arca stop) ends the sandbox; nothing else
 * there concerns the agent. */
static int ctl_frame(void *ctx, const struct arca_msg *m)
{
	uint32_t sig;

	(void)ctx;
	if (m->type != ARCA_MSG_SIGNAL || proto_get_le32(m, 0, &sig) < 0 || sig < 1 || sig > 64)
		return 0;
	if (!a.stopping) {
		agent_stop(128 + sig, (int)sig, "signal from the host");
		return 0;
	}
	/* A second signal while stopping goes on to what still runs;
	 * SIGKILL does not wait for the grace period. */
	for (size_t i = 0; i < ARCA_SESS_MAX; i++) {
		struct sess *s = &a.t.s[i];
		if (s->state == SESS_LIVE && !s->exited)
			(void)kill(-s->pid, (int)sig);
	}
	if (sig == SIGKILL)
		a.kill_at = init_now_ms();
	return 0;
}

static void ctl_feed(const uint8_t *buf, size_t n)
{
	static struct arca_msg m;

	if (n && proto_decoder_each(&a.ctl_dec, buf, n, &m, ctl_frame, NULL, NULL) < 0) {
		init_log("control: malformed frame from the host; ignoring the rest");
		a.ctl_port = -1;
	}
}

static void ctl_read(void)
{
	uint8_t buf[256];
	ssize_t n = read(a.ctl_port, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		a.ctl_port = -1; /* stays open for init's writes; not polled */
		return;
	}
	if (n > 0)
		ctl_feed(buf, (size_t)n);
}

/* ---- the end ----------------------------------------------------------------- */

static void agent_stop(uint32_t code, int sig, const char *why)
{
	if (a.stopping)
		return;
	init_log("stopping: %s", why);
	a.stopping = 1;
	a.exit_code = code;
	a.kill_at = init_now_ms() + STOP_GRACE_MS;
	for (size_t i = 0; i < ARCA_SESS_MAX; i++) {
		struct sess *s = &a.t.s[i];
		if (s->state == SESS_LIVE && !s->exited)
			(void)kill(-s->pid, sig);
		else if (s->state == SESS_PENDING || s->state == SESS_REFUSED)
			sess_free(&a.t, s); /* never started: the host expects nothing */
	}
}

static size_t live_count(void)
{
	size_t n = 0;
	for (size_t i = 0; i < ARCA_SESS_MAX; i++)
		n += a.t.s[i].state == SESS_LIVE;
	return n;
}

static __attribute__((noreturn)) void agent_finish(void)
{
	init_log("agent done: exit code %u", a.exit_code);
	close_fd(&a.in_port);
	close_fd(&a.out_port);
	/* As the one-shot finish(): disks clean before the host hears EXIT. */
	initroot_teardown();
	sync();
	init_send_exit(ARCA_EXIT_CODE, a.exit_code);
	init_power_off();
}

static void stop_tick(long long now)
{
	if (!a.stopping)
		return;
	if (!a.killed && (now >= a.kill_at || live_count() == 0)) {
		/* Everything but PID 1 and kernel threads, daemons that left
		 * their session's group included. */
		kill(-1, SIGKILL);
		a.killed = 1;
		a.give_up_at = now + STOP_DRAIN_MS;
	}
	if (!a.killed)
		return;
	if ((live_count() == 0 && (a.out_len == 0 || a.out_dead)) || now >= a.give_up_at)
		agent_finish();
}

/* ---- the loop ---------------------------------------------------------------- */

#define NR_FIXED 4
enum { P_IN, P_OUT, P_CTL, P_SIG };

static void drain_signalfd(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
}

static int min_timeout(int timeout, long long at, long long now)
{
	long long d = at > now ? at - now : 0;
	if (d > 60000)
		d = 60000;
	return timeout < 0 || d < timeout ? (int)d : timeout;
}

void agent_main(const struct arca_spec *run, int sfd, int port[ARCA_NR_PORTS],
		const uint8_t *ctl_early, size_t ctl_early_len)
{
	static struct pollfd pfd[NR_FIXED + 3 * ARCA_SESS_MAX];
	static struct sess *who[NR_FIXED + 3 * ARCA_SESS_MAX];
	static int what[NR_FIXED + 3 * ARCA_SESS_MAX];

	a.root = initroot_root(run);
	a.in_port = port[ARCA_PORT_STDIN];
	a.out_port = port[ARCA_PORT_STDOUT];
	a.ctl_port = port[ARCA_PORT_CONTROL];
	a.sfd = sfd;
	port[ARCA_PORT_STDIN] = port[ARCA_PORT_STDOUT] = -1;
	/* Sessions have no stderr port: STDERR frames share the stdout one. */
	close_fd(&port[ARCA_PORT_STDERR]);
	proto_decoder_init(&a.dec);
	proto_decoder_init(&a.ctl_dec);
	sess_table_init(&a.t);
	if (a.in_port < 0 || a.out_port < 0 || command_set_nonblock(a.in_port) < 0 ||
	    command_set_nonblock(a.out_port) < 0) {
		/* sysinit_open_ports opened all four or failed; this only
		 * guards the invariant. */
		a.out_dead = 1;
		agent_stop(125, SIGTERM, "stdio ports unusable");
	}
	uint8_t ver[4];
	proto_put_le32(ver, ARCA_ABI_VERSION);
	/* READY carries id 0: it is the agent's, not a session's. */
	out_frame(ARCA_SMSG_READY, 0, ver, sizeof(ver), NULL, 0);
	init_log("agent: serving sessions");
	/* What the host sent right behind the spec (arca stop's SIGNAL, say)
	 * comes before anything still in the port. */
	ctl_feed(ctl_early, ctl_early_len);

	for (;;) {
		long long now = init_now_ms();
		input_pump();
		sess_tick(now);
		out_flush(now);
		stop_tick(now);

		int timeout = -1;
		size_t n = NR_FIXED;
		pfd[P_IN] = (struct pollfd){ .fd = -1 };
		if (a.in_port >= 0 && !a.held && a.inq_off == a.inq_len)
			pfd[P_IN] = (struct pollfd){ .fd = a.in_port, .events = POLLIN };
		pfd[P_OUT] = (struct pollfd){ .fd = -1 };
		if (a.out_len && !a.out_dead) {
			if (now >= a.out_retry_at)
				pfd[P_OUT] = (struct pollfd){ .fd = a.out_port, .events = POLLOUT };
			else
				timeout = min_timeout(timeout, a.out_retry_at, now);
		}
		pfd[P_CTL] = (struct pollfd){ .fd = a.ctl_port, .events = POLLIN };
		pfd[P_SIG] = (struct pollfd){ .fd = a.sfd, .events = POLLIN };
		int can_read = out_room() >= FRAME_MAX + OUT_RESERVE;
		for (size_t i = 0; i < ARCA_SESS_MAX; i++) {
			struct sess *s = &a.t.s[i];
			if (s->state != SESS_LIVE)
				continue;
			if (s->in_fd >= 0 && s->in_len) {
				who[n] = s;
				what[n] = 2;
				pfd[n++] = (struct pollfd){ .fd = s->in_fd, .events = POLLOUT };
			}
			int credit = s->out_credit >= FRAME_MAX;
			if (can_read && credit && s->out_fd >= 0) {
				who[n] = s;
				what[n] = 0;
				pfd[n++] = (struct pollfd){ .fd = s->out_fd, .events = POLLIN };
			}
			if (can_read && credit && s->err_fd >= 0) {
				who[n] = s;
				what[n] = 1;
				pfd[n++] = (struct pollfd){ .fd = s->err_fd, .events = POLLIN };
			}
			if (s->exited && !s->abandoned)
				timeout = min_timeout(timeout, s->drain_deadline_ms, now);
		}
		if (a.stopping)
			timeout = min_timeout(timeout, a.killed ? a.give_up_at : a.kill_at, now);

		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			/* EINTR cannot happen (every signal init gets is
			 * blocked or ignored); ENOMEM may pass. Do not spin. */
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		now = init_now_ms();
		if (pfd[P_SIG].revents) {
			drain_signalfd(a.sfd);
			agent_reap(now);
		}
		if (pfd[P_CTL].revents & POLLIN)
			ctl_read();
		else if (pfd[P_CTL].revents & (POLLHUP | POLLERR))
			a.ctl_port = -1; /* nothing more can come: stop polling it */
		if (pfd[P_IN].revents)
			in_read();
		if (pfd[P_OUT].revents & POLLOUT)
			out_flush(now);
		else if (pfd[P_OUT].revents & (POLLHUP | POLLERR))
			a.out_retry_at = now + HUP_RETRY_MS;
		for (size_t i = NR_FIXED; i < n; i++) {
			struct sess *s = who[i];
			if (!pfd[i].revents || s->state != SESS_LIVE)
				continue;
			if (what[i] == 2)
				sess_write_in(s);
			else if (out_room() >= FRAME_MAX + OUT_RESERVE)
				sess_read(s, what[i]);
		}
	}
}
