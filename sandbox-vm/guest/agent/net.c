/* The guest's network, as the host handed it over (sandbox-vm/host/vm_net.c): one kernel
 * parameter per virtio-net interface,
 *
 *   hyrun.net=<mac>,<addr>/<prefix>[,<addr>/<prefix>...][,gw=<ip>][,mtu=<n>]
 *
 * <mac> is the interface's ORIGINAL MAC in the container's network namespace (the virtio-net
 * device has it too, which is how the interface is found). Before the container's process starts,
 * the agent sets each interface's MTU and addresses, brings it and lo up and adds the default
 * route, with plain ioctls: the agent is static and has no netlink library. The command line is
 * built by the host, but it is parsed strictly all the same: a malformed word fails the boot
 * rather than leaving a half-configured network. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define NET_FIND_TRIES 50 /* 5 s: virtio-net probes before init runs; this is a margin */
#define NET_MIN_MTU    68
#define NET_MAX_MTU    65535

static int bad(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx". */
static bool parse_mac(const char *s, unsigned char mac[6])
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* Decimal digits only (no sign, no spaces), at most 5 of them, within [min, max]. */
static bool parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
		return false;
	unsigned long v = strtoul(s, NULL, 10);
	if (v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/* A dotted quad (inet_pton: no leading zeros, no short forms). */
static bool parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (strlen(s) > 15 || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = a.s_addr;
	return true;
}

/* A usable host address: not 0.0.0.0, loopback, multicast or limited broadcast. */
static bool unicast_ip(uint32_t a)
{
	uint32_t h = ntohl(a);
	return h != 0 && (h >> 24) != 127 && (h >> 28) != 0xe && h != 0xffffffffu;
}

int agent_net_parse(const char *value, struct agent_net_if *out, char *why, size_t why_size)
{
	char buf[AGENT_NET_PARAM_MAX];
	memset(out, 0, sizeof(*out));
	if (strlen(value) >= sizeof(buf))
		return bad(why, why_size, "hyrun.net: too long");
	strcpy(buf, value);
	/* Fields in order: mac, one or more addresses, then gw= and mtu= at most once each. */
	enum { MAC, ADDRS, GW, MTU, END } next = MAC;
	char *field = buf;
	for (;;) {
		char *comma = strchr(field, ',');
		if (comma)
			*comma = '\0';
		if (!*field)
			return bad(why, why_size, "hyrun.net=%s: empty field", value);
		if (next == MAC) {
			if (!parse_mac(field, out->mac) || (out->mac[0] & 1) ||
			    !memcmp(out->mac, "\0\0\0\0\0\0", 6))
				return bad(why, why_size,
					   "hyrun.net: %s: not a unicast MAC address", field);
			next = ADDRS;
		} else if (!strncmp(field, "gw=", 3) && next >= ADDRS && next <= GW) {
			if (!out->n_addrs)
				return bad(why, why_size, "hyrun.net=%s: no address", value);
			if (!parse_ip(field + 3, &out->gateway) || !unicast_ip(out->gateway))
				return bad(why, why_size, "hyrun.net: %s: not a gateway address",
					   field);
			out->has_gateway = true;
			next = MTU;
		} else if (!strncmp(field, "mtu=", 4) && next >= ADDRS && next <= MTU) {
			if (!out->n_addrs)
				return bad(why, why_size, "hyrun.net=%s: no address", value);
			if (!parse_uint(field + 4, NET_MIN_MTU, NET_MAX_MTU, &out->mtu))
				return bad(why, why_size, "hyrun.net: %s: MTU out of 68..65535",
					   field);
			next = END;
		} else if (next == ADDRS && !strchr(field, '=')) {
			char *slash = strchr(field, '/');
			unsigned prefix;
			if (out->n_addrs == AGENT_NET_MAX_ADDRS)
				return bad(why, why_size, "hyrun.net=%s: too many addresses",
					   value);
			if (!slash)
				return bad(why, why_size, "hyrun.net: %s: address without /prefix",
					   field);
			*slash = '\0';
			if (!parse_ip(field, &out->addr[out->n_addrs]) ||
			    !unicast_ip(out->addr[out->n_addrs]) ||
			    !parse_uint(slash + 1, 1, 32, &prefix)) {
				*slash = '/';
				return bad(why, why_size,
					   "hyrun.net: %s: not an IPv4 address/prefix", field);
			}
			out->prefix[out->n_addrs++] = (uint8_t)prefix;
		} else {
			return bad(why, why_size, "hyrun.net: %s: unexpected field", field);
		}
		if (!comma)
			break;
		field = comma + 1;
	}
	if (!out->n_addrs)
		return bad(why, why_size, "hyrun.net=%s: no address", value);
	return 0;
}

int agent_net_parse_cmdline(const char *cmdline, struct agent_net_if ifs[AGENT_NET_MAX], size_t *n,
			    char *why, size_t why_size)
{
	*n = 0;
	const char *p = cmdline;
	while (*p) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		if (!len)
			break;
		if (len == 2 && !strncmp(p, "--", 2))
			break; /* the rest is init's argv */
		if (len > 10 && !strncmp(p, "hyrun.net=", 10)) {
			char value[AGENT_NET_PARAM_MAX];
			if (len - 10 >= sizeof(value))
				return bad(why, why_size, "hyrun.net: too long");
			memcpy(value, p + 10, len - 10);
			value[len - 10] = '\0';
			if (*n == AGENT_NET_MAX)
				return bad(why, why_size, "hyrun.net: more than %d interfaces",
					   AGENT_NET_MAX);
			int rc = agent_net_parse(value, &ifs[*n], why, why_size);
			if (rc < 0)
				return rc;
			for (size_t i = 0; i < *n; i++)
				if (!memcmp(ifs[i].mac, ifs[*n].mac, 6))
					return bad(why, why_size, "hyrun.net=%s: MAC given twice",
						   value);
			(*n)++;
		} else if (len >= 9 && !strncmp(p, "hyrun.net", 9) && (len == 9 || p[9] == '=')) {
			return bad(why, why_size, "hyrun.net: needs a value");
		}
		p += len;
	}
	return 0;
}

/* The interface whose MAC is mac, from /sys/class/net/<name>/address. */
static int find_by_mac(const unsigned char mac[6], char name[IFNAMSIZ])
{
	DIR *d = opendir("/sys/class/net");
	if (!d)
		return -errno;
	struct dirent *e;
	int rc = -ENODEV;
	while (rc == -ENODEV && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= IFNAMSIZ)
			continue;
		char path[sizeof("/sys/class/net//address") + sizeof(e->d_name)], text[32];
		snprintf(path, sizeof(path), "/sys/class/net/%s/address", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (n < 17)
			continue;
		text[17] = '\0';
		unsigned char m[6];
		if (parse_mac(text, m) && !memcmp(m, mac, 6)) {
			snprintf(name, IFNAMSIZ, "%.*s", IFNAMSIZ - 1, e->d_name);
			rc = 0;
		}
	}
	closedir(d);
	return rc;
}

static int if_ioctl(int sk, unsigned long req, struct ifreq *ifr, const char *what, char *why,
		    size_t why_size)
{
	if (ioctl(sk, req, ifr) == 0)
		return 0;
	int e = errno;
	snprintf(why, why_size, "network: %s: %s: %s", ifr->ifr_name, what, strerror(e));
	return -e;
}

static void put_ip(struct sockaddr *sa, uint32_t ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = ip};
	memcpy(sa, &sin, sizeof(sin));
}

