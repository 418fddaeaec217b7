/* SPDX-License-Identifier: MIT */
/*
 * arca-init: the guest's PID 1 (static, musl).
 *
 *   mount filesystems -> load modules -> open the virtio-console ports by
 *   name -> HELLO -> read the spec (/arca/spec, or without it, from the
 *   control port) -> apply its host time and seed -> fork+exec the command
 *   on stdio pipes -> relay pipes <-> ports and reap until the command exits ->
 *   kill what it left -> drain its output -> EXIT -> power off.
 *
 * Exit codes reported to the host (docker's convention):
 *   125  arca-init itself failed before the command ran (mount, module,
 *        ports, spec, fork, stdio setup)
 *   126  the command could not be started: its workdir cannot be entered,
 *        or exec failed with anything but ENOENT (EACCES, ENOEXEC, ...)
 *   127  exec failed with ENOENT (not found in the command's PATH)
 * Each of these is sent as ERROR (code + one line) followed by EXIT (code),
 * so the host only ever has to wait for EXIT.
 *
 * PID 1 must never return: the kernel panics when init exits. Every path
 * ends in init_power_off().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "agent.h"
#include "command.h"
#include "init.h"
#include "io.h"
#include "net.h"
#include "proto.h"
#include "spec.h"

static struct {
	int console_fd;
	int port[ARCA_NR_PORTS];
	int ctl_open; /* port[ARCA_PORT_CONTROL] is usable */
	int verbose;  /* -1: not known yet (spec unread) */
	int pty;      /* -t: the command's pty master, else -1 */
	int times;    /* --timings: send the step marks before EXIT */
} g = { .console_fd = 2, .port = { -1, -1, -1, -1 }, .verbose = -1, .pty = -1 };

/* How long the output pipes may stay open after the command's main process
 * exited and everything else was killed. Only a process that SIGKILL cannot
 * end (uninterruptible sleep) holds them longer; it must not keep the VM
 * up for ever. */
#define DRAIN_MS 5000

static struct relay relay;

/* ---- control channel ------------------------------------------------------ */

/* Virtio-console writes may be partial (the driver caps one write at
 * 32 KiB-ish and at the free buffers): write_all() loops. Only init writes
 * the control port, and it writes whole frames from one thread, so frames
 * never interleave. */

static uint8_t frame[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];

static void ctl_send(int n)
{
	if (n > 0 && g.ctl_open)
		(void)write_all(g.port[ARCA_PORT_CONTROL], frame, (size_t)n);
}

/* ---- step log ----------------------------------------------------------- */

/* Lines logged before we know whether the run is verbose ('\n'-separated). */
static char early_log[2048];
static size_t early_len;

void init_log(const char *fmt, ...)
{
	char line[256];
	struct timespec ts;
	va_list ap;

	if (g.verbose == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = snprintf(line, sizeof(line), "[%5lld.%06ld] ", (long long)ts.tv_sec,
			 ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);

	if (g.verbose > 0 && g.ctl_open) {
		ctl_send(proto_encode_log(frame, sizeof(frame), line));
		return;
	}
	size_t l = strlen(line);
	if (early_len + l + 1 <= sizeof(early_log)) {
		memcpy(early_log + early_len, line, l);
		early_log[early_len + l] = '\n';
		early_len += l + 1;
	}
}

/* Called once the spec is read: sends or drops what init_log buffered. */
static void log_flush(int verbose)
{
	g.verbose = verbose;
	if (verbose && g.ctl_open) {
		for (size_t off = 0; off < early_len;) {
			char *nl = memchr(early_log + off, '\n', early_len - off);
			*nl = '\0'; /* every buffered line ends in '\n' */
			ctl_send(proto_encode_log(frame, sizeof(frame), early_log + off));
			off = (size_t)(nl - early_log) + 1;
		}
	}
	early_len = 0;
}

/* ---- timing marks (--verbose: the host prints a boot breakdown) ----------- */

static uint64_t marks[ARCA_MARK_NR];

static void mark_now(enum arca_mark m)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return;
	/* Never 0: that means "not reached" on the wire. */
	marks[m] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1;
}

void init_mark(enum arca_mark m)
{
	if ((unsigned)m < ARCA_MARK_NR && !marks[m])
		mark_now(m);
}

/* ---- the end ---------------------------------------------------------------- */

