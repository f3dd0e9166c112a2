/* PS: the guest's processes as "PID PPID UID CMD" lines, from /proc. Left out: kernel threads,
 * PID 1 and the agent's connection handlers (named "hyrun-agent", session.c). CMD is the command
 * line with spaces between the arguments, or "[comm]" when it is empty (a zombie). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define PF_KTHREAD 0x00200000

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

struct proc_info {
	long ppid;
	unsigned long flags;
	char comm[64];
	long uid;
};

static bool read_proc(const char *pid, struct proc_info *pi)
{
	char path[300], buf[1024];
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	/* "pid (comm) state ppid pgrp session tty tpgid flags ...": comm may hold spaces and ')' */
	char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return false;
	size_t clen = (size_t)(close_paren - open_paren - 1);
	if (clen >= sizeof(pi->comm))
		clen = sizeof(pi->comm) - 1;
	memcpy(pi->comm, open_paren + 1, clen);
	pi->comm[clen] = '\0';
	char state;
	long pgrp, session, tty, tpgid;
	if (sscanf(close_paren + 1, " %c %ld %ld %ld %ld %ld %lu", &state, &pi->ppid, &pgrp, &session,
		   &tty, &tpgid, &pi->flags) != 7)
		return false;
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	pi->uid = -1;
	if (read_file(path, buf, sizeof(buf)) > 0) {
		char *u = strstr(buf, "\nUid:");
		if (u)
			pi->uid = strtol(u + 5, NULL, 10);
	}
	return true;
}

/* Appends s to the growing text; false when out of memory. */
static bool append(char **text, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		while (c < *len + n + 1)
			c *= 2;
		char *t = realloc(*text, c);
		if (!t)
			return false;
		*text = t;
		*cap = c;
	}
	memcpy(*text + *len, s, n);
	*len += n;
	(*text)[*len] = '\0';
	return true;
}

char *agent_ps_list(size_t *len)
{
	char *text = NULL;
	size_t cap = 0;
	DIR *d = opendir("/proc");
	*len = 0;
	if (!d)
		return NULL;
	static const char header[] = "PID PPID UID CMD\n";
	bool ok = append(&text, len, &cap, header, sizeof(header) - 1);
	struct dirent *e;
	while (ok && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]) || !strcmp(e->d_name, "1"))
			continue;
		struct proc_info pi;
		if (!read_proc(e->d_name, &pi) || (pi.flags & PF_KTHREAD) ||
		    !strcmp(pi.comm, "hyrun-agent"))
			continue;
		char path[300], cmd[4096], line[4096 + 128];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		ssize_t n = read_file(path, cmd, sizeof(cmd));
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				if (cmd[i] == '\0' || cmd[i] == '\n')
					cmd[i] = ' ';
			while (n > 0 && cmd[n - 1] == ' ')
				cmd[--n] = '\0';
		} else {
			snprintf(cmd, sizeof(cmd), "[%s]", pi.comm);
		}
		int w = snprintf(line, sizeof(line), "%s %ld %ld %s\n", e->d_name, pi.ppid, pi.uid,
				 cmd);
		if (w > 0)
			ok = append(&text, len, &cap, line, (size_t)w < sizeof(line) ? (size_t)w
										  : sizeof(line) - 1);
	}
	closedir(d);
	if (!ok) {
		free(text);
		errno = ENOMEM;
		return NULL;
	}
	return text;
}
