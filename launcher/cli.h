/* SPDX-License-Identifier: MIT */
/*
 * The `arca` command line: a pure parser (its only outside input is getenv()
 * for `-e NAME` without a value) so every rule is covered by cmocka tests.
 *
 *   arca run [OPTIONS] [--] CMD [ARG...]
 *   arca prepare [--kernel PATH]
 *   arca gc
 *   arca doctor [--json] [--kernel PATH]
 *   arca version | arca --version
 *   arca help [COMMAND] | arca --help | arca -h | arca COMMAND --help
 *
 * Options are declared in one table in cli.c; adding an option is one entry
 * there (name, short letter, commands that accept it, value name, help text,
 * handler) plus, where it stores something new, a field below.
 */
#ifndef ARCA_CLI_H
#define ARCA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arca/limits.h"
#include "err.h"
#include "paths.h"
#include "disks.h"
#include "netcfg.h"
#include "shares.h"
#include "spec.h"

enum arca_cmd {
	ARCA_CMD_RUN,
	ARCA_CMD_PREPARE,
	ARCA_CMD_VERSION,
	ARCA_CMD_HELP,
	ARCA_CMD_GC,
	ARCA_CMD_DOCTOR,
	ARCA_CMD_START,  /* arca start --name NAME [run options] */
	ARCA_CMD_EXEC,   /* arca exec [OPTIONS] NAME [--] CMD [ARG...] */
	ARCA_CMD_LS,     /* arca ls */
	ARCA_CMD_STOP,   /* arca stop NAME */
	ARCA_CMD_KILL,   /* arca kill NAME */
	ARCA_CMD_LOGS,   /* arca logs NAME */
};

/* Limits enforced by cli_parse() (also quoted in the help text). */
#define ARCA_CPUS_MIN        1u
#define ARCA_CPUS_MAX        64u
#define ARCA_CPUS_DEFAULT    1u
#define ARCA_MEMORY_MIN_MIB  64u
#define ARCA_MEMORY_MAX_MIB  65536u
#define ARCA_MEMORY_DEFAULT_MIB 512u
#define ARCA_TIMEOUT_MAX_S   2147483647ull /* 2^31 - 1 seconds */
#define ARCA_BOOT_TIMEOUT_DEFAULT_MS 60000ull /* generous: ~10 s nested */
#define ARCA_BOOT_TIMEOUT_MAX_S 86400ull      /* a day */
#define ARCA_KERNEL_ARGS_MAX 64
#define ARCA_CMDLINE_MAX 2047 /* x86-64 bzImage cmdline_size (COMMAND_LINE_SIZE - 1) */
#define ARCA_STOP_TIMEOUT_MAX_S 3600ull
#define ARCA_WORKDIR_MAX     4095u         /* PATH_MAX - 1 bytes */

/*
 * The parsed command line. Only fields meaningful for `cmd` are set; the rest
 * keep their defaults. Strings other than env[] point into the caller's argv
 * and live as long as it does.
 */
