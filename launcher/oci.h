/* SPDX-License-Identifier: MIT */
/*
 * The OCI runtime's bundle (config.json) in arca's terms: pure mapping
 * from the runtime spec's JSON onto the command lines of `arca start`
 * (the VM: root, shares, size, kernel) and `arca exec` (the process:
 * args, env, cwd, user, rlimits, terminal). The runtime (ocirt.c) parses
 * those through cli_parse, so every value gets the CLI's own checks and
 * messages; this file only decides what maps to what, and refuses what
 * arca cannot honour, each error naming the field ("mounts[2].source").
 *
 * What maps (runtime-spec config.md, config-linux.md):
 *   ociVersion          1.x only
 *   root.path           --root PATH (relative to the bundle): the guest's
 *                       writes to it land in a tmpfs overlay, so the
 *                       bundle is never written (readonly or not), unless
 *                       the annotation arca.root_rw is "true" (write
 *                       through: --root PATH:rw)
 *   mounts              bind/rbind of a directory -> -v SRC:DST[:ro];
 *                       proc, sysfs, devpts, mqueue, cgroup(2) and tmpfs
 *                       at /dev, /dev/shm, /tmp, /run: the guest's own
 *                       (arca-init mounts proc, sysfs, /dev, /dev/pts,
 *                       /dev/shm, /tmp); the engine's bind-mounted files
 *                       /etc/hosts, /etc/hostname, /etc/resolv.conf and
 *                       /run/.containerenv are skipped (noted); any other
 *                       file bind or tmpfs is refused
 *   process             args, env (NAME=VALUE each), cwd, user.uid/gid,
 *                       rlimits (RLIMIT_*), terminal, capabilities (the
 *                       five sets, applied in the guest by arca-init:
 *                       --cap-mask), noNewPrivileges (--no-new-privileges)
 *   linux.resources     memory.limit -> --memory (MiB, rounded up);
 *                       cpu.quota/period -> --cpus (rounded up)
 *   annotations         arca.cpus, arca.memory_mib, arca.kernel override;
 *                       arca.root_rw (above)
 *   hooks               run on the host by the runtime, the state JSON on
 *                       their stdin: prestart, createRuntime and
 *                       createContainer at the end of create (a failure
 *                       fails it), poststart after start, poststop after
 *                       delete (failures noted); startContainer, which runs
 *                       inside the container (the VM), is refused
 *   rlimits             2^64-1 (RLIM_INFINITY as Go engines write it) is
 *                       "unlimited"
 *   linux.namespaces    a network namespace with a path (a pod's, made by
 *                       CNI) -> --net ns=PATH: the guest takes over its
 *                       interface (podnet.h); the resolver from the
 *                       engine's resolv.conf (ocirt.c adds ,dns=)
 * Ignored, as the VM is the boundary: apparmor, selinux, seccomp, the
 * other namespaces, cgroupsPath, devices.
 */
#ifndef ARCA_OCI_H
#define ARCA_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define OCI_CONFIG_MAX (4u << 20) /* config.json / process.json bytes */
#define OCI_ARGS_MAX 4096         /* process.args, process.env entries */
#define OCI_MOUNTS_MAX 128

/* A NULL-terminated argument vector under construction. */
struct oci_argv {
	char **v;
	size_t n, cap;
};
void oci_argv_free(struct oci_argv *a);

struct oci_plan {
	struct oci_argv start; /* "arca" "start" "--name" ID ... */
	struct oci_argv exec;  /* "arca" "exec" OPTS ID "--" ARGS... */
	bool terminal;         /* process.terminal */
	bool pod_sandbox;      /* a pod's sandbox (pause) container, by the CRI
				* annotations io.kubernetes.cri.container-type
				* (containerd) or io.kubernetes.cri-o.ContainerType:
				* "sandbox". It gets no VM (ocirt.c) */
	int net_ns_arg;        /* -1, or start.v's index of "ns=PATH" (the pod's
				* network namespace, --net's value) */
	char resolv_conf[4096]; /* the engine's /etc/resolv.conf bind source, or
				 * "": where the guest's resolver comes from */
	char *hooks;           /* config.json's hooks object (checked) as compact
				* JSON text, or NULL: for the state (ocirt.c runs
				* them) */
	char *annotations;     /* config.json's annotations object as compact
				* JSON text (for the state), or NULL */
	char notes[1024];      /* what was skipped, "; "-separated (for --log) */
};
void oci_plan_free(struct oci_plan *p);

/* Is PATH (absolute) a directory? Injected so the mapping stays pure. */
typedef int (*oci_stat_fn)(const char *path, bool *is_dir);
int oci_stat_host(const char *path, bool *is_dir);

/* config.json's text -> plan, for container ID (already checked) in the
 * bundle directory BUNDLE (absolute). 0 or -errno with e naming the field. */
int oci_plan_config(const char *text, size_t len, const char *bundle, const char *id,
		    oci_stat_fn st, struct oci_plan *p, struct arca_err *e);

/* `exec --process FILE`: a process object alone -> the exec argv into
 * p->exec (and p->terminal). */
int oci_plan_process(const char *text, size_t len, const char *id, struct oci_plan *p,
		     struct arca_err *e);

/* One hook (config.md's POSIX-platform hooks). */
#define OCI_HOOKS_MAX 16 /* per kind */
struct oci_hook {
	char *path;   /* absolute */
	char **args;  /* NULL-terminated; args[0] is argv[0] (path when none given) */
	char **env;   /* NULL-terminated NAME=VALUE; empty when none given */
	unsigned timeout_s; /* 0: none */
};
/* The hooks of one kind ("createRuntime", "poststart"...) from the text
 * oci_plan_config kept (NULL: none): *out (free with oci_hooks_free), *n. */
int oci_hooks_get(const char *hooks_json, const char *kind, struct oci_hook **out, size_t *n,
		  struct arca_err *e);
void oci_hooks_free(struct oci_hook *h, size_t n);

/* The runtime's state of a container, kept in ROOT/ID/state.json. */
enum oci_status { OCI_CREATING, OCI_CREATED, OCI_RUNNING, OCI_STOPPED };
const char *oci_status_name(enum oci_status s);

struct oci_state {
	char id[128];
	char bundle[4096];
	int pid;              /* the container process (ocirt.c) */
	uint64_t pid_start;   /* its start time, /proc/PID/stat field 22 */
	uint64_t created_ms;  /* CLOCK_REALTIME */
	bool started;         /* `start` was done */
	char *annotations;    /* a JSON object's text, owned; NULL = {} */
	char *hooks;          /* the plan's hooks text, owned; NULL: none */
};
void oci_state_free(struct oci_state *s);
/* state.json's text (malloc'd) for the runtime's own file. */
char *oci_state_format(const struct oci_state *s);
int oci_state_parse(const char *text, size_t len, struct oci_state *s, struct arca_err *e);
/* `arca-runtime state`'s answer, as runtime-spec runtime.md says. */
char *oci_state_report(const struct oci_state *s, enum oci_status st);

/* Container ids: arca's sandbox names, as the sandbox is named by the id:
 * 1..64 of [A-Za-z0-9_.-], the first a letter or digit. */
bool oci_id_ok(const char *id);

#endif
