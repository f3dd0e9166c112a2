/* Guest asset lookup (vm_host.h): the guest kernel and initramfs a VM container or `hyrun vm run`
 * boots when nothing names them explicitly.
 *
 *   const char *vm_find_asset(const char *const names[], char *buf, size_t size);
 *
 * Order: $HYRUN_GUEST_DIR, <dir of the hyrun binary>/guest (build/guest in the tree),
 * HYRUN_PREFIX/lib/hyrun (the installed default). */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-vm/host/vm_host.h"

#ifndef HYRUN_PREFIX
#define HYRUN_PREFIX "/usr/local"
#endif

/* The directory of the hyrun binary. Commands that enter a container run from a sealed memfd
 * copy of it (runtime/sealed_exe.c), whose /proc/self/exe names no directory: argv[0] (kept by
 * the re-execution) then says where it was started from. */
static bool binary_dir(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return false;
	exe[len] = 0;
	if (exe[0] != '/' || strstr(exe, "/memfd:") == exe) {
		char argv0[PATH_MAX];
		int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return false;
		ssize_t n = read(fd, argv0, sizeof(argv0) - 1);
		close(fd);
		if (n <= 0)
			return false;
		argv0[n] = 0; /* argv[0] ends at the first NUL */
		if (!strchr(argv0, '/') || !realpath(argv0, exe))
			return false; /* found through PATH: no directory of ours to look in */
	}
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = 0;
	return snprintf(out, size, "%s", exe) < (int)size;
}

const char *vm_find_asset(const char *const names[], char *buf, size_t size)
{
	char dirs[3][PATH_MAX];
	unsigned n = 0;
	const char *env = getenv("HYRUN_GUEST_DIR");
	if (env && *env)
		snprintf(dirs[n++], PATH_MAX, "%s", env);
	char exe_dir[PATH_MAX - 8];
	if (binary_dir(exe_dir, sizeof(exe_dir)))
		snprintf(dirs[n++], PATH_MAX, "%s/guest", exe_dir);
	snprintf(dirs[n++], PATH_MAX, "%s/lib/hyrun", HYRUN_PREFIX);
	for (unsigned d = 0; d < n; d++)
		for (unsigned i = 0; names[i]; i++) {
			int w = snprintf(buf, size, "%s/%s", dirs[d], names[i]);
			if (w > 0 && (size_t)w < size && access(buf, R_OK) == 0)
				return buf;
		}
	return NULL;
}