void init_power_off(void)
{
	sync();
	/* The VMM implements the ACPI sleep register, so this stops the VM. */
	reboot(RB_POWER_OFF);
	/* Fallback: the cmdline has reboot=k, i.e. an i8042 reset. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void console_line(const char *msg)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "arca-init: %s\n", msg);
	if (n > 0)
		(void)write_all(g.console_fd, line,
				(size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void init_send_exit(uint32_t kind, uint32_t value)
{
	ctl_send(proto_encode_exit(frame, sizeof(frame), kind, value));
}

/* Reports a failure that prevents the command from running: console line,
 * ERROR + EXIT on the control port when it is open, power off. */
static __attribute__((noreturn)) void fail(uint32_t code, const char *msg)
{
	char line[600];

	console_line(msg);
	/* A disk mounted before the failure is left clean. */
	initroot_teardown();
	snprintf(line, sizeof(line), "arca-init: %s", msg);
	ctl_send(proto_encode_error(frame, sizeof(frame), code, line));
	init_send_exit(ARCA_EXIT_CODE, code);
	init_power_off();
}

static __attribute__((noreturn)) void fail_err(const struct arca_err *e)
{
	fail(125, e->msg);
}

/* ---- the command ----------------------------------------------------------- */

/* Forks the command with stdio[0..2] as its fds 0..2 (closed here once it
 * has them). Returns its pid; on a failure to start it, reports ERROR and
 * sets *code (the child is reaped by the caller's loop). */
static pid_t spawn(const struct arca_spec *s, int stdio[3], int *code)
{
	struct command_start st;

	if (command_spawn(s, initroot_root(s), stdio, &st) < 0)
		fail(125, st.msg);
	*code = st.code;
	if (st.code < 0)
		init_log("exec %s: pid %d", s->argv[0], (int)st.pid);
	else
		ctl_send(proto_encode_error(frame, sizeof(frame), (uint32_t)st.code, st.msg));
	return st.pid;
}

/* Reaps every child that exited (orphans re-parented to us included).
 * Returns 1 when one of them was main_pid, with its wait status. */
static int reap(pid_t main_pid, int *status)
{
	int found = 0, st;

	for (;;) {
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0) /* 0: the rest still run; ECHILD: none left */
			return found;
		if (p == main_pid) {
			*status = st;
			found = 1;
		}
	}
}

static void drain_signalfd(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
}

/*
 * Frames from the host on the control port: SIGNAL, a signal the user sent
 * to arca, for the command's process group (as a terminal delivers to its
 * foreground job). Read only when poll says so: the port stays blocking
 * for init's own frame writes. A malformed stream stops being read (the
 * host never sends one); nothing the host sends can stop init itself.
 */
static struct proto_decoder ctl_in;
static int ctl_in_off; /* hung up or broken: no longer polled */

struct ctl_target {
	pid_t main_pid;
	int exited;
};

static int ctl_frame(void *ctx, const struct arca_msg *m)
{
	const struct ctl_target *t = ctx;
	uint16_t rows, cols;
	if (m->type == ARCA_MSG_WINSIZE && g.pty >= 0 && proto_get_le16(m, 0, &rows) == 0 &&
	    proto_get_le16(m, 2, &cols) == 0) {
		/* The pty sends SIGWINCH to its foreground job itself. */
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		(void)ioctl(g.pty, TIOCSWINSZ, &ws);
		return 0;
	}
	uint32_t sig;
	if (m->type != ARCA_MSG_SIGNAL || proto_get_le32(m, 0, &sig) < 0)
		return 0;
	/* 1..64, never to init itself (kill(-pid) targets the group). */
	if (sig < 1 || sig > 64 || t->exited)
		return 0;
	init_log("signal %u from the host for the command", sig);
	if (kill(-t->main_pid, (int)sig) < 0)
		(void)kill(t->main_pid, (int)sig);
	return 0;
}

static void ctl_feed(const uint8_t *buf, size_t n, pid_t main_pid, int exited)
{
	static struct arca_msg m;
	struct ctl_target t = { main_pid, exited };

	if (ctl_in_off || !n)
		return;
	if (proto_decoder_each(&ctl_in, buf, n, &m, ctl_frame, &t, NULL) < 0) {
		init_log("control: malformed frame from the host; ignoring the rest");
		ctl_in_off = 1;
	}
}

