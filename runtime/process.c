#include "runtime/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

unsigned process_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!fds)
		return 0;
	/* systemd sets LISTEN_PID to the receiver; podman/conmon passes it on unchanged. */
	if (pid && strtol(pid, NULL, 10) != getpid() && strtol(pid, NULL, 10) != getppid())
		return 0;
	char *end;
	long n = strtol(fds, &end, 10);
	if (*end || n <= 0 || n > 1024)
		return 0;
	return (unsigned)n;
}

int process_prepare_fds(unsigned keep, struct hy_error *err)
{
	if (close_range(3 + keep, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return hy_error_errno(err, errno, "close_range");
	for (unsigned fd = 3; fd < 3 + keep; fd++) {
		int fl = fcntl((int)fd, F_GETFD);
		if (fl < 0)
			continue; /* a hole in the passed range: nothing to keep */
		if ((fl & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
			return hy_error_errno(err, errno, "fcntl(%u, F_SETFD)", fd);
	}
	return 0;
}

static bool env_has(const struct hy_process *p, const char *key)
{
	size_t k = strlen(key);
	for (size_t i = 0; i < p->env.n; i++)
		if (!strncmp(p->env.v[i], key, k) && p->env.v[i][k] == '=')
			return true;
	return false;
}

/* HOME of uid from the container's /etc/passwd (already in the container's root). */
static char *passwd_home(uid_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return NULL;
	char line[1024], *home = NULL;
	while (!home && fgets(line, sizeof(line), f)) {
		char *fields[7];
		int n = 0;
		char *s = line;
		for (; n < 7 && s; n++) {
			fields[n] = s;
			s = strchr(s, ':');
			if (s)
				*s++ = '\0';
		}
		if (n < 6)
			continue;
		char *end;
		unsigned long u = strtoul(fields[2], &end, 10);
		if (*end || u != uid)
			continue;
		fields[5][strcspn(fields[5], "\n")] = '\0';
		if (fields[5][0])
			home = strdup(fields[5]);
	}
	fclose(f);
	return home;
}

static bool env_key_is(const char *kv, const char *key)
{
	size_t k = strlen(key);
	return !strncmp(kv, key, k) && kv[k] == '=';
}

char **process_build_env(const struct hy_process *p, unsigned listen_fds, pid_t pid,
			 char ***owned, struct hy_error *err)
{
	char **envp = calloc(p->env.n + 4, sizeof(char *));
	char **own = calloc(4, sizeof(char *));
	if (!envp || !own) {
		free(envp);
		free(own);
		hy_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	size_t n = 0, o = 0;
	for (size_t i = 0; i < p->env.n; i++) {
		if (listen_fds && (env_key_is(p->env.v[i], "LISTEN_PID") ||
				   env_key_is(p->env.v[i], "LISTEN_FDS")))
			continue;
		envp[n++] = p->env.v[i];
	}
	if (!env_has(p, "HOME")) {
		char *home = passwd_home(p->user.uid);
		char *kv = NULL;
		if (asprintf(&kv, "HOME=%s", home ? home : "/") >= 0)
			envp[n++] = own[o++] = kv;
		free(home);
	}
	if (listen_fds) {
		char *a = NULL, *b = NULL;
		if (asprintf(&a, "LISTEN_FDS=%u", listen_fds) >= 0)
			envp[n++] = own[o++] = a;
		if (asprintf(&b, "LISTEN_PID=%d", (int)pid) >= 0)
			envp[n++] = own[o++] = b;
	}
	envp[n] = NULL;
	*owned = own;
	return envp;
}

void process_env_free(char **envp, char **owned)
{
	for (size_t i = 0; owned && owned[i]; i++)
		free(owned[i]);
	free(owned);
	free(envp);
}

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int process_find_executable(const char *arg0, char *const *envp, char *out, size_t size,
			    struct hy_error *err)
{
	if (!arg0 || !*arg0)
		return hy_error_set(err, EINVAL, "process.args: empty");
	if (strchr(arg0, '/')) {
		if (strlen(arg0) >= size)
			return hy_error_set(err, ENAMETOOLONG, "process.args[0]: too long");
		strcpy(out, arg0);
		struct stat st;
		if (stat(arg0, &st) < 0)
			return hy_error_errno(err, errno, "exec: \"%s\"", arg0);
		if (S_ISDIR(st.st_mode))
			return hy_error_set(err, EACCES, "exec: \"%s\": is a directory", arg0);
		return 0;
	}
	const char *path = default_path;
	for (size_t i = 0; envp[i]; i++)
		if (env_key_is(envp[i], "PATH"))
			path = envp[i] + 5;
	const char *p = path;
	while (*p || p == path) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		int n = snprintf(out, size, "%.*s%s%s", (int)len, p, len ? "/" : "", arg0);
		if (n > 0 && (size_t)n < size && is_executable(out))
			return 0;
		if (!colon)
			break;
		p = colon + 1;
	}
	return hy_error_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", arg0);
}

int process_apply_rlimits(const struct hy_process *p, struct hy_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit((__rlimit_resource_t)p->rlimits[i].resource, &rl) < 0)
			return hy_error_errno(err, errno, "process.rlimits[%zu]: setrlimit %s", i,
					      p->rlimits[i].type ? p->rlimits[i].type : "?");
	}
	return 0;
}

int process_set_oom_score_adj(const struct hy_process *p, struct hy_error *err)
{
	if (!p->has_oom_score_adj)
		return 0;
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "process.oomScoreAdj: open /proc/self/oom_score_adj");
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	int rc = 0;
	if (write(fd, buf, (size_t)n) != n)
		rc = hy_error_errno(err, errno, "process.oomScoreAdj: write %d", p->oom_score_adj);
	close(fd);
	return rc;
}

static bool setgroups_denied(void)
{
	char buf[16] = "";
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && !strncmp(buf, "deny", 4);
}

int process_set_user(const struct hy_process *p, struct hy_error *err)
{
	const struct hy_user *u = &p->user;
	if (setgroups(u->n_additional_gids, u->additional_gids) < 0) {
		if (!(errno == EPERM && !u->n_additional_gids && setgroups_denied()))
			return hy_error_errno(err, errno, "process.user.additionalGids: setgroups");
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return hy_error_errno(err, errno, "process.user.gid: setgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return hy_error_errno(err, errno, "process.user.uid: setuid %u", (unsigned)u->uid);
	return 0;
}

void process_set_umask(const struct hy_process *p)
{
	umask(p->user.has_umask ? p->user.umask & 0777 : 0022);
}

int process_chdir(const struct hy_process *p, struct hy_error *err)
{
	const char *cwd = p->cwd && *p->cwd ? p->cwd : "/";
	if (chdir(cwd) < 0)
		return hy_error_errno(err, errno, "process.cwd: chdir %s", cwd);
	return 0;
}
