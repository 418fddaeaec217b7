/* SPDX-License-Identifier: MIT */
/*
 * Linked into the sanitizer build of arca-vmm only (make asan-e2e), never
 * into arca-vmm itself. Built without -fsanitize: part of it runs before
 * the sanitizer runtime is initialized.
 *
 * The VMM starts in an empty jail: no /proc (launcher/jail.c), no
 * environment. So
 *  - the runtimes' options are compiled in (ASAN_OPTIONS would be read from
 *    /proc/self/environ);
 *  - ASan's start prints "reading executable name failed" (no
 *    /proc/self/exe) and, without /proc/self/maps, does not know the main
 *    thread's stack: its first __asan_handle_no_return (before any
 *    noreturn call such as exit()) prints "ignoring requested
 *    __asan_handle_no_return". Either line on the VMM's stderr, which is
 *    arca's, breaks the e2e scenarios that compare stderr byte for byte.
 *    The runtimes are linked statically (the Makefile), so they initialize
 *    from the instrumented objects' constructors; this .preinit_array entry
 *    runs before those and parks fd 2, and the constructor below, after
 *    them, triggers the one-time stack warning while fd 2 is still parked,
 *    then puts fd 2 back. Every report after that reaches stderr. (Later
 *    __asan_handle_no_return calls on the main thread then do not unpoison
 *    its stack: that matters after longjmp, which arca-vmm does not use.)
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
void __asan_handle_no_return(void);

static int parked = -1;

/* Raw syscalls: libc's wrappers would go through ASan's interceptors before
 * the runtime is up. */
static void san_park_stderr(void)
{
	long fd = syscall(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 100);
	if (fd >= 0) {
		parked = (int)fd;
		syscall(SYS_close, 2);
	}
}
__attribute__((section(".preinit_array"), used)) static void (*const san_preinit)(void) =
	san_park_stderr;

__attribute__((constructor(101))) static void san_unpark_stderr(void)
{
	__asan_handle_no_return();
	if (parked >= 0) {
		syscall(SYS_dup3, parked, 2, 0);
		syscall(SYS_close, parked);
		parked = -1;
	}
}

/*
 * detect_leaks=0: LeakSanitizer stops the world with ptrace from a helper
 *   thread, which the jail (one pid, seccomp) does not allow; leaks are the
 *   unit tests' and fuzzers' business.
 * quarantine_size_mb=32: the default 256 MiB of freed memory would count
 *   against the VMM's memory.max (guest RAM + 256 MiB).
 * symbolize=0: no symbolizer in the jail; reports give /proc/self/exe
 *   offsets, for addr2line against the binary.
 * abort_on_error=1: the VMM dies of SIGABRT, which arca reports.
 */
const char *__asan_default_options(void)
{
	return "detect_leaks=0:quarantine_size_mb=32:symbolize=0:abort_on_error=1:"
	       "print_summary=1";
}

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1:symbolize=0:abort_on_error=1";
}