/* Control-port bytes read behind the spec's end frame (spec_from_port):
 * frames the host sent right after it, decoded before anything still in
 * the port. */
static uint8_t ctl_early[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
static size_t ctl_early_len;

static void ctl_early_feed(pid_t main_pid, int exited)
{
	size_t n = ctl_early_len;

	ctl_early_len = 0;
	ctl_feed(ctl_early, n, main_pid, exited);
}

static void ctl_read(pid_t main_pid, int exited)
{
	uint8_t buf[256];
	ssize_t n = read(g.port[ARCA_PORT_CONTROL], buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		/* EOF (the host side is not connected: poll then says POLLIN
		 * for ever) or a dead port: stop polling it, or init spins. */
		ctl_in_off = 1;
		return;
	}
	if (n > 0)
		ctl_feed(buf, (size_t)n, main_pid, exited);
}

/*
 * The loop while the command runs: relays stdio and reaps children until
 * the main process exits, then kills everything else and relays until
 * both output pipes reach EOF and are flushed. Returns the main process's
 * wait status.
 */
static int supervise(pid_t main_pid, int sfd)
{
	struct pollfd pfd[RELAY_NR_POLL + 2];
	int status = 0, exited = 0, abandoned = 0, check = 1;
	long long deadline = 0;

	/* Signals the host sent behind the spec go to the command now. */
	ctl_early_feed(main_pid, 0);
	for (;;) {
		if (check && reap(main_pid, &status)) {
			exited = 1;
			init_mark(ARCA_MARK_CMD_EXIT);
			init_log("main process %d exited; draining output", (int)main_pid);
			/* Nothing may write stdout/stderr after EXIT: kill the
			 * command's process group, then everything else
			 * (daemons that left the group with setsid); kill(-1)
			 * spares PID 1 and kernel threads. Their output that
			 * is already in the pipes still goes out. */
			kill(-main_pid, SIGKILL);
			kill(-1, SIGKILL);
			relay_stop_input(&relay);
			deadline = init_now_ms() + DRAIN_MS;
		}
		check = 0;
		if (exited && relay_done(&relay))
			return status;

		long long now = init_now_ms();
		if (exited && !abandoned && now >= deadline) {
			init_log("output not drained %d ms after the main process exited; "
				 "no longer waiting for the pipes' writers", DRAIN_MS);
			kill(-1, SIGKILL);
			relay_abandon(&relay);
			abandoned = 1;
			continue;
		}
		int timeout = relay_prepare(&relay, pfd, now);
		if (exited && !abandoned && (timeout < 0 || deadline - now < timeout))
			timeout = (int)(deadline - now);
		pfd[RELAY_NR_POLL] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[RELAY_NR_POLL + 1] = (struct pollfd){
			.fd = g.ctl_open && !ctl_in_off ? g.port[ARCA_PORT_CONTROL] : -1,
			.events = POLLIN };

		int n = poll(pfd, RELAY_NR_POLL + 2, timeout);
		if (n < 0) {
			/* EINTR cannot happen (every signal init gets is
			 * blocked or ignored); ENOMEM may pass. Do not spin. */
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		/* Also on a timeout: abandoned sources are read every round. */
		relay_dispatch(&relay, pfd, init_now_ms());
		if (pfd[RELAY_NR_POLL].revents) {
			drain_signalfd(sfd);
			check = 1;
		}
		if (pfd[RELAY_NR_POLL + 1].revents & POLLIN)
			ctl_read(main_pid, exited);
		else if (pfd[RELAY_NR_POLL + 1].revents & (POLLHUP | POLLERR))
			ctl_in_off = 1; /* nothing more can come: stop polling it */
	}
}

static __attribute__((noreturn)) void finish(int status, int code)
{
	uint32_t kind = ARCA_EXIT_CODE, value = (uint32_t)code;

	init_mark(ARCA_MARK_DRAINED);
	if (code < 0) {
		if (WIFSIGNALED(status)) {
			kind = ARCA_EXIT_SIGNAL;
			value = (uint32_t)WTERMSIG(status);
		} else {
			value = (uint32_t)WEXITSTATUS(status);
		}
	}
	init_log("command exited: %s %u", kind == ARCA_EXIT_SIGNAL ? "signal" : "code",
		 value);
	init_log("relayed stdin %llu, stdout %llu, stderr %llu bytes",
		 relay.s[RELAY_IN].written, relay.s[RELAY_OUT].written,
		 relay.s[RELAY_ERR].written);
	/* The relay has closed the stdio ports by now (closing a port
	 * tells the host the guest side is done with it); the control port
	 * stays open for EXIT. Disks are unmounted (or read-only) before the
	 * host hears EXIT and may stop the VM: their filesystems are clean
	 * on the host, no journal left to replay. */
	initroot_teardown();
	sync();
	init_mark(ARCA_MARK_SYNCED);
	if (g.verbose > 0 || g.times)
		ctl_send(proto_encode_times(frame, sizeof(frame), marks, ARCA_MARK_NR));
	init_log("exit sent");
	init_send_exit(kind, value);
	init_power_off();
}

/* ---- main ------------------------------------------------------------------ */

/* One pipe for one of the command's stdio fds (command_pipe). */
static void stdio_pipe(int input, int *mine, int *theirs)
{
	char msg[128];
	int r = command_pipe(input, mine, theirs);

	if (r < 0) {
		snprintf(msg, sizeof(msg), "pipe: %s", strerror(-r));
		fail(125, msg);
	}
}

/*
 * -t: a pty for the command, allocated in the devpts instance of the
 * command's own root (so `tty` names it there), else init's. stdio[] gets
 * three fds of its terminal side; mine[0] and mine[1] are the master (the
 * relay writes stdin into it and reads the output from it: with a
 * terminal, stderr is the same stream). Returns the master.
 */
static int pty_setup(const struct arca_spec *s, int stdio[3], int mine[2])
{
	char msg[PATH_MAX + 64], why[PATH_MAX + 32];
	int m, t;

	if (command_pty(initroot_root(s), &m, &t, why, sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "-t: %s", why);
		fail(125, msg);
	}
	stdio[0] = t;
	stdio[1] = fcntl(t, F_DUPFD_CLOEXEC, 3);
	stdio[2] = fcntl(t, F_DUPFD_CLOEXEC, 3);
	mine[0] = fcntl(m, F_DUPFD_CLOEXEC, 3);
	mine[1] = fcntl(m, F_DUPFD_CLOEXEC, 3);
	if (stdio[1] < 0 || stdio[2] < 0 || mine[0] < 0 || mine[1] < 0)
		fail(125, "-t: out of file descriptors");
	return m;
}

/* Creates the command's stdio pipes (stdio[] gets its ends), or its pty
 * with -t, and hands the stdio ports, made non-blocking, to the relay. */
static void stdio_setup(const struct arca_spec *spec, int stdio[3])
{
	int mine[3];
	char msg[128];

	for (unsigned i = ARCA_PORT_STDIN; i <= ARCA_PORT_STDERR; i++) {
		int r = command_set_nonblock(g.port[i]);
		if (r < 0) {
			snprintf(msg, sizeof(msg), "port %u: O_NONBLOCK: %s", i, strerror(-r));
			fail(125, msg);
		}
	}
	if (spec->flags & ARCA_SPEC_F_TTY) {
		g.pty = pty_setup(spec, stdio, mine);
		/* The host queued the terminal's size before the guest booted:
		 * apply it before the command can ask (signals that came this
		 * early have no command to go to). */
		struct pollfd p = { .fd = g.port[ARCA_PORT_CONTROL], .events = POLLIN };
		ctl_early_feed(0, 1);
		while (g.ctl_open && !ctl_in_off && poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
			ctl_read(0, 1);
		/* No stderr of its own: a pipe nobody writes, at EOF at once. */
		int unused;
		stdio_pipe(0, &mine[2], &unused);
		close(unused);
	} else {
		stdio_pipe(1, &mine[0], &stdio[0]);
		stdio_pipe(0, &mine[1], &stdio[1]);
		stdio_pipe(0, &mine[2], &stdio[2]);
	}
	relay_init(&relay, g.port[ARCA_PORT_STDIN], mine[0], mine[1], g.port[ARCA_PORT_STDOUT],
		   mine[2], g.port[ARCA_PORT_STDERR]);
	for (unsigned i = ARCA_PORT_STDIN; i <= ARCA_PORT_STDERR; i++)
		g.port[i] = -1; /* the relay owns them now */
}

/* SIGCHLD arrives on a signalfd, so reaping is one more fd in the relay's
 * poll loop; SIGPIPE is ignored so a command that closed its stdin turns
 * the relay's write into EPIPE. (As PID 1 the kernel would drop SIGPIPE's
 * default action anyway; this says so.) */
static int signals_setup(void)
{
	sigset_t chld;
	char msg[128];

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	signal(SIGPIPE, SIG_IGN);
	int sfd = -1;
	if (sigprocmask(SIG_BLOCK, &chld, NULL) == 0)
		sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		snprintf(msg, sizeof(msg), "signalfd: %s", strerror(errno));
		fail(125, msg);
	}
	return sfd;
}

/* ---- the spec over the control port (warm-capable runs) -------------------- */

/* SPEC frames collected into buf[0..len), cap bytes allocated. */
struct spec_in {
	char *buf;
	size_t len, cap;
	int done;     /* the empty end frame came */
	int err;      /* -E2BIG, -ENOMEM, or -EBADMSG: another frame type */
	uint16_t bad; /* that type */
};

/* Not realloc: the old block would go back to the heap with its bytes
 * (the HOST seed among them) still in it. */
static int spec_grow(struct spec_in *in, size_t need)
{
	size_t cap = in->cap ? in->cap : 16384;

	while (cap < need) /* need <= ARCA_SPEC_MAX_SIZE: cannot overflow */
		cap *= 2;
	if (cap > ARCA_SPEC_MAX_SIZE)
		cap = ARCA_SPEC_MAX_SIZE;
	char *p = malloc(cap);
	if (!p)
		return -ENOMEM;
	if (in->len)
		memcpy(p, in->buf, in->len);
	if (in->buf)
		explicit_bzero(in->buf, in->len);
	free(in->buf);
	in->buf = p;
	in->cap = cap;
	return 0;
}

static int spec_frame(void *ctx, const struct arca_msg *m)
{
	struct spec_in *in = ctx;

	/* The VMM sends every SPEC frame before any other: anything else
	 * here is a broken or hostile stream, not one to guess at. */
	if (m->type != ARCA_MSG_SPEC) {
		in->err = -EBADMSG;
		in->bad = m->type;
		return 1;
	}
	if (m->len == 0) {
		in->done = 1;
		return 1;
	}
	/* m->len <= ARCA_MSG_MAX_PAYLOAD (the decoder's check) and in->len
	 * <= ARCA_SPEC_MAX_SIZE: neither side of this can wrap. */
	if (m->len > ARCA_SPEC_MAX_SIZE - in->len) {
		in->err = -E2BIG;
		return 1;
	}
	if (m->len > in->cap - in->len && (in->err = spec_grow(in, in->len + m->len)) < 0)
		return 1;
	memcpy(in->buf + in->len, m->payload, m->len);
	in->len += m->len;
	return 0;
}

/*
 * A warm-capable initrd carries no /arca/spec: a guest restored from a
 * snapshot resumes right here, after HELLO, and the VMM sends this run's
 * spec as ARCA_MSG_SPEC frames up to an empty one. Reads until then with
 * ctl_in, which the rest of init goes on using; the bytes read behind the
 * end frame stay in ctl_early. Every failure is fatal (125): without the
 * spec there is nothing to run.
 */
static void spec_from_port(char **out, size_t *out_len)
{
	static struct arca_msg m;
	struct spec_in in = { 0 };
	char msg[128];

	if (!g.ctl_open)
		fail(125, "no " ARCA_SPEC_PATH " and no control port to read the spec from");
	init_log("spec: reading it from the control port");
	for (;;) {
		ssize_t n = read(g.port[ARCA_PORT_CONTROL], ctl_early, sizeof(ctl_early));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, sizeof(msg), "control port: reading the spec: %s",
				 strerror(errno));
			fail(125, msg);
		}
		if (n == 0)
			fail(125, "control port: closed before the end of the spec");
		size_t used = 0;
		if (proto_decoder_each(&ctl_in, ctl_early, (size_t)n, &m, spec_frame, &in,
				       &used) == -EPROTO)
			fail(125, "control port: malformed frame while reading the spec");
		if (in.err == -E2BIG) {
			snprintf(msg, sizeof(msg), "control port: spec over %u bytes",
				 ARCA_SPEC_MAX_SIZE);
			fail(125, msg);
		}
		if (in.err == -EBADMSG) {
			snprintf(msg, sizeof(msg),
				 "control port: frame of type %u before the end of the spec",
				 (unsigned)in.bad);
			fail(125, msg);
		}
		if (in.err < 0)
			fail(125, "control port: reading the spec: out of memory");
		if (!in.done)
			continue;
		/* Keep what follows the end frame (used <= n); wipe the rest
		 * of every copy the frames went through: they held the seed.
		 * ctl_in is between frames (its buffer holds only old bytes). */
		ctl_early_len = (size_t)n - used;
		memmove(ctl_early, ctl_early + used, ctl_early_len);
		explicit_bzero(ctl_early + ctl_early_len, sizeof(ctl_early) - ctl_early_len);
		explicit_bzero(ctl_in.buf, sizeof(ctl_in.buf));
		explicit_bzero(&m, sizeof(m));
		init_log("spec: %zu bytes from the control port", in.len);
		*out = in.buf;
		*out_len = in.len;
		return;
	}
}

