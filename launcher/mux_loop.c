/* SPDX-License-Identifier: MIT */
/* See mux.h: the mux's process (privileges, seccomp) and its poll loop
 * around the pure logic of mux.c. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "mux.h"
#include "seccomp_policies.h"


/* Writes what it can of b to fd (non-blocking): the bytes written, or -1
 * when fd is gone. */
static ssize_t flush(int fd, struct mux_buf *b)
{
	ssize_t sent = 0;
	while (b->len) {
		ssize_t n = send(fd, b->p, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? sent : -1;
		mux_buf_consume(b, (size_t)n);
		sent += n;
	}
	return sent;
}

static void drop_privileges(void)
{
	/* The mux parses guest bytes: it holds nothing worth taking. As
	 * root, become nobody; rootless it is the user already. */
	if (geteuid() == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(125);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(125);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* A forbidden call: one line on stderr (the sandbox's log) naming it, as
 * arca-vmm's reporter does; async-signal-safe (one write, _exit). The
 * clients then see the sandbox stop. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char buf[128], num[16];
	int nr = si->si_syscall, k = 0;
	const char *name = nr >= 0 && (unsigned)nr < vmm_syscall_names_len && vmm_syscall_names[nr]
				   ? vmm_syscall_names[nr] : "unknown";
	unsigned v = nr < 0 ? 0 : (unsigned)nr;
	do
		num[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < (int)sizeof(num));
	size_t n = 0;
	const char *pre = "arca: the session mux made a forbidden system call: ";
	while (*pre && n < sizeof(buf) - 24)
		buf[n++] = *pre++;
	while (*name && n < sizeof(buf) - 24)
		buf[n++] = *name++;
	buf[n++] = ' ';
	buf[n++] = '(';
	while (k)
		buf[n++] = num[--k];
	buf[n++] = ')';
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
	_exit(125);
}

int mux_confine(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* policy/mux.policy: bytes between the fds it holds, new clients,
	 * memory; nothing else. Needs no_new_privs (drop_privileges). */
	struct sock_fprog prog = {
		.len = vmm_mux_filter_len,
		.filter = (struct sock_filter *)(uintptr_t)vmm_mux_filter,
	};
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0 ? -errno : 0;
}

int mux_run(int listen_fd, int guest_fd, int ready_fd, uid_t owner)
{
	static struct mux m;
	struct pollfd p[2 + MUX_MAX_CLIENTS];
	uint8_t buf[MUX_READ_CHUNK];
	bool guest_eof = false;

	drop_privileges();
	mux_init(&m);
	(void)fcntl(guest_fd, F_SETFL, fcntl(guest_fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	/* Before the first byte from the guest or a client. */
	if (mux_confine() < 0)
		_exit(125);

	while (!m.guest_broken) {
		/* Clients done: EXIT delivered, or broken. */
		for (size_t i = 0; i < MUX_MAX_CLIENTS; i++) {
			struct mux_client *c = &m.c[i];
			if (c->fd < 0)
				continue;
			ssize_t sent = flush(c->fd, &c->out);
			if (sent < 0)
				c->broken = true;
			else
				mux_client_delivered(&m, c, (size_t)sent);
			if (c->broken || (c->exited && c->out.len == 0) || (guest_eof && !c->out.len)) {
				close(c->fd);
				mux_client_gone(&m, c);
			}
		}
		if (guest_eof)
			break;
		if (flush(guest_fd, &m.gout) < 0)
			break;
		if (ready_fd >= 0 && m.ready) {
			(void)!write(ready_fd, "R", 1);
			close(ready_fd);
			ready_fd = -1;
		}
		bool rg = mux_can_read_guest(&m);
		p[0] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = guest_fd,
					.events = (short)((rg ? POLLIN : 0) |
							  (m.gout.len ? POLLOUT : 0)) };
		for (size_t i = 0; i < MUX_MAX_CLIENTS; i++) {
			struct mux_client *c = &m.c[i];
			bool rc = c->fd >= 0 && mux_can_read_client(&m, c);
			short ev = (short)((rc && !c->exited ? POLLIN : 0) | (c->out.len ? POLLOUT : 0));
			p[2 + i] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		if (poll(p, 2 + MUX_MAX_CLIENTS, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = rg ? read(guest_fd, buf, sizeof(buf)) : 0;
			if (n > 0)
				(void)mux_guest_bytes(&m, buf, (size_t)n);
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				guest_eof = true;
		}
		for (size_t i = 0; i < MUX_MAX_CLIENTS; i++) {
			struct mux_client *c = &m.c[i];
			if (c->fd < 0 || !p[2 + i].revents || p[2 + i].fd != c->fd)
				continue;
			if (!(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) || c->exited)
				continue;
			/* Each read may add a chunk and more to the guest's
			 * queue: room is checked for each, not once. */
			if (!mux_can_read_client(&m, c))
				continue;
			ssize_t n = read(c->fd, buf, sizeof(buf));
			if (n > 0) {
				if (mux_client_bytes(&m, c, buf, (size_t)n) < 0)
					c->broken = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				c->broken = true;
			}
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0) {
				struct ucred cr;
				socklen_t cl = sizeof(cr);
				/* Only the sandbox's owner may run commands in
				 * it; root may anyway (it could ptrace us). */
				if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
				    (cr.uid != owner && cr.uid != 0)) {
					uint8_t f[600];
					int k = mux_refuse_frames(f, sizeof(f),
								  "permission denied: not this sandbox's owner");
					if (k > 0)
						(void)!send(fd, f, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT);
					close(fd);
				} else if (!mux_client_add(&m, fd)) {
					uint8_t f[600];
					int k = mux_refuse_frames(f, sizeof(f),
								  "too many sessions in this sandbox");
					if (k > 0)
						(void)!send(fd, f, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT);
					close(fd);
				}
			}
		}
	}
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++)
		if (m.c[i].fd >= 0)
			close(m.c[i].fd);
	mux_free(&m);
	return 0;
}
