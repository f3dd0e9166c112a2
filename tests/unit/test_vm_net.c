/* A VM container's network (sandbox-vm/host/vm_net.c and the guest's sandbox-vm/guest/agent/net.c):
 *  - the host's hyrun.net= parameter round-trips through the guest's parser; the parser refuses
 *    every malformed value, with a reason;
 *  - live, in a private network namespace (root): set-up hands over the interface's original
 *    MAC, addresses, gateway and MTU and builds tap + bridge; teardown leaves the namespace
 *    exactly as it was (addresses, MAC, routes); a set-up that fails half-way changes nothing;
 *    a namespace with only lo hands over nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-vm/host/vm_host.h"
#include "unit.h"

/* The guest agent's parser, built here with the host's compiler and sanitizers. */
#include "sandbox-vm/guest/agent/agent.h"
void agent_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
void agent_debug(const char *fmt, ...)
{
	(void)fmt;
}
#include "sandbox-vm/guest/agent/net.c"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static void test_round_trip(void)
{
	struct vm_net_guest g = {.mac = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef},
				 .addr = {ip("10.200.0.2"), ip("192.168.1.77")},
				 .prefix = {24, 32},
				 .n_addrs = 2,
				 .gateway = ip("10.200.0.1"),
				 .has_gateway = true,
				 .mtu = 1400};
	char buf[256], why[256] = "";
	int n = vm_net_format_param(&g, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK(!strcmp(buf, "hyrun.net=52:54:00:ab:cd:ef,10.200.0.2/24,192.168.1.77/32,"
			   "gw=10.200.0.1,mtu=1400"));
	struct agent_net_if a;
	CHECK(agent_net_parse(buf + strlen("hyrun.net="), &a, why, sizeof(why)) == 0);
	CHECK(!memcmp(a.mac, g.mac, 6));
	CHECK(a.n_addrs == 2 && a.addr[0] == g.addr[0] && a.addr[1] == g.addr[1]);
	CHECK(a.prefix[0] == 24 && a.prefix[1] == 32);
	CHECK(a.has_gateway && a.gateway == g.gateway && a.mtu == 1400);

	/* No gateway, no MTU: neither field is written, and none is parsed. */
	g.has_gateway = false;
	g.mtu = 0;
	g.n_addrs = 1;
	CHECK(vm_net_format_param(&g, buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "hyrun.net=52:54:00:ab:cd:ef,10.200.0.2/24"));
	CHECK(agent_net_parse(buf + 10, &a, why, sizeof(why)) == 0);
	CHECK(!a.has_gateway && a.mtu == 0 && a.n_addrs == 1);

	/* Too small a buffer, or nothing to say. */
	CHECK(vm_net_format_param(&g, buf, 20) == -E2BIG);
	g.n_addrs = 0;
	CHECK(vm_net_format_param(&g, buf, sizeof(buf)) == -EINVAL);
	g.n_addrs = 1;
	g.prefix[0] = 33;
	CHECK(vm_net_format_param(&g, buf, sizeof(buf)) == -EINVAL);
}

