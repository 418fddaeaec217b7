/* SPDX-License-Identifier: MIT */
#include <asm/bootparam.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "kernel.h"

/* Offsets of setup header fields in the image file (Documentation/arch/x86/
 * boot.rst: the header starts at 0x1f1, inside struct boot_params). */
#define HDR_OFF(field) (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, field))

#define BOOT_FLAG_MAGIC 0xAA55u
#define HDRS_MAGIC      0x53726448u /* "HdrS" */
#define PROTO_2_12      0x020cu     /* first protocol with xloadflags */

static uint16_t le16_at(const uint8_t *b, size_t off)
{
	return (uint16_t)(b[off] | (b[off + 1] << 8));
}

static uint32_t le32_at(const uint8_t *b, size_t off)
{
	return (uint32_t)b[off] | ((uint32_t)b[off + 1] << 8) |
	       ((uint32_t)b[off + 2] << 16) | ((uint32_t)b[off + 3] << 24);
}

/* The version names a directory (lib/modules/VERSION) and the initrd cache
 * file, so it must be a plain file name: no '/', no leading '.'. */
static int version_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
	       c == '+' || c == '~';
}

int kernel_version_from_bzimage(const uint8_t *buf, size_t len, char *out,
				size_t outlen)
{
	if (!buf || len < HDR_OFF(xloadflags) + 2)
		return -ENOEXEC;
	if (le16_at(buf, HDR_OFF(boot_flag)) != BOOT_FLAG_MAGIC ||
	    le32_at(buf, HDR_OFF(header)) != HDRS_MAGIC)
		return -ENOEXEC;
	/* arca enters the kernel at its 64-bit entry point, which boot
	 * protocol 2.12+ advertises with XLF_KERNEL_64. */
	if (le16_at(buf, HDR_OFF(version)) < PROTO_2_12 ||
	    !(le16_at(buf, HDR_OFF(xloadflags)) & XLF_KERNEL_64))
		return -ENOEXEC;

	/* setup_sects 0 means 4 (boot.rst); the real-mode setup area is
	 * (setup_sects + 1) sectors and the version string lives inside it. */
	size_t sects = buf[HDR_OFF(setup_sects)];
	if (sects == 0)
		sects = 4;
	size_t setup_len = (sects + 1) * 512;
	if (setup_len > len)
		return -ENOEXEC;

	/* kernel_version is an offset from the end of the boot sector. */
	size_t off = (size_t)le16_at(buf, HDR_OFF(kernel_version)) + 0x200;
	if (le16_at(buf, HDR_OFF(kernel_version)) == 0 || off >= setup_len)
		return -ENOEXEC;
	size_t n = 0;
	while (off + n < setup_len && version_char_ok(buf[off + n]))
		n++;
	/* The word must end at a space or NUL inside the setup area. */
	if (n == 0 || buf[off] == '.' || off + n >= setup_len ||
	    (buf[off + n] != ' ' && buf[off + n] != 0))
		return -ENOEXEC;
	if (n >= outlen)
		return -ENOSPC;
	memcpy(out, buf + off, n);
	out[n] = 0;
	return 0;
}

void kernel_free(struct arca_kernel *k)
{
	free(k->path);
	free(k->version);
	free(k->modules_dir);
	memset(k, 0, sizeof(*k));
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int read_header(const char *path, uint8_t *buf, size_t cap, size_t *got,
		       struct arca_err *e)
{
	/* O_NONBLOCK: opening a FIFO must not hang; we reject non-files next. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return arca_error(e, ENOENT, "kernel not found: %s", path);
		return arca_error_errno(e, errno, "cannot open kernel %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return arca_error_errno(e, errno, "cannot stat kernel %s", path);
	if (!S_ISREG(st.st_mode))
		return arca_error(e, EINVAL, "kernel %s is not a regular file", path);
	size_t have = 0;
	while (have < cap) {
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return arca_error_errno(e, errno, "cannot read kernel %s", path);
		if (r == 0)
			break;
		have += (size_t)r;
	}
	*got = have;
	return 0;
}

int kernel_locate(const char *override_path, const char *exe_dir,
		  struct arca_kernel *k, struct arca_err *e)
{
	char def1[PATH_MAX], def2[PATH_MAX];
	const char *path = override_path;
	memset(k, 0, sizeof(*k));
	if (!path) {
		if (!exe_dir)
			return arca_error(e, ENOENT, "kernel not found: pass --kernel or set ARCA_KERNEL");
		int n1 = snprintf(def1, sizeof(def1), "%s/build/kernel/vmlinuz", exe_dir);
		int n2 = snprintf(def2, sizeof(def2), "%s/../share/arca/kernel/vmlinuz", exe_dir);
		if (n1 < 0 || (size_t)n1 >= sizeof(def1) || n2 < 0 || (size_t)n2 >= sizeof(def2))
			return arca_error(e, ENAMETOOLONG, "kernel path too long under %s", exe_dir);
		if (access(def1, F_OK) == 0)
			path = def1;
		else if (access(def2, F_OK) == 0)
			path = def2;
		else
			return arca_error(e, ENOENT,
					  "kernel not found: %s or %s (run 'make kernel', or pass --kernel)",
					  def1, def2);
	}
	if (!*path)
		return arca_error(e, ENOENT, "kernel not found: empty path");

	_cleanup_free_ uint8_t *hdr = malloc(KERNEL_SETUP_MAX);
	if (!hdr)
		return arca_error(e, ENOMEM, "out of memory reading kernel %s", path);
	size_t got = 0;
	int r = read_header(path, hdr, KERNEL_SETUP_MAX, &got, e);
	if (r < 0)
		return r;

	char ver[256];
	r = kernel_version_from_bzimage(hdr, got, ver, sizeof(ver));
	if (r < 0)
		return arca_error(e, ENOEXEC,
				  "kernel %s is not an x86-64 bzImage (need boot protocol 2.12+ with a 64-bit entry point and a version string)",
				  path);

	_cleanup_free_ char *real = realpath(path, NULL);
	if (!real)
		return arca_error_errno(e, errno, "cannot resolve kernel path %s", path);

	/* Modules next to the kernel (an unpacked package tree: boot/vmlinuz-V
	 * and lib/modules/V), else the host's. */
	_cleanup_free_ char *dircopy = strdup(real);
	if (!dircopy)
		return arca_error(e, ENOMEM, "out of memory");
	char near[PATH_MAX], host[PATH_MAX];
	int n = snprintf(near, sizeof(near), "%s/../lib/modules/%s", dirname(dircopy), ver);
	if (n < 0 || (size_t)n >= sizeof(near))
		return arca_error(e, ENAMETOOLONG, "kernel path too long: %s", real);
	snprintf(host, sizeof(host), "/lib/modules/%s", ver);

	_cleanup_free_ char *mods = NULL;
	if (is_dir(near))
		mods = realpath(near, NULL);
	else if (is_dir(host))
		mods = strdup(host);
	else
		return arca_error(e, ENOENT, "no modules for kernel %s (%s): looked in %s and %s",
				  ver, real, near, host);
	if (!mods)
		return arca_error_errno(e, errno ? errno : ENOMEM,
					"cannot resolve modules directory for kernel %s", ver);

	k->version = strdup(ver);
	if (!k->version)
		return arca_error(e, ENOMEM, "out of memory");
	k->path = steal_pointer(&real);
	k->modules_dir = steal_pointer(&mods);
	return 0;
}
