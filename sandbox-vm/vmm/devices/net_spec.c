/* `--net TAP[,mac=XX:XX:XX:XX:XX:XX][,mtu=N]`: the command-line form of struct vmm_net. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox-vm/vmm/devices/net.h"
#include "sandbox-vm/vmm/vmm.h"

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

/* Exactly six two-digit hex groups separated by ':'; a unicast address (multicast bit clear),
 * not all zeros. */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	static const uint8_t zero[6];
	if ((mac[0] & 1) || !memcmp(mac, zero, 6))
		return -1;
	return 0;
}

static int parse_mtu(const char *s, size_t len, unsigned *mtu)
{
	char buf[16];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	char *end;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	if (errno || *end || buf[0] < '0' || buf[0] > '9' || v < NET_MIN_MTU || v > NET_MAX_MTU)
		return -1;
	*mtu = (unsigned)v;
	return 0;
}

int net_spec_parse(const char *spec, struct vmm_net *out, char name[IFNAMSIZ], struct hy_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *comma = strchr(spec, ',');
	size_t nlen = comma ? (size_t)(comma - spec) : strlen(spec);
	if (nlen == 0 || nlen >= IFNAMSIZ)
		return hy_error_set(err, EINVAL, "--net %s: tap name must be 1 to %d bytes", spec,
				    IFNAMSIZ - 1);
	memcpy(name, spec, nlen);
	name[nlen] = 0;
	if (strchr(name, '/') || strchr(name, ' '))
		return hy_error_set(err, EINVAL, "--net %s: '%s' is not an interface name", spec,
				    name);
	out->tap = name;
	while (comma) {
		const char *opt = comma + 1;
		comma = strchr(opt, ',');
		size_t olen = comma ? (size_t)(comma - opt) : strlen(opt);
		if (olen > 4 && !strncmp(opt, "mac=", 4)) {
			if (parse_mac(opt + 4, olen - 4, out->mac) < 0)
				return hy_error_set(
				    err, EINVAL,
				    "--net %s: mac must be a unicast XX:XX:XX:XX:XX:XX "
				    "address",
				    spec);
		} else if (olen > 4 && !strncmp(opt, "mtu=", 4)) {
			if (parse_mtu(opt + 4, olen - 4, &out->mtu) < 0)
				return hy_error_set(err, EINVAL, "--net %s: mtu must be %u to %u",
						    spec, NET_MIN_MTU, NET_MAX_MTU);
		} else {
			return hy_error_set(
			    err, EINVAL, "--net %s: unknown option '%.*s' (expected mac= or mtu=)",
			    spec, (int)olen, opt);
		}
	}
	return 0;
}
