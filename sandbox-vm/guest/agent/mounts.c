/* The guest's own filesystems, and the optional switch to a 9p or disk root. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

struct basic_mount {
	const char *target, *type, *data;
	unsigned long flags;
};

/* /dev before /dev/pts and /dev/shm: they live in it. */
static const struct basic_mount basic_mounts[] = {
	{"/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC},
	{"/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC},
	{"/dev", "devtmpfs", "mode=0755", MS_NOSUID},
	{"/dev/pts", "devpts", "mode=0620,ptmxmode=0666,gid=5", MS_NOSUID | MS_NOEXEC},
	{"/dev/shm", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV},
	{"/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV},
};

static int mount_one(const char *source, const char *target, const char *type, unsigned long flags,
		     const char *data)
{
	if (mkdir(target, 0755) < 0 && errno != EEXIST) {
		agent_log("mkdir %s: %s", target, strerror(errno));
		return -errno;
	}
	/* EBUSY: already mounted (e.g. a kernel with DEVTMPFS_MOUNT). */
	if (mount(source, target, type, flags, data) < 0 && errno != EBUSY) {
		agent_log("mount %s on %s: %s", type, target, strerror(errno));
		return -errno;
	}
	agent_debug("mounted %s on %s", type, target);
	return 0;
}

int agent_mount_basic(void)
{
	int rc = 0;
	for (size_t i = 0; i < sizeof(basic_mounts) / sizeof(basic_mounts[0]); i++) {
		const struct basic_mount *m = &basic_mounts[i];
		int r = mount_one(m->type, m->target, m->type, m->flags, m->data);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

#define NEW_ROOT "/mnt/root"
/* A writable erofs root: the image (lower) and a tmpfs holding the overlay's upper and work
 * directories, in the initramfs, out of the container's sight. */
#define DISK_LOWER "/mnt/.root-lower"
#define DISK_RW	   "/mnt/.root-rw"

int agent_mount_disk_root(const struct agent_options *opts, const char *target)
{
	const char *fstype = opts->rootfstype[0] ? opts->rootfstype : "ext4";
	bool erofs = strcmp(fstype, "erofs") == 0;
	if (!erofs || opts->disk_ro)
		return mount_one(opts->disk, target, fstype, erofs || opts->disk_ro ? MS_RDONLY : 0,
				 NULL);
	int rc;
	if (mkdir("/mnt", 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		agent_log("mkdir /mnt: %s", strerror(-rc));
		return rc;
	}
	if ((rc = mount_one(opts->disk, DISK_LOWER, "erofs", MS_RDONLY, NULL)) < 0 ||
	    (rc = mount_one("tmpfs", DISK_RW, "tmpfs", 0, "mode=0755")) < 0)
		return rc;
	if ((mkdir(DISK_RW "/upper", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(DISK_RW "/work", 0755) < 0 && errno != EEXIST)) {
		rc = -errno;
		agent_log("mkdir " DISK_RW "/upper, /work: %s", strerror(-rc));
		return rc;
	}
	return mount_one("overlay", target, "overlay", 0,
			 "lowerdir=" DISK_LOWER ",upperdir=" DISK_RW "/upper,workdir=" DISK_RW
			 "/work");
}

/* Mounts the requested root at /mnt/root, moves /proc, /sys, /dev and /tmp into it (where it has
 * those directories) and makes it the root: MS_MOVE onto / then chroot, the switch_root way (the
 * initramfs cannot be pivot_root'ed away). */
int agent_enter_root(const struct agent_options *opts)
{
	static const char *const moved[] = {"/proc", "/sys", "/dev", "/tmp"};
	char dst[256];
	int rc;

	if (!opts->share_tag[0] && !opts->disk[0])
		return 0;
	if (mkdir("/mnt", 0755) < 0 && errno != EEXIST)
		return -errno;
	if (opts->share_tag[0])
		rc = mount_one(opts->share_tag, NEW_ROOT, "9p", 0,
			       "trans=virtio,version=9p2000.L,msize=262144");
	else
		rc = agent_mount_disk_root(opts, NEW_ROOT);
	if (rc < 0)
		return rc;

	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		snprintf(dst, sizeof(dst), NEW_ROOT "%s", moved[i]);
		if (!is_dir(dst)) {
			agent_debug("new root has no %s, not moving it", moved[i]);
			continue;
		}
		if (mount(moved[i], dst, NULL, MS_MOVE, NULL) < 0)
			agent_log("move %s into the new root: %s", moved[i], strerror(errno));
	}
	if (chdir(NEW_ROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		agent_log("switch to the new root: %s", strerror(errno));
		return -errno;
	}
	agent_debug("root is now %s", opts->share_tag[0] ? opts->share_tag : opts->disk);
	return 0;
}