static void read_spec(struct arca_spec *s)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	const char *from = ARCA_SPEC_PATH;
	char msg[300];

	int r = init_read_file(ARCA_SPEC_PATH, ARCA_SPEC_MAX_SIZE, &buf, &len);
	if (r == -ENOENT) {
		from = "spec from the control port";
		spec_from_port(&buf, &len);
		r = 0;
	}
	if (r == 0)
		r = spec_decode((const uint8_t *)buf, len, s);
	/* The raw bytes hold the HOST seed too (host_apply). */
	if (buf)
		explicit_bzero(buf, len);
	if (r == 0)
		return;
	snprintf(msg, sizeof(msg), "%s: %s", from,
		 r == -EPROTO ? "malformed spec" :
		 r == -EPROTONOSUPPORT ? "spec version mismatch (launcher and init differ)" :
		 strerror(-r));
	fail(125, msg);
}

/* <linux/random.h>'s ioctls, defined here because arca-init builds with
 * musl and no kernel uapi headers: RNDADDENTROPY's size is that of struct
 * rand_pool_info's fixed part (int entropy_count, int buf_size; the bytes
 * follow), RNDRESEEDCRNG (Linux 4.17) takes no argument. Both need
 * CAP_SYS_ADMIN, which PID 1 has. */
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#define RNDRESEEDCRNG _IO('R', 0x07)

