/* SPDX-License-Identifier: MIT */
/*
 * arca exec NAME CMD: one session in a long-lived sandbox (sandbox.h). The
 * client half of the session protocol (include/arca/abi.h): the spec goes
 * out as EXEC_PART/EXEC frames, then stdin, signals and terminal sizes;
 * stdout, stderr, a start error and the exit status come back. Same stdio,
 * signal and exit-code rules as `arca run`: stdin is always attached, -t
 * puts this terminal in raw mode and the command on a pty, INT TERM HUP
 * QUIT USR1 USR2 (and WINCH without -t) go to the command's process group.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "arca/limits.h"
#include "cleanup.h"
#include "ctl.h"
#include "mux.h"
#include "proto.h"
#include "run.h"
#include "sandbox.h"
#include "sbstate.h"
#include "spec.h"

/* What waits to go to the mux: the spec (at most ARCA_SESS_SPEC_MAX in
 * frames), stdin (read only while less than EXEC_IN_QUEUED is queued) and
 * a few small frames; this bound is never reached. */
#define EXEC_OUT_MAX (1u << 20)
#define EXEC_IN_QUEUED (256u << 10)

/* One frame for the mux, id 0: the mux puts the session's own there. */
static int frame(struct mux_buf *b, uint16_t type, const void *rest, size_t len)
{
	return mux_put_frame(b, type, 0, rest, len);
}