static void test_parse_refuses(void)
{
	static const char *const bad_values[] = {
	    "",
	    "52:54:00:ab:cd:ef",	       /* no address */
	    "52:54:00:ab:cd,10.0.0.2/24",      /* short MAC */
	    "52:54:00:ab:cd:eg,10.0.0.2/24",   /* not hex */
	    "52-54-00-ab-cd-ef,10.0.0.2/24",   /* wrong separator */
	    "53:54:00:ab:cd:ef,10.0.0.2/24",   /* multicast MAC */
	    "00:00:00:00:00:00,10.0.0.2/24",   /* zero MAC */
	    "52:54:00:ab:cd:ef,10.0.0.2",      /* no prefix */
	    "52:54:00:ab:cd:ef,10.0.0.2/33",   /* prefix too long */
	    "52:54:00:ab:cd:ef,10.0.0.2/0",    /* prefix 0 */
	    "52:54:00:ab:cd:ef,10.0.0.2/024",  /* leading zero */
	    "52:54:00:ab:cd:ef,10.0.0.2/+4",   /* sign */
	    "52:54:00:ab:cd:ef,10.0.0.2/24x",  /* trailing garbage */
	    "52:54:00:ab:cd:ef,10.0.0.256/24", /* not an address */
	    "52:54:00:ab:cd:ef,010.0.0.2/24",  /* leading zero in a quad */
	    "52:54:00:ab:cd:ef,10.0.2/24",     /* short form */
	    "52:54:00:ab:cd:ef,0.0.0.0/24",    /* unspecified */
	    "52:54:00:ab:cd:ef,127.0.0.2/8",   /* loopback */
	    "52:54:00:ab:cd:ef,224.0.0.1/24",  /* multicast */
	    "52:54:00:ab:cd:ef,,10.0.0.2/24",  /* empty field */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,",  /* trailing comma */
	    "52:54:00:ab:cd:ef,gw=10.0.0.1",   /* gateway before any address */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,gw=10.0.0.1,gw=10.0.0.3", /* twice */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,mtu=1500,gw=10.0.0.1",    /* out of order */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,gw=10.0.0.1,10.0.0.3/24", /* address after gw */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,gw=",		     /* empty gateway */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,gw=255.255.255.255",	     /* broadcast */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,mtu=67",		     /* below 68 */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,mtu=65536",		     /* above 65535 */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,mtu=1500000000000",	     /* overflow */
	    "52:54:00:ab:cd:ef,10.0.0.2/24,mtu=-1",
	    "52:54:00:ab:cd:ef,10.0.0.2/24,mtu=1500,mtu=1500",
	    "52:54:00:ab:cd:ef,10.0.0.2/24,foo=1", /* unknown key */
	    ("52:54:00:ab:cd:ef,10.0.0.2/24,1.1.1.1/8,2.2.2.2/8,3.3.3.3/8,4.4.4.4/8,5.5.5.5/8,"
	     "6.6.6.6/8,7.7.7.7/8,8.8.8.8/8"), /* nine addresses */
	};
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		struct agent_net_if a;
		char why[256] = "";
		int rc = agent_net_parse(bad_values[i], &a, why, sizeof(why));
		CHECK(rc == -EINVAL);
		CHECK_STR_CONTAINS(why, "hyrun.net");
		if (rc != -EINVAL)
			fprintf(stderr, "accepted: %s\n", bad_values[i]);
	}
	char longv[600];
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = 0;
	struct agent_net_if a;
	char why[256];
	CHECK(agent_net_parse(longv, &a, why, sizeof(why)) == -EINVAL);
}

static void test_parse_cmdline(void)
{
	struct agent_net_if ifs[AGENT_NET_MAX];
	size_t n = 99;
	char why[256] = "";
	CHECK(agent_net_parse_cmdline("quiet hyrun.oci=1 hyrun.share=rootfs", ifs, &n, why,
				      sizeof(why)) == 0 &&
	      n == 0);
	CHECK(agent_net_parse_cmdline("hyrun.net=52:54:00:00:00:01,10.0.0.2/24,gw=10.0.0.1 quiet "
				      "hyrun.net=52:54:00:00:00:02,10.1.0.2/16\n",
				      ifs, &n, why, sizeof(why)) == 0);
	CHECK(n == 2 && ifs[0].has_gateway && !ifs[1].has_gateway && ifs[1].prefix[0] == 16);
	/* After `--`: init's argv, not ours. */
	CHECK(agent_net_parse_cmdline("quiet -- hyrun.net=bogus", ifs, &n, why, sizeof(why)) == 0 &&
	      n == 0);
	CHECK(agent_net_parse_cmdline("hyrun.net=52:54:00:00:00:01,10.0.0.2/24 "
				      "hyrun.net=52:54:00:00:00:01,10.0.0.3/24",
				      ifs, &n, why, sizeof(why)) == -EINVAL);
	CHECK_STR_CONTAINS(why, "MAC given twice");
	CHECK(agent_net_parse_cmdline("hyrun.net= quiet", ifs, &n, why, sizeof(why)) == -EINVAL);
	CHECK(agent_net_parse_cmdline("hyrun.net", ifs, &n, why, sizeof(why)) == -EINVAL);
	CHECK(agent_net_parse_cmdline("hyrun.net=52:54:00:00:00:01,10.0.0.2/24,mtu=9 x", ifs, &n,
				      why, sizeof(why)) == -EINVAL);
	CHECK_STR_CONTAINS(why, "mtu=9");
	char five[1024] = "";
	for (int i = 1; i <= 5; i++)
		snprintf(five + strlen(five), sizeof(five) - strlen(five),
			 "hyrun.net=52:54:00:00:00:0%d,10.0.%d.2/24 ", i, i);
	CHECK(agent_net_parse_cmdline(five, ifs, &n, why, sizeof(why)) == -EINVAL);
	CHECK_STR_CONTAINS(why, "more than 4");
}

/* ---- live ---- */

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fprintf(stderr, "command failed: %s\n", cmd);
}

