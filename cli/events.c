/* hyrun events [--stats] [--interval D] ID: runc's event stream, one JSON object per line:
 * {"type":"stats","id":ID,"data":{...}} every interval and {"type":"oom","id":ID} on each OOM
 * kill, until the container stops; with --stats one stats event and exit. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "cli/cli.h"
#include "runtime/state.h"

static const char usage[] = "usage: hyrun events [options] ID\n\n"
			    "Prints container events as JSON lines: OOM kills as they happen "
			    "and the\ncontainer's statistics every interval, until it stops.\n\n"
			    "options:\n"
			    "  --stats          print one statistics event and exit\n"
			    "  --interval D     statistics interval, e.g. 500ms, 5s, 1m (default 5s)\n"
			    "  -h, --help       show this help\n";

/* Go-style durations as runc takes them: an integer with ms, s, m or h (plain = seconds). */
static int parse_interval(const char *s, long *ms, struct hy_error *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	long long mult = 1000;
	if (end == s || errno || v <= 0)
		goto bad;
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s") || !*end)
		mult = 1000;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else
		goto bad;
	if (v > 24LL * 3600000 / mult)
		goto bad;
	*ms = (long)(v * mult);
	return 0;
bad:
	return hy_error_set(err, EINVAL,
			    "events: --interval: expected a positive duration such as 500ms or 5s, "
			    "got '%s'",
			    s);
}

/* Ids are validated by the state store ([A-Za-z0-9_.+-]); escaping keeps the line valid JSON
 * whatever the store accepts. */
static void print_id(const char *id)
{
	for (const char *c = id; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			printf("\\u%04x", (unsigned char)*c);
		else
			putchar(*c);
	}
}

static void print_event(const char *type, const char *id, const char *data)
{
	printf("{\"type\":\"%s\",\"id\":\"", type);
	print_id(id);
	if (data)
		printf("\",\"data\":%s}\n", data);
	else
		printf("\"}\n");
	fflush(stdout);
}

static bool container_gone(const struct hy_runtime *rt, const char *id)
{
	struct hy_state *st = NULL;
	struct hy_error ignored = {0};
	if (state_read(rt->root, id, &st, &ignored) < 0)
		return true;
	bool gone = st->status == HY_STATUS_STOPPED;
	state_free(st);
	return gone;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stream(struct hy_cli *cli, const char *id, long interval, struct hy_error *err)
{
	struct hy_state *st = NULL;
	int r = state_read(cli->rt.root, id, &st, err);
	if (r < 0)
		return r;
	struct hy_cgroup *cg = NULL;
	if (!st->cgroup_path)
		r = hy_error_set(err, ENOENT, "events: container '%s' has no cgroup", id);
	else
		r = cgroup_open(st->cgroup_path, &cg, err);
	state_free(st);
	if (r < 0)
		return r;
	int fd = -1;
	unsigned long long seen = 0;
	if ((r = cgroup_oom_event_fd(cg, &fd, err)) < 0 || (r = cgroup_oom_count(cg, &seen, err)) < 0)
		goto out;
	long next_stats = now_ms() + interval;
	for (;;) {
		long wait = next_stats - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, wait < 0 ? 0 : (int)(wait > 1000 ? 1000 : wait));
		if (n < 0 && errno != EINTR) {
			r = hy_error_errno(err, errno, "events: poll");
			break;
		}
		if (n > 0) {
			char drain[4096];
			while (read(fd, drain, sizeof drain) > 0)
				;
		}
		/* Every wakeup (and every second) compares the kill counter: it is what tells an
		 * OOM kill from the v1 eventfd's other wakeups. */
		unsigned long long count = 0;
		struct hy_error ignored = {0};
		if (cgroup_oom_count(cg, &count, &ignored) == 0)
			for (; seen < count; seen++)
				print_event("oom", id, NULL);
		if (container_gone(&cli->rt, id))
			break;
		if (now_ms() >= next_stats) {
			char *json = NULL;
			if (cgroup_stats_json(cg, &json, &ignored) == 0)
				print_event("stats", id, json);
			free(json);
			next_stats = now_ms() + interval;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	hy_cgroup_free(cg);
	return r;
}

int cmd_events(struct hy_cli *cli, int argc, char **argv, struct hy_error *err)
{
	enum { OPT_STATS = 1000, OPT_INTERVAL };
	static const struct option opts[] = {
		{"stats", no_argument, NULL, OPT_STATS},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool stats = false;
	long interval = 5000;
	int c, r;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(usage);
		if (c == OPT_STATS)
			stats = true;
		else if (c == OPT_INTERVAL) {
			if ((r = parse_interval(optarg, &interval, err)) < 0)
				return r;
		} else
			return cli_usage_error(err, "events", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
	}
	const char *id;
	if ((r = cli_one_id(argc, argv, "events", &id, err)) < 0)
		return r;
	if (!stats)
		return stream(cli, id, interval, err);
	char *json = NULL;
	if ((r = container_stats_json(&cli->rt, id, &json, err)) < 0)
		return r;
	print_event("stats", id, json);
	free(json);
	return 0;
}
