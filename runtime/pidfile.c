/* --pid-file: written atomically (temp file + rename) so that a reader never sees half a pid. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/container_internal.h"

int pidfile_write(const char *path, pid_t pid, struct hy_error *err)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return hy_error_set(err, ENOMEM, "out of memory");
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = hy_error_errno(err, errno, "--pid-file: create %s", tmp);
		goto out;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (write(fd, buf, (size_t)n) != n) {
		rc = hy_error_errno(err, errno, "--pid-file: write %s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = hy_error_errno(err, errno, "--pid-file: rename to %s", path);
		unlink(tmp);
	}
out:
	free(tmp);
	return rc;
}
