/* The container root on a virtio-blk disk (annotation org.hyrun.vm.root_disk) instead of the 9p
 * share of root.path (vm_host.h):
 *
 *   int vm_root_disk_resolve(cfg, &disk, err);    path, filesystem and read-only flag, or none
 *   enum vm_root_fs vm_root_fs_detect(buf, len);   ext4 / erofs from the first 2 KiB
 *
 * The image is checked on the host before the VM boots, so that a wrong annotation is a clear
 * error from create (naming the annotation and the file) rather than a guest that cannot mount
 * its root. A relative path is taken from the bundle directory and may not leave it with "..". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-vm/host/vm_host.h"

#define ANNOTATION "annotations.org.hyrun.vm.root_disk"

/* Both superblocks start at byte 1024: ext2/3/4's s_magic is 56 bytes into it (le16 0xEF53),
 * erofs's magic is its first field (le32 0xE0F5E1E2). */
#define EXT4_MAGIC_OFFSET  1080
#define EXT4_MAGIC	   0xEF53u
#define EROFS_MAGIC_OFFSET 1024
#define EROFS_MAGIC	   0xE0F5E1E2u

static uint32_t le_bytes(const unsigned char *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

enum vm_root_fs vm_root_fs_detect(const unsigned char *buf, size_t len)
{
	if (len >= EROFS_MAGIC_OFFSET + 4 && le_bytes(buf + EROFS_MAGIC_OFFSET, 4) == EROFS_MAGIC)
		return VM_ROOT_FS_EROFS;
	if (len >= EXT4_MAGIC_OFFSET + 2 && le_bytes(buf + EXT4_MAGIC_OFFSET, 2) == EXT4_MAGIC)
		return VM_ROOT_FS_EXT4;
	return VM_ROOT_FS_NONE;
}

const char *vm_root_fs_name(enum vm_root_fs fs)
{
	switch (fs) {
	case VM_ROOT_FS_EXT4:
		return "ext4";
	case VM_ROOT_FS_EROFS:
		return "erofs";
	default:
		return "none";
	}
}

/* A relative path must stay inside the bundle: count the depth it reaches, component by
 * component, and refuse a ".." above the start (symlinks are the bundle owner's own choice). */
static bool escapes(const char *rel)
{
	long depth = 0;
	const char *p = rel;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
	}
	return false;
}

static int resolve_path(const struct hy_config *cfg, const char *v, char *out, size_t size,
			struct hy_error *err)
{
	int n;
	if (v[0] == '/') {
		n = snprintf(out, size, "%s", v);
	} else {
		if (escapes(v))
			return hy_error_set(err, EINVAL,
					    ANNOTATION ": \"%s\": a relative path may not leave "
						       "the bundle directory (\"..\")",
					    v);
		n = cfg->bundle ? snprintf(out, size, "%s/%s", cfg->bundle, v)
				: snprintf(out, size, "%s", v);
	}
	if (n < 0 || (size_t)n >= size)
		return hy_error_set(err, ENAMETOOLONG, ANNOTATION ": path too long");
	return 0;
}

int vm_root_disk_resolve(const struct hy_config *cfg, struct vm_root_disk *out,
			 struct hy_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *v = cfg->vm.root_disk;
	if (!v)
		return 0;
	if (!*v)
		return hy_error_set(err, EINVAL, ANNOTATION ": expected a path");
	int rc = resolve_path(cfg, v, out->path, sizeof(out->path), err);
	if (rc < 0)
		return rc;
	int fd = open(out->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hy_error_errno(err, errno, ANNOTATION ": %s", out->path);
	struct stat st;
	unsigned char sb[2048];
	ssize_t got = -1;
	if (fstat(fd, &st) < 0) {
		rc = hy_error_errno(err, errno, ANNOTATION ": %s", out->path);
	} else if (S_ISDIR(st.st_mode)) {
		rc = hy_error_set(
		    err, EISDIR,
		    ANNOTATION ": %s: is a directory, not a disk image (ext4 or erofs)", out->path);
	} else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = hy_error_set(err, EINVAL,
				  ANNOTATION ": %s: not a regular file or a block device",
				  out->path);
	} else if ((got = pread(fd, sb, sizeof(sb), 0)) < 0) {
		rc = hy_error_errno(err, errno, ANNOTATION ": %s: read the superblock", out->path);
	}
	close(fd);
	if (rc < 0)
		return rc;
	out->fs = vm_root_fs_detect(sb, (size_t)got);
	if (out->fs == VM_ROOT_FS_NONE)
		return hy_error_set(err, EINVAL,
				    ANNOTATION ": %s: unknown format (neither an ext4 nor an erofs "
					       "image: no superblock magic at byte 1024)",
				    out->path);
	/* erofs has no write support at all: the guest puts a tmpfs overlay on it when the
	 * container's root is writable. */
	out->readonly = out->fs == VM_ROOT_FS_EROFS || cfg->root_readonly;
	if (!out->readonly && access(out->path, W_OK) < 0)
		return hy_error_errno(err, errno,
				      ANNOTATION ": %s: a writable ext4 root needs write access "
						 "(or set root.readonly)",
				      out->path);
	return 0;
}