/* What a user sees of the namespace: addresses, links (flags, MTU, MAC, master), routes. */
static char *snapshot(void)
{
	FILE *p = popen("ip -o addr show; ip -o link show; ip route show table all", "r");
	if (!p)
		return NULL;
	static char buf[16384];
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = 0;
	pclose(p);
	return strdup(buf);
}

static void live(void)
{
	struct vm_net *net = (void *)1;
	struct hy_error err = {0};
	/* Only lo: nothing to hand over (a VM container's own new netns). */
	CHECK(vm_net_setup(&net, &err) == 0 && net == NULL && vm_net_count(net) == 0);

	sh("ip link add eth0 type veth peer name peer0 && ip link set peer0 up && "
	   "ip link set eth0 address 8e:11:22:33:44:55 mtu 1450 up && "
	   "ip addr add 10.200.0.2/24 dev eth0 && ip addr add 10.200.0.9/24 dev eth0 && "
	   "ip route add default via 10.200.0.1 && "
	   "ip route add 192.168.77.0/24 via 10.200.0.1 metric 5");
	char *before = snapshot();
	CHECK_STR_CONTAINS(before, "10.200.0.2/24");

	CHECK(vm_net_setup(&net, &err) == 0);
	if (err.msg[0])
		fprintf(stderr, "setup: %s\n", err.msg);
	CHECK(vm_net_count(net) == 1);
	struct vm_net_guest g = {0};
	CHECK(vm_net_guest(net, 0, &g) == 0);
	static const uint8_t mac[6] = {0x8e, 0x11, 0x22, 0x33, 0x44, 0x55};
	CHECK(!memcmp(g.mac, mac, 6));
	CHECK(g.n_addrs == 2 && g.addr[0] == ip("10.200.0.2") && g.prefix[0] == 24);
	CHECK(g.addr[1] == ip("10.200.0.9"));
	CHECK(g.has_gateway && g.gateway == ip("10.200.0.1") && g.mtu == 1450);
	CHECK(vm_net_tap(net, 0) && !strcmp(vm_net_tap(net, 0), "hyrun-tap0"));
	char *during = snapshot();
	CHECK(!strstr(during, "10.200.0.2/24"));
	CHECK(!strstr(during, "8e:11:22:33:44:55"));
	CHECK_STR_CONTAINS(during, "eth0@peer0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 "
				   "qdisc noqueue master hyrun-br0");
	/* The tap: up, the interface's MTU, in the bridge (carrier depends on the kernel until the
	 * VMM attaches). */
	char *tap_line = strstr(during, "hyrun-tap0: <");
	char *eol = tap_line ? strchr(tap_line, '\\') : NULL;
	if (eol)
		*eol = 0;
	CHECK_STR_CONTAINS(tap_line, ",UP");
	CHECK_STR_CONTAINS(tap_line, "mtu 1450");
	CHECK_STR_CONTAINS(tap_line, "master hyrun-br0");
	if (eol)
		*eol = '\\';
	CHECK_STR_CONTAINS(during, "master hyrun-br0");
	CHECK(vm_net_teardown(net, &err) == 0);
	vm_net_free(net);
	char *after = snapshot();
	CHECK(!strcmp(before, after));
	if (strcmp(before, after))
		fprintf(stderr, "--- before:\n%s--- after:\n%s", before, after);

	/* Half-way failure: the bridge's name is taken; the tap made before it goes again. */
	sh("ip link add hyrun-br0 type bridge");
	char *before2 = snapshot();
	net = NULL;
	CHECK(vm_net_setup(&net, &err) == -EEXIST && net == NULL);
	CHECK_STR_CONTAINS(err.msg, "network: eth0: bridge hyrun-br0: create");
	char *after2 = snapshot();
	CHECK(!strcmp(before2, after2));
	if (strcmp(before2, after2))
		fprintf(stderr, "--- before:\n%s--- after:\n%s", before2, after2);
	free(before);
	free(during);
	free(after);
	free(before2);
	free(after2);
}

int main(void)
{
	test_round_trip();
	test_parse_refuses();
	test_parse_cmdline();
	int live_failed = 0;
	pid_t pid = geteuid() == 0 ? fork() : -1;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0 || system("ip link add t-veth type veth peer name "
							"t-peer && ip link del t-veth") != 0) {
			printf("live: skipped (no private netns with veth here)\n");
			fflush(stdout);
			_exit(0);
		}
		live();
		int failed = UNIT_DONE();
		fflush(stdout);
		_exit(failed);
	}
	int status;
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		live_failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	else
		printf("live: skipped (not root)\n");
	unit_failed += live_failed;
	return UNIT_DONE();
}
