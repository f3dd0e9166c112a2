/* hyrun.* options from /proc/cmdline (see struct agent_options for why not from argv). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static int set_value(char *dst, size_t size, const char *key, const char *val)
{
	if (strlen(val) >= size || val[0] == '\0') {
		agent_log("bad value for %s on the kernel command line", key);
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

static bool is_true(const char *val)
{
	return strcmp(val, "1") == 0 || strcmp(val, "yes") == 0 || strcmp(val, "on") == 0;
}

/* Only the filesystems the guest kernel has for a root image (configs/guest-kernel.config). */
static int set_rootfstype(struct agent_options *opts, const char *val)
{
	if (strcmp(val, "ext4") != 0 && strcmp(val, "erofs") != 0) {
		agent_log("hyrun.rootfstype=%s: expected ext4 or erofs", val);
		return -EINVAL;
	}
	strcpy(opts->rootfstype, val);
	return 0;
}

/* Parses the words before `--`; unknown hyrun.* keys are reported (a typo must not be silent). */
int agent_parse_cmdline(const char *cmdline, struct agent_options *opts)
{
	char buf[4096], *save = NULL, *word;
	int rc = 0;

	memset(opts, 0, sizeof(*opts));
	if (strlen(cmdline) >= sizeof(buf))
		return -E2BIG;
	strcpy(buf, cmdline);
	for (word = strtok_r(buf, " \t\n", &save); word; word = strtok_r(NULL, " \t\n", &save)) {
		char *eq;
		if (strcmp(word, "--") == 0)
			break;
		if (strncmp(word, "hyrun.", 6) != 0)
			continue;
		eq = strchr(word, '=');
		const char *val = eq ? eq + 1 : "1";
		if (eq)
			*eq = '\0';
		if (strcmp(word, "hyrun.share") == 0)
			rc = set_value(opts->share_tag, sizeof(opts->share_tag), word, val);
		else if (strcmp(word, "hyrun.disk") == 0 || strcmp(word, "hyrun.root") == 0)
			rc = set_value(opts->disk, sizeof(opts->disk), word, val);
		else if (strcmp(word, "hyrun.rootfstype") == 0)
			rc = set_rootfstype(opts, val);
		else if (strcmp(word, "hyrun.disk_ro") == 0 || strcmp(word, "hyrun.root_ro") == 0)
			opts->disk_ro = is_true(val);
		else if (strcmp(word, "hyrun.share_ro") == 0)
			opts->share_ro = is_true(val);
		else if (strcmp(word, "hyrun.oci") == 0)
			opts->oci = is_true(val);
		else if (strcmp(word, "hyrun.debug") == 0)
			opts->debug = is_true(val);
		else if (strcmp(word, "hyrun.net") == 0)
			; /* interfaces: net.c reads these itself */
		else
			agent_log("ignoring unknown option %s", word);
		if (rc < 0)
			return rc;
	}
	if (opts->share_tag[0] && opts->disk[0]) {
		agent_log("hyrun.share and hyrun.disk are exclusive");
		return -EINVAL;
	}
	return 0;
}

int agent_read_cmdline(struct agent_options *opts)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		agent_log("open /proc/cmdline: %s", strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return agent_parse_cmdline(buf, opts);
}
