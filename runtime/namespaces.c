#include "runtime/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	int flag;
	const char *proc;
} ns_table[HY_NS__COUNT] = {
	[HY_NS_PID] = {CLONE_NEWPID, "pid"},       [HY_NS_NETWORK] = {CLONE_NEWNET, "net"},
	[HY_NS_MOUNT] = {CLONE_NEWNS, "mnt"},      [HY_NS_IPC] = {CLONE_NEWIPC, "ipc"},
	[HY_NS_UTS] = {CLONE_NEWUTS, "uts"},       [HY_NS_USER] = {CLONE_NEWUSER, "user"},
	[HY_NS_CGROUP] = {CLONE_NEWCGROUP, "cgroup"}, [HY_NS_TIME] = {CLONE_NEWTIME, "time"},
};

/* The user namespace first: it decides what the others may do; mount last so that paths of
 * the other namespace files still resolve on the host. */
static const enum hy_ns_type join_order[HY_NS__COUNT] = {
	HY_NS_USER, HY_NS_IPC, HY_NS_UTS, HY_NS_NETWORK, HY_NS_PID, HY_NS_CGROUP, HY_NS_TIME,
	HY_NS_MOUNT,
};

int ns_clone_flag(enum hy_ns_type t)
{
	return ns_table[t].flag;
}

const char *ns_proc_name(enum hy_ns_type t)
{
	return ns_table[t].proc;
}

int ns_new_flags(const struct hy_linux *lnx)
{
	int flags = 0;
	for (int t = 0; t < HY_NS__COUNT; t++)
		if (lnx->namespaces[t].present && !lnx->namespaces[t].path)
			flags |= ns_table[t].flag;
	return flags;
}

bool ns_any_path(const struct hy_linux *lnx)
{
	for (int t = 0; t < HY_NS__COUNT; t++)
		if (lnx->namespaces[t].present && lnx->namespaces[t].path)
			return true;
	return false;
}

void ns_close_all(int fds[HY_NS__COUNT])
{
	for (int t = 0; t < HY_NS__COUNT; t++) {
		if (fds[t] >= 0)
			close(fds[t]);
		fds[t] = -1;
	}
}

int ns_open_paths(const struct hy_linux *lnx, int fds[HY_NS__COUNT], struct hy_error *err)
{
	for (int t = 0; t < HY_NS__COUNT; t++)
		fds[t] = -1;
	for (int t = 0; t < HY_NS__COUNT; t++) {
		const struct hy_namespace *ns = &lnx->namespaces[t];
		if (!ns->present || !ns->path)
			continue;
		fds[t] = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fds[t] < 0) {
			int e = errno;
			ns_close_all(fds);
			return hy_error_errno(err, e, "linux.namespaces: %s: open %s", ns_table[t].proc,
					      ns->path);
		}
	}
	return 0;
}

int ns_join(int fds[HY_NS__COUNT], struct hy_error *err)
{
	for (int i = 0; i < HY_NS__COUNT; i++) {
		enum hy_ns_type t = join_order[i];
		if (fds[t] < 0)
			continue;
		if (setns(fds[t], ns_table[t].flag) < 0) {
			int e = errno;
			ns_close_all(fds);
			return hy_error_errno(err, e, "setns %s namespace", ns_table[t].proc);
		}
		close(fds[t]);
		fds[t] = -1;
	}
	return 0;
}

int ns_write_time_offsets(const struct hy_linux *lnx, struct hy_error *err)
{
	if (!lnx->n_time_offsets)
		return 0;
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "open /proc/self/timens_offsets");
	for (size_t i = 0; i < lnx->n_time_offsets; i++) {
		const struct hy_time_offset *o = &lnx->time_offsets[i];
		char line[128];
		int n = snprintf(line, sizeof(line), "%s %lld %u\n", o->clock, (long long)o->secs,
				 o->nanosecs);
		if (n < 0 || (size_t)n >= sizeof(line) || write(fd, line, (size_t)n) != n) {
			int e = errno ? errno : EINVAL;
			close(fd);
			return hy_error_errno(err, e, "linux.timeOffsets.%s: write timens_offsets",
					      o->clock);
		}
	}
	close(fd);
	return 0;
}

int ns_open_of_pid(pid_t pid, int fds[HY_NS__COUNT], struct hy_error *err)
{
	for (int t = 0; t < HY_NS__COUNT; t++)
		fds[t] = -1;
	for (int t = 0; t < HY_NS__COUNT; t++) {
		char path[64], self[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_table[t].proc);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_table[t].proc);
		struct stat a, b;
		if (stat(path, &a) < 0) {
			if (errno == ENOENT && t == HY_NS_TIME)
				continue; /* kernel without time namespaces */
			int e = errno;
			ns_close_all(fds);
			return hy_error_errno(err, e, "stat %s", path);
		}
		if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue; /* already there (setns to our own user ns fails) */
		fds[t] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[t] < 0) {
			int e = errno;
			ns_close_all(fds);
			return hy_error_errno(err, e, "open %s", path);
		}
	}
	return 0;
}
