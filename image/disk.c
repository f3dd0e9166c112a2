/* Root filesystem images for VMs (virtio-blk root): mkfs.erofs or mke2fs -d over an unpacked
 * rootfs, cached in <store>/disks/<manifest hex>.<kind> so each image is built once. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/path.h"
#include "image/store.h"

extern char **environ;

static uint64_t tree_bytes, tree_entries;

static int count_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	tree_bytes += (uint64_t)st->st_blocks * 512 + 4096;
	tree_entries++;
	return 0;
}

static int run_tool(char *const argv[], struct hy_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return hy_error_errno(err, rc, "run %s (Debian erofs-utils / e2fsprogs)", argv[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return hy_error_errno(err, errno, "wait %s", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hy_error_set(err, EIO, "%s failed (status %d)", argv[0], status);
	return 0;
}

int image_disk(const char *root, const char *name, const char *kind,
	       const struct image_limits *limits, char **path_out, struct hy_error *err)
{
	if (!kind || (strcmp(kind, "erofs") != 0 && strcmp(kind, "ext4") != 0))
		return hy_error_set(err, EINVAL, "--disk '%s': expected erofs or ext4",
				    kind ? kind : "");
	struct image_store s;
	int rc = store_open(root, true, &s, err);
	if (rc)
		return rc;
	struct image_manifest m = {0};
	struct store_ref ref = {0};
	char *dir = NULL, *out = NULL, *tmpfile = NULL, *tmpdir = NULL;
	int dfd = -1, rootfd = -1;
	char tmproot[64];
	snprintf(tmproot, sizeof(tmproot), ".tmp-%d-rootfs", getpid());
	if ((rc = store_load_manifest(&s, name, &ref, &m, err)))
		goto out;
	if (mkdirat(s.rootfd, "disks", 0700) < 0 && errno != EEXIST) {
		rc = hy_error_errno(err, errno, "image store %s: mkdir disks", s.root);
		goto out;
	}
	if (asprintf(&dir, "%s/disks", s.root) < 0 ||
	    asprintf(&out, "%s/%s.%s", dir, ref.digest + 7, kind) < 0 ||
	    asprintf(&tmpfile, "%s/.tmp-%d.%s", dir, getpid(), kind) < 0 ||
	    asprintf(&tmpdir, "%s/%s", dir, tmproot) < 0) {
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (access(out, F_OK) == 0)
		goto out; /* cached */
	dfd = openat(s.rootfd, "disks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		rc = hy_error_errno(err, errno, "%s", dir);
		goto out;
	}
	image_rmtree_at(dfd, tmproot);
	if (mkdirat(dfd, tmproot, 0755) < 0 ||
	    (rootfd = openat(dfd, tmproot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = hy_error_errno(err, errno, "%s", tmpdir);
		goto out;
	}
	if ((rc = image_unpack_rootfs(&s, &m, rootfd, limits, err)))
		goto out;
	if (strcmp(kind, "erofs") == 0) {
		char *argv[] = {"mkfs.erofs", "--quiet", tmpfile, tmpdir, NULL};
		rc = run_tool(argv, err);
	} else {
		tree_bytes = tree_entries = 0;
		nftw(tmpdir, count_cb, 64, FTW_PHYS);
		char size[32], inodes[32];
		snprintf(size, sizeof(size), "%lluk",
			 (unsigned long long)((tree_bytes + tree_bytes / 4 + (32 << 20)) / 1024));
		snprintf(inodes, sizeof(inodes), "%llu", (unsigned long long)tree_entries + 4096);
		char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-N", inodes, "-d", tmpdir,
				tmpfile, size, NULL};
		rc = run_tool(argv, err);
	}
	if (!rc) {
		int fd = open(tmpfile, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		if (rename(tmpfile, out) < 0)
			rc = hy_error_errno(err, errno, "rename %s", out);
	}
out:
	if (rootfd >= 0)
		close(rootfd);
	if (dfd >= 0) {
		image_rmtree_at(dfd, tmproot);
		close(dfd);
	}
	if (tmpfile)
		unlink(tmpfile);
	if (!rc) {
		*path_out = out;
		out = NULL;
	} else
		hy_error_prefix(err, "disk image for %s", name);
	free(dir);
	free(out);
	free(tmpfile);
	free(tmpdir);
	free(ref.name);
	manifest_free(&m);
	store_close(&s);
	return rc;
}