/* Writes all of d to a blocking fd (our stdout/stderr). */
static void out_all(int fd, const uint8_t *d, size_t n)
{
	while (n) {
		ssize_t w = write(fd, d, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the reader went away: drop, as run does */
		d += w;
		n -= (size_t)w;
	}
}

static int connect_sandbox(const char *name, struct arca_err *e)
{
	char dir[256], path[512];
	const char *why;
	int r = sbstate_rundir(dir, sizeof(dir), &why);
	if (r < 0)
		return arca_error(e, -r, "runtime directory %s: %s", dir, why);
	snprintf(path, sizeof(path), "%s/%s/sock", dir, name);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return arca_error(e, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return arca_error_errno(e, errno, "socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(fd);
		if (err == ENOENT || err == ECONNREFUSED)
			return arca_error(e, ENOENT, "no sandbox named '%s' (arca ls lists them)", name);
		return arca_error_errno(e, err, "connecting to sandbox '%s'", name);
	}
	return fd;
}

/*
 * Why a sandbox went away under a running command: the sandbox's log as
 * it was when the session began (*log, opened then: the supervisor
 * removes the file when the sandbox is gone, an open fd still reads it;
 * *from, its size then). What the log gained since says why, often a
 * moment after the session's end: its supervisor logs the VMM's last word
 * when the VMM has exited. So wait up to a second for a first line, then
 * take the last one (the VMM's "arca: " lines first), sanitized; "" if
 * none.
 */
static void log_open(const char *name, int *log, off_t *from)
{
	char dir[256], path[512];
	const char *why;
	*log = -1;
	*from = 0;
	if (sbstate_rundir(dir, sizeof(dir), &why) < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s/log", dir, name);
	*log = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*log >= 0)
		*from = lseek(*log, 0, SEEK_END);
}

static void stop_reason(int log, off_t from, char *out, size_t cap)
{
	char buf[2048];
	ssize_t n = 0;
	*out = '\0';
	if (log < 0 || from < 0)
		return;
	for (int i = 0; i < 20; i++) {
		off_t end = lseek(log, 0, SEEK_END);
		if (end > from) {
			/* Let the rest of a burst land. */
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			end = lseek(log, 0, SEEK_END);
			off_t at = end - from > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : from;
			n = pread(log, buf, sizeof(buf), at);
			break;
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	const char *line;
	size_t len = n > 0 ? sandbox_stop_line(buf, (size_t)n, &line) : 0;
	if (len)
		ctl_sanitize((const uint8_t *)line, len, out, cap);
}

size_t sandbox_stop_line(const char *buf, size_t n, const char **line)
{
	/* The log holds the guest's console too: an "arca: " line (the
	 * VMM's) says it best; any line is still only text, and sanitized. */
	const char *last = NULL, *vmm = NULL;
	size_t last_len = 0, vmm_len = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && buf[j] != '\n')
			j++;
		size_t k = i;
		while (k < j && buf[k] == ' ')
			k++;
		if (j > k) {
			last = buf + k;
			last_len = j - k;
			if (j - k > 6 && !memcmp(buf + k, "arca: ", 6))
				vmm = buf + k, vmm_len = j - k;
		}
		i = j + 1;
	}
	*line = vmm ? vmm : last;
	return vmm ? vmm_len : last_len;
}

static int send_spec(struct mux_buf *out, const struct arca_opts *o, struct arca_err *e)
{
	struct arca_spec s;
	run_spec_command(o, &s);
	s.has_user = o->has_user;
	s.uid = o->user_uid;
	s.gid = o->user_gid;
	_cleanup_free_ uint8_t *enc = NULL;
	size_t len;
	int r = spec_encode(&s, &enc, &len);
	if (r < 0)
		return arca_error(e, -r, "cannot encode the command");
	if (len > ARCA_SESS_SPEC_MAX)
		return arca_error(e, E2BIG, "the command and its environment take %zu bytes; "
				  "exec allows %u", len, ARCA_SESS_SPEC_MAX);
	const size_t part = ARCA_MSG_MAX_PAYLOAD - 4;
	for (size_t off = 0; off < len; off += part) {
		size_t n = len - off < part ? len - off : part;
		bool last = off + n == len;
		if ((r = frame(out, last ? ARCA_SMSG_EXEC : ARCA_SMSG_EXEC_PART, enc + off, n)) < 0)
			return arca_error(e, -r, "out of memory");
	}
	return 0;
}

/* This terminal's size, or the one libarca was given (rows, cols). */
static void put_winsize(struct mux_buf *out, uint16_t rows, uint16_t cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (!(rows && cols) && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	uint8_t p[4];
	proto_put_le16(p, ws.ws_row);
	proto_put_le16(p + 2, ws.ws_col);
	(void)frame(out, ARCA_SMSG_WINSIZE, p, sizeof(p));
}

/* One frame from the session: output, a start error, or the exit. Returns
 * the exit code (>= 0) at EXIT (and fills *res), else -1. */
static int on_frame(const struct arca_opts *o, const struct arca_msg *m, struct arca_result *res)
{
	uint32_t a, b;
	char text[ARCA_MSG_MAX_PAYLOAD + 1];
	if (m->len < 4)
		return -1;
	switch (m->type) {
	case ARCA_SMSG_STDOUT:
		out_all(STDOUT_FILENO, m->payload + 4, m->len - 4);
		break;
	case ARCA_SMSG_STDERR:
		out_all(STDERR_FILENO, m->payload + 4, m->len - 4);
		break;
	case ARCA_SMSG_ERROR:
		if (m->len < 8)
			break;
		/* Guest bytes on the user's terminal: sanitized as run does. */
		ctl_sanitize(m->payload + 8, m->len - 8, text, sizeof(text));
		if (o->diag_fd >= 0)
			dprintf(o->diag_fd, "arca: %s\n", text);
		snprintf(res->err.msg, sizeof(res->err.msg), "%.500s", text);
		break;
	case ARCA_SMSG_EXIT:
		res->err.code = 0;
		if (proto_get_le32(m, 4, &a) < 0 || proto_get_le32(m, 8, &b) < 0) {
			b = 0;
			a = UINT32_MAX;
		}
		if (a == ARCA_EXIT_CODE && b <= 255) {
			res->kind = ARCA_RESULT_EXITED;
			res->value = res->exit_code = (int)b;
		} else if (a == ARCA_EXIT_SIGNAL && b >= 1 && b <= 64) {
			res->kind = ARCA_RESULT_SIGNALED;
			res->value = (int)b;
			res->exit_code = 128 + (int)b;
		} else {
			res->kind = ARCA_RESULT_ERROR;
			res->exit_code = ARCA_EXIT_ERROR;
			res->err.code = EPROTO;
			snprintf(res->err.msg, sizeof(res->err.msg), "sandbox '%s': a bad exit status",
				 o->name);
		}
		return res->exit_code;
	default:
		break;
	}
	return -1;
}

struct exec_ctx {
	const struct arca_opts *o;
	struct arca_result *res;
	int code; /* the command's exit code once EXIT came, else -1 */
};

static int exec_frame(void *ctx, const struct arca_msg *m)
{
	struct exec_ctx *x = ctx;
	x->code = on_frame(x->o, m, x->res);
	return x->code >= 0; /* EXIT: stop */
}

static int sandbox_exec_(const struct arca_opts *o, struct arca_result *res, struct arca_err *e);

int sandbox_exec(const struct arca_opts *o, struct arca_result *res, struct arca_err *e)
{
	struct arca_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	int r = sandbox_exec_(o, res, e);
	if (r < 0)
		run_result_error(res, r, e);
	return r;
}

static int sandbox_exec_(const struct arca_opts *o, struct arca_result *res, struct arca_err *e)
{
	struct mux_buf out = { .max = EXEC_OUT_MAX };
	_cleanup_close_ int fd = connect_sandbox(o->name, e);
	_cleanup_close_ int log = -1;
	off_t log_from = 0;
	int r, code = -1, sfd = -1;
	bool in_eof = false, raw = false, masked = false;
	struct termios saved;
	sigset_t mask, old;
	static struct proto_decoder dec;
	static struct arca_msg msg;
	uint8_t buf[ARCA_MSG_MAX_PAYLOAD - 4];

	if (fd < 0)
		return fd;
	log_open(o->name, &log, &log_from);
	if ((r = send_spec(&out, o, e)) < 0)
		goto done;
	if (o->tty)
		put_winsize(&out, o->rows, o->cols);
	proto_decoder_init(&dec);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	sigemptyset(&mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
		       ARCA_SIG_FORWARD };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	masked = true;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0;
	}

	while (code < 0) {
		/* Bounded: stdin is read only while little is queued. */
		bool want_in = !in_eof && out.len < EXEC_IN_QUEUED;
		struct pollfd p[3] = {
			{ .fd = fd, .events = (short)(POLLIN | (out.len ? POLLOUT : 0)) },
			{ .fd = want_in ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = arca_error_errno(e, errno, "poll");
			goto done;
		}
		if (p[0].revents & POLLOUT) {
			ssize_t n = send(fd, out.p, out.len, MSG_NOSIGNAL);
			if (n > 0)
				mux_buf_consume(&out, (size_t)n);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			uint8_t in[16384];
			ssize_t n = read(fd, in, sizeof(in));
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				char why[256];
				stop_reason(log, log_from, why, sizeof(why));
				r = arca_error(e, EPIPE, "sandbox '%s' stopped while the command "
					       "ran%s%s", o->name, why[0] ? ": " : "", why);
				goto done;
			}
			/* What follows EXIT in the chunk is left unread: the
			 * command is over. */
			struct exec_ctx x = { o, res, -1 };
			if (n > 0 && proto_decoder_each(&dec, in, (size_t)n, &msg, exec_frame, &x,
							NULL) < 0) {
				r = arca_error(e, EPROTO, "sandbox '%s': malformed reply", o->name);
				goto done;
			}
			code = x.code;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				(void)frame(&out, ARCA_SMSG_STDIN, buf, (size_t)n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				in_eof = true;
				(void)frame(&out, ARCA_SMSG_STDIN, NULL, 0);
			}
		}
		if (sfd >= 0 && (p[2].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH && o->tty) {
					put_winsize(&out, 0, 0);
					continue;
				}
				uint32_t sig = si.ssi_signo;
				if ((int)sig == ARCA_SIG_FORWARD) {
					sig = (uint32_t)si.ssi_int;
					if (sig < 1 || sig > 64)
						continue;
				}
				uint8_t sg[4];
				proto_put_le32(sg, sig);
				(void)frame(&out, ARCA_SMSG_SIGNAL, sg, sizeof(sg));
			}
		}
	}
	r = code;
done:
	if (raw)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (sfd >= 0)
		close(sfd);
	if (masked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	mux_buf_free(&out);
	return r;
}