struct arca_opts {
	enum arca_cmd cmd;
	unsigned cpus;          /* --cpus, 1..64, default 1 */
	unsigned memory_mib;    /* --memory, 64..65536 MiB, default 512 */
	char **env;             /* -e/--env "NAME=VALUE", owned (cli_free), in
				 * command-line order with one entry per NAME (a
				 * later -e NAME replaces the earlier value in
				 * place); NULL-terminated; NULL when envc == 0 */
	size_t envc;
	const char *workdir;    /* -w/--workdir, absolute; NULL = "/" */
	uint64_t timeout_ms;    /* --timeout in milliseconds; 0 = none.
				 * Integer ms so the caller can arm a timer
				 * without float rounding. */
	uint64_t stop_timeout_ms; /* --stop-timeout in ms: after a SIGTERM
				   * forwarded to CMD, stop the VM if CMD
				   * is still running then */
	uint64_t boot_timeout_ms; /* --boot-timeout in ms: stop the VM when
				 * arca-init has not reported by then; 0 = no
				 * deadline; default ARCA_BOOT_TIMEOUT_DEFAULT_MS */
	bool json;              /* doctor --json */
	const char *kernel;     /* --kernel PATH, non-empty; NULL = default */
	const char *kernel_args[ARCA_KERNEL_ARGS_MAX]; /* --kernel-arg, in order */
	size_t nkernel_args;
	const char *cmdline;    /* --cmdline: replaces arca's defaults; NULL = none */
	bool verbose;           /* --verbose: kernel log + init diagnostics */
	bool timings;           /* --timings: the boot breakdown at the end */
	struct arca_paths_in paths; /* where arca's parts are: the CLI's
				     * ARCA_* variables, libarca's setters */
	int diag_fd;            /* where arca's notes, arca-vmm's messages and
				 * the guest console go (run_command): the CLI
				 * sets STDERR_FILENO, libarca its log fd or
				 * -1 for nowhere; not set by cli_parse */
	bool console;           /* --console: guest serial console only */
	bool tty;               /* -t: a pty for CMD in the guest */
	bool interactive;       /* -i: accepted; stdin is always attached */
	uint16_t rows, cols;    /* -t: this terminal's size at start (run.c) */
	bool no_seccomp;        /* --no-seccomp: debugging only, arca-vmm warns */
	bool kaslr;             /* --kaslr: boot the bzImage through its own
				 * decompressor (which randomizes the
				 * kernel's base) instead of the decompressed
				 * copy of the kernel in the cache */
	struct netcfg net;      /* --net (default none: loopback only) */
	struct net_publishes publish; /* -p/--publish, in order (needs --net
				       * nat or allow=) */
	bool warm;              /* --warm: restore the VM from a snapshot in
				 * the cache, or make one (launcher/snapcache.h) */
	uint32_t vmm_uid;       /* --vmm-user UID[:GID]: the VMM's ids when arca
				 * runs as root; 0 = not given (neither may be
				 * 0 when given; GID defaults to UID) */
	uint32_t vmm_gid;
	struct arca_shares shares; /* -v/--share and --fs-device, in order;
				    * released by cli_free() */
	const char *root;       /* --root DIR: the guest's / (NULL: the host's
				 * /usr with a generated /etc) */
	bool root_rw;           /* --root DIR:rw writes through to DIR */
	bool root_initrd;       /* --root initrd: the busybox initramfs */
	struct arca_disks disks; /* --disk in order, and --root-disk (which
				  * excludes --root); released by cli_free() */
	char *root_buf;         /* owns root */
	const char *name;       /* start --name; exec/stop/kill/logs NAME (a
				 * valid sandbox name, sandbox_name_ok()) */
	bool has_user;          /* exec -u UID[:GID] given */
	uint32_t user_uid, user_gid;
	struct arca_spec_rlimit rlimits[ARCA_RLIMITS_MAX]; /* run/exec --ulimit, in
				 * order, each resource once; for the spec's
				 * rlimits/nrlimits as they are */
	size_t nrlimits;
	bool has_caps;          /* --cap-mask given */
	uint64_t caps[5];       /* --cap-mask: bounding, effective, permitted,
				 * inheritable, ambient (abi.h's CAPS) */
	bool no_new_privs;      /* --no-new-privileges */
	uint32_t rlimits_from_config; /* bit per resource: its rlimits[] entry
				       * came from --config, so the command
				       * line may replace it (once) */
	bool agent;             /* set by arca start, never by a flag: the
				 * guest's init serves exec sessions */
	const char *config_path; /* --config FILE (applied before the flags) */
	struct config *config;   /* its items; owns argv when "command" gave it */
	void (*on_spawn)(pid_t vmm); /* arca start: run_command calls it once
				      * the VMM runs (its state file) */
	char *const *argv;      /* ARCA_CMD_RUN: CMD and its args, pointing into
				 * the caller's argv (NULL-terminated when the
				 * caller's is, as main()'s is); argc >= 1 */
	size_t argc;
};

/*
 * Parse argv (argv[0] is the program name and is ignored). Returns 0 and
 * fills *o, or a negative errno (-EINVAL for a bad command line, -ENOMEM) and
 * fills *e with one line naming the bad argument; the caller prints
 * "arca: <msg>" and exits 125. *o is always left safe for cli_free(): on
 * error it holds nothing that needs freeing. `arca` with no arguments is an
 * error (the message points to 'arca help'); the caller may also print
 * cli_usage() to stderr in that case (argc < 2).
 */
int cli_parse(int argc, char *const argv[], struct arca_opts *o,
	      struct arca_err *e);

/* Free what cli_parse() allocated; idempotent. */
void cli_free(struct arca_opts *o);

/* The help text (usage, commands, options with defaults, exit codes), built
 * from the option table on first use; ends with a newline. */
const char *cli_usage(void);

#endif