/*
 * The HOST record (ARCA_SPEC_HOST), before anything of the command runs.
 *
 * Every guest restored from one snapshot resumes with the same kernel CRNG
 * state: without fresh input, they would all hand out the same "random"
 * bytes (keys, nonces, ASLR of what they start). The host's seed goes into
 * the pool, credited, and the CRNG reseeds from it at once instead of at
 * its next periodic reseed. Then the seed is wiped: with it and the
 * snapshot, anyone could recompute this guest's CRNG state.
 *
 * A restored guest's clocks are the snapshot's: CLOCK_REALTIME is set to
 * the host's, and the marks of the steps before the restore (taken during
 * the boot that made the snapshot) are taken again now, so the run's
 * breakdown shows them as zero-length instead of a boot that never
 * happened in this run. Failures are logged: the command can still run.
 */
static void host_apply(struct arca_spec *s)
{
	/* A warm-capable guest booted quiet whatever the run asked (the
	 * kernel command line is part of the snapshot's key): a verbose run
	 * shows the kernel's messages from here on. */
	if (s->has_host && (s->flags & ARCA_SPEC_F_VERBOSE)) {
		int fd = open("/proc/sys/kernel/printk", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "7", 1) != 1)
			init_log("raising the kernel's log level: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (s->has_host) {
		struct {
			int entropy_count; /* bits credited */
			int buf_size;
			uint8_t buf[ARCA_SPEC_SEED_SIZE];
		} pool = { .entropy_count = 8 * ARCA_SPEC_SEED_SIZE,
			   .buf_size = ARCA_SPEC_SEED_SIZE };
		memcpy(pool.buf, s->seed, sizeof(pool.buf));
		int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			init_log("host seed: /dev/urandom: %s", strerror(errno));
		} else {
			if (ioctl(fd, RNDADDENTROPY, &pool) < 0)
				init_log("host seed: RNDADDENTROPY: %s", strerror(errno));
			if (ioctl(fd, RNDRESEEDCRNG) < 0)
				init_log("host seed: RNDRESEEDCRNG: %s", strerror(errno));
			close(fd);
		}
		explicit_bzero(&pool, sizeof(pool));
		explicit_bzero(s->seed, sizeof(s->seed));
	}
	if (!(s->flags & ARCA_SPEC_F_RESTORED))
		return;
	if (s->has_host) {
		/* Any le64 fits a 64-bit time_t; the kernel refuses (EINVAL)
		 * what it cannot represent. */
		struct timespec ts = { .tv_sec = (time_t)(s->host_realtime_ns / 1000000000u),
				       .tv_nsec = (long)(s->host_realtime_ns % 1000000000u) };
		if (clock_settime(CLOCK_REALTIME, &ts) < 0)
			init_log("restored: setting the clock: %s", strerror(errno));
	}
	/* One instant for the three: zero-length steps (the breakdown then
	 * shows the kernel's part as zero, not as unknown). */
	mark_now(ARCA_MARK_PORTS);
	marks[ARCA_MARK_INIT] = marks[ARCA_MARK_MODULES] = marks[ARCA_MARK_PORTS];
	init_log("restored from a snapshot");
}