static int set_up(int sk, const char *name, char *why, size_t why_size)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int rc = if_ioctl(sk, SIOCGIFFLAGS, &ifr, "get flags", why, why_size);
	if (rc < 0)
		return rc;
	ifr.ifr_flags |= IFF_UP;
	return if_ioctl(sk, SIOCSIFFLAGS, &ifr, "up", why, why_size);
}

/* The default route; a gateway outside every subnet of the interface first gets a link route
 * of its own (as the host's "onlink" routes do). */
static int add_default_route(int sk, const char *name, uint32_t gw, char *why, size_t why_size)
{
	char dev[IFNAMSIZ];
	snprintf(dev, sizeof(dev), "%s", name);
	struct rtentry rt = {.rt_flags = RTF_UP | RTF_GATEWAY, .rt_dev = dev};
	put_ip(&rt.rt_dst, 0);
	put_ip(&rt.rt_genmask, 0);
	put_ip(&rt.rt_gateway, gw);
	if (ioctl(sk, SIOCADDRT, &rt) == 0)
		return 0;
	if (errno == ENETUNREACH) {
		struct rtentry host = {.rt_flags = RTF_UP | RTF_HOST, .rt_dev = dev};
		put_ip(&host.rt_dst, gw);
		put_ip(&host.rt_genmask, 0xffffffffu);
		if (ioctl(sk, SIOCADDRT, &host) == 0 && ioctl(sk, SIOCADDRT, &rt) == 0)
			return 0;
	}
	int e = errno;
	char ip[INET_ADDRSTRLEN];
	snprintf(why, why_size, "network: %s: default route via %s: %s", name,
		 inet_ntop(AF_INET, &gw, ip, sizeof(ip)), strerror(e));
	return -e;
}

