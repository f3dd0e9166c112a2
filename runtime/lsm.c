/* process.apparmorProfile, process.selinuxLabel and linux.mountLabel. A label in the config
 * is an enforcement request: when the host has no such LSM the caller gets an error naming the
 * setting and decides between warning and failing, but the request is never lost silently. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/security.h"

#define LABEL_MAX 4096

static bool apparmor_enabled(void)
{
	char c = 0;
	int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, &c, 1);
		close(fd);
		if (n == 1)
			return c == 'Y';
	}
	return access("/sys/kernel/security/apparmor", F_OK) == 0;
}

static bool selinux_enabled(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/* Labels go to /proc files as one write; control characters would end or split them. */
static int check_label(const char *setting, const char *label, struct hy_error *err)
{
	size_t n = strnlen(label, LABEL_MAX + 1);
	if (n == 0 || n > LABEL_MAX)
		return hy_error_set(err, EINVAL, "%s: label must have 1 to %d bytes", setting,
				    LABEL_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return hy_error_set(err, EINVAL, "%s: label contains a control character",
					    setting);
	return 0;
}

/* Writes the next-exec attribute of this thread (what runc and crun use). */
static int write_attr(const char *setting, const char *const *paths, size_t npaths,
		      const char *text, struct hy_error *err)
{
	int fd = -1;
	const char *used = paths[0];
	for (size_t i = 0; i < npaths && fd < 0; i++) {
		used = paths[i];
		fd = open(used, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return hy_error_errno(err, errno, "%s: opening %s", setting, used);
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int e = errno;
	close(fd);
	if (w < 0)
		return hy_error_errno(err, e, "%s: writing %s", setting, used);
	if ((size_t)w != len)
		return hy_error_set(err, EIO, "%s: short write to %s", setting, used);
	return 0;
}

static int apply_apparmor(const char *profile, struct hy_error *err)
{
	const char *setting = "process.apparmorProfile";
	int rc = check_label(setting, profile, err);
	if (rc < 0)
		return rc;
	if (!apparmor_enabled())
		return hy_error_set(
		    err, ENOTSUP, "%s '%.256s' requested but AppArmor is not enabled on this host",
		    setting, profile);
	char text[LABEL_MAX + 8];
	snprintf(text, sizeof(text), "exec %s", profile);
	static const char *const paths[] = {"/proc/thread-self/attr/apparmor/exec",
					    "/proc/thread-self/attr/exec"};
	return write_attr(setting, paths, 2, text, err);
}

static int apply_selinux(const char *label, struct hy_error *err)
{
	const char *setting = "process.selinuxLabel";
	int rc = check_label(setting, label, err);
	if (rc < 0)
		return rc;
	if (!selinux_enabled())
		return hy_error_set(err, ENOTSUP,
				    "%s '%.256s' requested but SELinux is not enabled on this host",
				    setting, label);
	static const char *const paths[] = {"/proc/thread-self/attr/exec"};
	return write_attr(setting, paths, 1, label, err);
}

int lsm_apply_process_labels(const struct hy_process *p, const char *mount_label,
			     struct hy_error *err)
{
	int rc;
	/* The mount label is a mount option (context=) that the mount code adds; here we only
	 * make sure the host can honour it, before anything is mounted with it. */
	if (mount_label) {
		if ((rc = check_label("linux.mountLabel", mount_label, err)) < 0)
			return rc;
		if (!selinux_enabled())
			return hy_error_set(
			    err, ENOTSUP,
			    "linux.mountLabel '%.256s' requested but SELinux is not "
			    "enabled on this host",
			    mount_label);
	}
	if (p && p->apparmor_profile && (rc = apply_apparmor(p->apparmor_profile, err)) < 0)
		return rc;
	if (p && p->selinux_label && (rc = apply_selinux(p->selinux_label, err)) < 0)
		return rc;
	return 0;
}
