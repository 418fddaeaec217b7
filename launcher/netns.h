/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces held by fd, the TAP device inside one, and the one
 * sysctl a run's network needs (ip_forward).
 *
 * A thread's network namespace is its own (setns and unshare(CLONE_NEWNET)
 * change the calling thread only), and so is /proc/thread-self/ns/net:
 * these functions move the calling thread and bring it back, and never
 * touch another thread's namespace. Whatever a thread opens while inside a
 * namespace (a socket, /dev/net/tun, a /proc/sys/net file) keeps acting on
 * that namespace after the thread has left it.
 */
#ifndef ARCA_NETNS_H
#define ARCA_NETNS_H

#include <stdbool.h>

#define NETNS_VNET_HDR_SIZE 12 /* struct virtio_net_hdr_v1: with num_buffers */

/* A new, empty network namespace, as an O_CLOEXEC fd in *fd; the calling
 * thread stays where it was. The namespace lives while the fd (or anything
 * opened inside it, such as a TAP fd) does. 0 or -errno. */
int netns_new(int *fd);

/* Run fn(arg) with the calling thread inside the namespace of nsfd, then
 * go back to where it was, whether fn failed or not. fn's result, or
 * -errno when the thread could not enter (fn not called) or could not
 * come back (it is then still in nsfd's namespace: treat as fatal). */
int netns_run(int nsfd, int (*fn)(void *arg), void *arg);

/* A TAP link named name in nsfd's namespace (-1: the current one), for a
 * virtio-net device: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte vnet
 * header, fd O_RDWR|O_CLOEXEC|O_NONBLOCK in *tapfd. The link (not
 * persistent) goes when the last fd to it is closed; the fd holds a
 * reference to the namespace it was opened in. 0 or -errno. */
int tap_create(int nsfd, const char *name, int *tapfd);

/* Write value into the /proc/sys file path, as seen from nsfd's namespace
 * (-1: the current one). 0 or -errno. */
int netns_sysctl_write(int nsfd, const char *path, const char *value);

/* net.ipv4.ip_forward = 1 in nsfd's namespace (-1: the current one);
 * *changed (may be NULL): it was 0 before. 0 or -errno. */
int netns_ip_forward(int nsfd, bool *changed);

#endif