static int configure(int sk, const struct agent_net_if *n, char *why, size_t why_size)
{
	char name[IFNAMSIZ];
	int rc = -ENODEV;
	for (int i = 0; i < NET_FIND_TRIES && (rc = find_by_mac(n->mac, name)) == -ENODEV; i++)
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	if (rc < 0) {
		snprintf(why, why_size,
			 "network: no interface with MAC %02x:%02x:%02x:%02x:%02x:%02x: %s",
			 n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
			 strerror(-rc));
		return rc;
	}
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (n->mtu) {
		ifr.ifr_mtu = (int)n->mtu;
		if ((rc = if_ioctl(sk, SIOCSIFMTU, &ifr, "set mtu", why, why_size)) < 0)
			return rc;
	}
	/* The first address is the interface's; more are aliases (name:N), as ifconfig does. */
	for (size_t a = 0; a < n->n_addrs; a++) {
		memset(&ifr, 0, sizeof(ifr));
		int len = a ? snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s:%zu", name, a)
			    : snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (len < 0 || (size_t)len >= sizeof(ifr.ifr_name)) {
			snprintf(why, why_size, "network: %s: name too long for an alias", name);
			return -ENAMETOOLONG;
		}
		put_ip(&ifr.ifr_addr, n->addr[a]);
		if ((rc = if_ioctl(sk, SIOCSIFADDR, &ifr, "set address", why, why_size)) < 0)
			return rc;
		uint32_t mask = n->prefix[a] ? htonl(~0u << (32 - n->prefix[a])) : 0;
		put_ip(&ifr.ifr_netmask, mask);
		if ((rc = if_ioctl(sk, SIOCSIFNETMASK, &ifr, "set netmask", why, why_size)) < 0)
			return rc;
	}
	if ((rc = set_up(sk, name, why, why_size)) < 0)
		return rc;
	if (n->has_gateway && (rc = add_default_route(sk, name, n->gateway, why, why_size)) < 0)
		return rc;
	char ip[INET_ADDRSTRLEN];
	agent_debug("network: %s: %s/%u mtu %u", name,
		    inet_ntop(AF_INET, &n->addr[0], ip, sizeof(ip)), n->prefix[0], n->mtu);
	return 0;
}

int agent_net_setup(void)
{
	char cmdline[4096], why[AGENT_ERR_MAX] = "";
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		agent_log("network: open /proc/cmdline: %s", strerror(errno));
		return -errno;
	}
	ssize_t len = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	if (len < 0) {
		agent_log("network: read /proc/cmdline: %s", strerror(errno));
		return -EIO;
	}
	cmdline[len] = '\0';
	struct agent_net_if ifs[AGENT_NET_MAX];
	size_t n;
	int rc = agent_net_parse_cmdline(cmdline, ifs, &n, why, sizeof(why));
	if (rc < 0) {
		agent_log("network: %s", why);
		return rc;
	}
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		agent_log("network: socket: %s", strerror(errno));
		return -errno;
	}
	/* lo too, as a container runtime does in a new network namespace. */
	rc = set_up(sk, "lo", why, sizeof(why));
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = configure(sk, &ifs[i], why, sizeof(why));
	close(sk);
	if (rc < 0)
		agent_log("%s", why);
	return rc;
}
