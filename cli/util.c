/* Helpers shared by the command files. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"

static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
}

void cli_log_error(const struct hy_cli *cli, const char *msg)
{
	fprintf(stderr, "hyrun: %s\n", msg);
	if (!cli->log_path)
		return;
	FILE *f = fopen(cli->log_path, "ae");
	if (!f)
		return;
	char ts[64];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (cli->log_json) {
		/* runc's format: podman and containerd read "msg" from the last error line. */
		fprintf(f, "{\"level\":\"error\",\"msg\":\"");
		json_escape(f, msg);
		fprintf(f, "\",\"time\":\"%s\"}\n", ts);
	} else {
		fprintf(f, "%s error: %s\n", ts, msg);
	}
	fclose(f);
}

int cli_parse_signal(const char *s, int *sig, struct hy_error *err)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (*s && !*end) {
		if (errno || n <= 0 || n >= NSIG)
			return hy_error_set(err, EINVAL, "invalid signal number '%s'", s);
		*sig = (int)n;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	/* Real-time signals by offset, as podman sends them for systemd images (RTMIN+3). */
	if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
		bool min = !strncasecmp(name, "RTMIN", 5);
		long off = 0;
		const char *rest = name + 5;
		if (*rest) {
			if ((min && *rest != '+') || (!min && *rest != '-') || !rest[1])
				return hy_error_set(err, EINVAL, "unknown signal '%s'", s);
			errno = 0;
			off = strtol(rest + 1, &end, 10);
			if (errno || *end || off < 0)
				return hy_error_set(err, EINVAL, "unknown signal '%s'", s);
		}
		long rt = min ? SIGRTMIN + off : SIGRTMAX - off;
		if (rt < SIGRTMIN || rt > SIGRTMAX)
			return hy_error_set(err, EINVAL, "signal '%s' is out of range", s);
		*sig = (int)rt;
		return 0;
	}
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && !strcasecmp(abbrev, name)) {
			*sig = i;
			return 0;
		}
	}
	return hy_error_set(err, EINVAL, "unknown signal '%s'", s);
}

int cli_help(const char *usage)
{
	fputs(usage, stdout);
	return 0;
}

int cli_usage_error(struct hy_error *err, const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hy_error_set(err, EINVAL, "%s: %s (see hyrun %s --help)", cmd, msg, cmd);
}

int cli_one_id(int argc, char **argv, const char *cmd, const char **id, struct hy_error *err)
{
	if (optind >= argc)
		return cli_usage_error(err, cmd, "missing container id");
	if (optind + 1 < argc)
		return cli_usage_error(err, cmd, "unexpected argument '%s'", argv[optind + 1]);
	*id = argv[optind];
	return 0;
}

int cli_parse_uint(const char *s, const char *flag, unsigned max, unsigned *out,
		   struct hy_error *err)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v > max)
		return hy_error_set(err, EINVAL, "%s: expected a number between 0 and %u, got '%s'",
				    flag, max, s);
	*out = (unsigned)v;
	return 0;
}

int cli_unavailable(struct hy_error *err, const char *what)
{
	return hy_error_set(err, ENOSYS, "%s is not available in this build", what);
}