int main(void)
{
	struct arca_err e = { 0 };
	struct arca_spec spec;
	int code;

	/* Refuse to "boot" a host: everything below mounts over /dev and
	 * ends in reboot(2). */
	if (getpid() != 1) {
		fprintf(stderr, "arca-init: must run as PID 1 inside an arca guest\n");
		return 125;
	}
	init_mark(ARCA_MARK_INIT);
	init_log("arca-init started");

	if (sysinit_mounts(&e) < 0)
		fail_err(&e);
	sysinit_std_fds();
	int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (con >= 0)
		g.console_fd = con;

	if (sysinit_modules(&e) < 0)
		fail_err(&e);
	init_mark(ARCA_MARK_MODULES);
	int r = sysinit_open_ports(g.port, &e);
	g.ctl_open = g.port[ARCA_PORT_CONTROL] >= 0;
	if (r < 0)
		fail_err(&e);
	ctl_send(proto_encode_hello(frame, sizeof(frame)));
	init_mark(ARCA_MARK_PORTS);

	/* One decoder for the control port from here on: the spec's frames
	 * (when it comes that way), then SIGNAL and WINSIZE. */
	proto_decoder_init(&ctl_in);
	read_spec(&spec);
	log_flush(!!(spec.flags & ARCA_SPEC_F_VERBOSE));
	g.times = !!(spec.flags & ARCA_SPEC_F_TIMES);
	/* Before any share or disk is mounted and before the command: it
	 * must never see the snapshot's clock or CRNG state. */
	host_apply(&spec);
	/* --net: the interface (virtio_net was among the modules above)
	 * before any share or disk is mounted, so a run that cannot get its
	 * network fails before there is anything to tear down; after
	 * host_apply, so nothing network-facing runs on a snapshot's CRNG. */
	char net_err[256];
	if (spec.has_net && initnet_configure(&spec.net, spec.has_net6 ? &spec.net6 : NULL,
					      net_err, sizeof(net_err)) < 0)
		fail(125, net_err);
	/* Shares and the command's root, before anything of the command
	 * runs (the modules they need were loaded above). */
	if (initroot_setup(&spec, &e) < 0)
		fail_err(&e);
	/* Its resolv.conf needs the assembled root (an overlay's upper
	 * layer, a bind mount over the user's file). */
	if (spec.has_net &&
	    initnet_resolv(&spec.net, spec.root_mode,
			   initroot_root(&spec) ? initroot_root(&spec) : "/", net_err,
			   sizeof(net_err)) < 0)
		fail(125, net_err);
	init_mark(ARCA_MARK_ROOT);

	int sfd = signals_setup(), stdio[3];
	/* arca start: exec sessions instead of the spec's (ignored) argv. */
	if (spec.flags & ARCA_SPEC_F_AGENT)
		agent_main(&spec, sfd, g.port, ctl_early, ctl_early_len);
	stdio_setup(&spec, stdio);
	pid_t pid = spawn(&spec, stdio, &code);
	init_mark(ARCA_MARK_SPAWN);
	int status = supervise(pid, sfd);
	finish(status, code);
}
