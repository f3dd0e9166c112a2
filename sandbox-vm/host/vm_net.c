/* The network of a VM container (vm_host.h "vm_net.c"): the guest takes over the interfaces of
 * the container's network namespace, as Kata does.
 *
 *   int vm_net_setup(&net, err);      in the init, in the netns, before the VMM starts
 *   vm_net_count / vm_net_guest / vm_net_tap   what the VMM and the guest get
 *   int vm_net_teardown(net, err);    after the VM (or a failed set-up): the netns as it was
 *   void vm_net_free(net);
 *
 * For each interface that is up, not loopback, and has IPv4 addresses: a persistent tap
 * (hyrun-tapN) and a bridge (hyrun-brN) holding the interface and the tap; the addresses move off
 * the interface and the interface gets a new locally administered MAC, so that the guest can own
 * the ORIGINAL MAC and addresses: the peer's ARP cache and firewall rules stay valid. The routes
 * through the interface disappear with its addresses; they are saved and put back at teardown.
 * Everything done is recorded step by step so that teardown undoes exactly that. */
#include <net/if.h> /* before the linux/ headers, which then leave its definitions alone */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sandbox-vm/host/vm_host.h"
#include "sandbox-vm/vmm/vmm.h"

_Static_assert(VM_NET_MAX <= VMM_MAX_NETS, "the VMM must take every interface we hand over");

#define NET_SCAN_LINKS 64 /* up, non-loopback links looked at in one namespace */
#define MAX_ROUTES     16 /* routes through one interface that are saved for teardown */
#define NL_BUF	       32768

/* An IPv4 address as dumped, enough to put it back as it was. */
struct saved_addr {
	struct ifaddrmsg ifa;
	uint32_t local, address, broadcast; /* network order; 0 = attribute absent */
	bool has_local, has_address, has_broadcast, has_cacheinfo;
	uint32_t flags;
	struct ifa_cacheinfo ci;
	char label[IFNAMSIZ];
};

/* A route through the interface (not the kernel's own prefix routes, which come back with the
 * addresses). */
struct saved_route {
	struct rtmsg rtm;
	uint32_t dst, gateway, prefsrc, priority, table;
	bool has_dst, has_gateway, has_prefsrc, has_priority;
	uint8_t metrics[128];
	size_t metrics_len;
};

struct net_if {
	int index;
	char name[IFNAMSIZ];
	unsigned flags, mtu, type;
	int master;
	uint8_t mac[6], new_mac[6];
	bool has_mac;
	struct saved_addr addrs[VM_NET_MAX_ADDRS];
	size_t n_addrs;
	struct saved_route routes[MAX_ROUTES];
	size_t n_routes;
	bool too_many_addrs, too_many_routes;
	uint32_t gateway, gw_priority;
	bool has_gateway;
	/* set-up progress, what teardown undoes */
	char tap[IFNAMSIZ], bridge[IFNAMSIZ];
	bool tap_made, bridge_made, mac_changed, enslaved, went_down;
	size_t addrs_removed;
};

struct vm_net {
	struct net_if ifs[VM_NET_MAX];
	size_t n;
};

struct nl {
	struct mnl_socket *sk;
	unsigned portid;
	uint32_t seq;
	char buf[NL_BUF];
};

/* ---- netlink ---- */

static int nl_open(struct nl *nl, struct hy_error *err)
{
	nl->seq = 1;
	nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sk)
		return hy_error_errno(err, errno, "network: netlink socket");
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return hy_error_errno(err, e, "network: netlink bind");
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

static struct nlmsghdr *nl_req(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* Sends nlh (built in nl->buf) and reads the answer: a dump through cb, or the ACK. 0 or
 * -errno. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		int r = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (r == MNL_CB_ERROR)
			return -(errno ? errno : EIO);
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static int nl_dump(struct nl *nl, uint16_t type, uint8_t family, size_t hdr_len, mnl_cb_t cb,
		   void *data)
{
	struct nlmsghdr *nlh = nl_req(nl, type, NLM_F_DUMP);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, hdr_len);
	g->rtgen_family = family; /* the first byte of ifinfomsg, ifaddrmsg and rtmsg alike */
	return nl_talk(nl, nlh, cb, data);
}

/* ---- discovery ---- */

struct scan {
	struct net_if links[NET_SCAN_LINKS];
	size_t n;
	bool overflow;
};

static struct net_if *find_link(struct scan *s, int index)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->links[i].index == index)
			return &s->links[i];
	return NULL;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*ifi))
		return MNL_CB_ERROR;
	if ((ifi->ifi_flags & IFF_LOOPBACK) || !(ifi->ifi_flags & IFF_UP))
		return MNL_CB_OK;
	if (s->n == NET_SCAN_LINKS) {
		s->overflow = true;
		return MNL_CB_OK;
	}
	struct net_if *l = &s->links[s->n];
	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->type = ifi->ifi_type;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
				return MNL_CB_ERROR;
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6) {
				memcpy(l->mac, mnl_attr_get_payload(a), 6);
				l->has_mac = true;
			}
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return MNL_CB_ERROR;
			l->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return MNL_CB_ERROR;
			l->master = (int)mnl_attr_get_u32(a);
			break;
		}
	}
	s->n++;
	return MNL_CB_OK;
}

static uint32_t attr_u32_raw(const struct nlattr *a)
{
	uint32_t v;
	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return v;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*ifa))
		return MNL_CB_ERROR;
	struct net_if *l = ifa->ifa_family == AF_INET ? find_link(s, (int)ifa->ifa_index) : NULL;
	if (!l)
		return MNL_CB_OK;
	if (l->n_addrs == VM_NET_MAX_ADDRS) {
		l->too_many_addrs = true;
		return MNL_CB_OK;
	}
	struct saved_addr *sa = &l->addrs[l->n_addrs];
	memset(sa, 0, sizeof(*sa));
	sa->ifa = *ifa;
	sa->flags = ifa->ifa_flags;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		uint16_t t = mnl_attr_get_type(a);
		bool is_u32 = mnl_attr_get_payload_len(a) == 4;
		if (t == IFA_LOCAL && is_u32) {
			sa->local = attr_u32_raw(a);
			sa->has_local = true;
		} else if (t == IFA_ADDRESS && is_u32) {
			sa->address = attr_u32_raw(a);
			sa->has_address = true;
		} else if (t == IFA_BROADCAST && is_u32) {
			sa->broadcast = attr_u32_raw(a);
			sa->has_broadcast = true;
		} else if (t == IFA_FLAGS && is_u32) {
			sa->flags = mnl_attr_get_u32(a);
		} else if (t == IFA_LABEL && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(sa->label, sizeof(sa->label), "%s", mnl_attr_get_str(a));
		} else if (t == IFA_CACHEINFO && mnl_attr_get_payload_len(a) == sizeof(sa->ci)) {
			memcpy(&sa->ci, mnl_attr_get_payload(a), sizeof(sa->ci));
			sa->has_cacheinfo = true;
		}
	}
	if (!sa->has_local && !sa->has_address)
		return MNL_CB_OK;
	if (!sa->has_local) {
		sa->local = sa->address;
		sa->has_local = true;
	}
	l->n_addrs++;
	return MNL_CB_OK;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*rtm))
		return MNL_CB_ERROR;
	if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST ||
	    rtm->rtm_table == RT_TABLE_LOCAL || rtm->rtm_protocol == RTPROT_KERNEL)
		return MNL_CB_OK;
	struct saved_route r = {.rtm = *rtm, .table = rtm->rtm_table};
	int oif = 0;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		uint16_t t = mnl_attr_get_type(a);
		if (mnl_attr_get_payload_len(a) == 4 && t != RTA_METRICS) {
			uint32_t v = attr_u32_raw(a);
			switch (t) {
			case RTA_OIF:
				oif = (int)mnl_attr_get_u32(a);
				break;
			case RTA_DST:
				r.dst = v, r.has_dst = true;
				break;
			case RTA_GATEWAY:
				r.gateway = v, r.has_gateway = true;
				break;
			case RTA_PREFSRC:
				r.prefsrc = v, r.has_prefsrc = true;
				break;
			case RTA_PRIORITY:
				r.priority = mnl_attr_get_u32(a), r.has_priority = true;
				break;
			case RTA_TABLE:
				r.table = mnl_attr_get_u32(a);
				break;
			}
		} else if (t == RTA_METRICS && mnl_attr_get_payload_len(a) <= sizeof(r.metrics)) {
			r.metrics_len = mnl_attr_get_payload_len(a);
			memcpy(r.metrics, mnl_attr_get_payload(a), r.metrics_len);
		}
	}
	struct net_if *l = oif ? find_link(s, oif) : NULL; /* multipath routes have no OIF */
	if (!l)
		return MNL_CB_OK;
	if (l->n_routes == MAX_ROUTES) {
		l->too_many_routes = true;
		return MNL_CB_OK;
	}
	l->routes[l->n_routes++] = r;
	/* The guest's default route: the main table's, the best (lowest) metric first. */
	if (r.table == RT_TABLE_MAIN && rtm->rtm_dst_len == 0 && r.has_gateway &&
	    (!l->has_gateway || r.priority < l->gw_priority)) {
		l->gateway = r.gateway;
		l->gw_priority = r.priority;
		l->has_gateway = true;
	}
	return MNL_CB_OK;
}

/* The interfaces to hand over, with everything teardown needs to put them back. */
static int discover(struct nl *nl, struct vm_net *net, struct hy_error *err)
{
	struct scan *s = calloc(1, sizeof(*s));
	if (!s)
		return hy_error_set(err, ENOMEM, "network: out of memory");
	int rc;
	if ((rc = nl_dump(nl, RTM_GETLINK, AF_UNSPEC, sizeof(struct ifinfomsg), on_link, s)) < 0) {
		rc = hy_error_errno(err, -rc, "network: list interfaces (RTM_GETLINK)");
		goto out;
	}
	if (s->overflow) {
		rc = hy_error_set(err, E2BIG, "network: more than %d interfaces are up",
				  NET_SCAN_LINKS);
		goto out;
	}
	if ((rc = nl_dump(nl, RTM_GETADDR, AF_INET, sizeof(struct ifaddrmsg), on_addr, s)) < 0) {
		rc = hy_error_errno(err, -rc, "network: list addresses (RTM_GETADDR)");
		goto out;
	}
	if ((rc = nl_dump(nl, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), on_route, s)) < 0) {
		rc = hy_error_errno(err, -rc, "network: list routes (RTM_GETROUTE)");
		goto out;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct net_if *l = &s->links[i];
		if (!l->n_addrs)
			continue;
		const char *why = NULL;
		if (l->too_many_addrs)
			why = "more IPv4 addresses than a guest interface takes";
		else if (l->too_many_routes)
			why = "too many routes through it to save and restore";
		else if (l->type != ARPHRD_ETHER || !l->has_mac)
			why = "not an Ethernet interface (only those can be bridged to the guest)";
		else if (l->master)
			why = "already a port of another device";
		else if (net->n == VM_NET_MAX)
			why = "too many interfaces with IPv4 addresses for one VM";
		if (why) {
			rc = hy_error_set(err, ENOTSUP, "network: %s: %s", l->name, why);
			goto out;
		}
		net->ifs[net->n++] = *l;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

/* ---- changes ---- */

static int link_set(struct nl *nl, int index, unsigned mtu, const uint8_t *mac, int master, int up)
{
	struct nlmsghdr *nlh = nl_req(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	}
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	if (master >= 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int link_del(struct nl *nl, const char *name)
{
	unsigned index = if_nametoindex(name);
	if (!index)
		return -errno;
	struct nlmsghdr *nlh = nl_req(nl, RTM_DELLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)index;
	return nl_talk(nl, nlh, NULL, NULL);
}

/* A MAC change: live when the driver allows it (veth does), else down, change, up. */
static int set_mac(struct nl *nl, struct net_if *l, const uint8_t mac[6])
{
	int rc = link_set(nl, l->index, 0, mac, -1, -1);
	if (rc != -EBUSY)
		return rc;
	l->went_down = true; /* routes through it are gone now, whatever happens next */
	if ((rc = link_set(nl, l->index, 0, NULL, -1, 0)) < 0)
		return rc;
	rc = link_set(nl, l->index, 0, mac, -1, -1);
	int up = link_set(nl, l->index, 0, NULL, -1, 1);
	return rc < 0 ? rc : up;
}

static int tap_create(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int rc = 0;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Without an attached queue a persistent tap is removed by clearing persist. */
static int tap_delete(struct nl *nl, const char *name)
{
	int rc = link_del(nl, name);
	if (rc == 0 || rc == -ENODEV)
		return rc;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return rc;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, TUNSETPERSIST, 0) == 0)
		rc = 0;
	close(fd);
	return rc;
}

static int bridge_create(struct nl *nl, const char *name, unsigned mtu)
{
	struct nlmsghdr *nlh = nl_req(nl, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int addr_change(struct nl *nl, const struct saved_addr *sa, bool add)
{
	struct nlmsghdr *nlh = nl_req(nl, add ? RTM_NEWADDR : RTM_DELADDR,
				      NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	*ifa = sa->ifa;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &sa->local);
	if (sa->has_address)
		mnl_attr_put(nlh, IFA_ADDRESS, 4, &sa->address);
	if (add) {
		if (sa->has_broadcast)
			mnl_attr_put(nlh, IFA_BROADCAST, 4, &sa->broadcast);
		if (sa->label[0])
			mnl_attr_put_strz(nlh, IFA_LABEL, sa->label);
		mnl_attr_put_u32(nlh, IFA_FLAGS, sa->flags);
		if (sa->has_cacheinfo)
			mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(sa->ci), &sa->ci);
	}
	return nl_talk(nl, nlh, NULL, NULL);
}

static int route_add(struct nl *nl, int oif, const struct saved_route *r)
{
	struct nlmsghdr *nlh = nl_req(nl, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	*rtm = r->rtm;
	rtm->rtm_flags = 0; /* RTNH_F_* in a dump describe state, not a request */
	mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	if (r->has_dst)
		mnl_attr_put(nlh, RTA_DST, 4, &r->dst);
	if (r->has_gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, 4, &r->gateway);
	if (r->has_prefsrc)
		mnl_attr_put(nlh, RTA_PREFSRC, 4, &r->prefsrc);
	if (r->has_priority)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->priority);
	if (r->metrics_len)
		mnl_attr_put(nlh, RTA_METRICS, r->metrics_len, r->metrics);
	return nl_talk(nl, nlh, NULL, NULL);
}

/* A locally administered unicast MAC that differs from the original: the interface's while the
 * guest owns the original. */
static void derive_mac(const uint8_t orig[6], uint8_t out[6])
{
	memcpy(out, orig, 6);
	out[0] = (uint8_t)((orig[0] | 0x02) & ~0x01);
	if (!memcmp(out, orig, 6))
		out[0] ^= 0x04;
}

static int plumb_one(struct nl *nl, struct net_if *l, size_t k, struct hy_error *err)
{
	int rc;
	snprintf(l->tap, sizeof(l->tap), "hyrun-tap%u", (unsigned)(k % VM_NET_MAX));
	snprintf(l->bridge, sizeof(l->bridge), "hyrun-br%u", (unsigned)(k % VM_NET_MAX));
	/* TUNSETIFF would attach to an existing tap of that name instead of failing. */
	if (if_nametoindex(l->tap))
		return hy_error_set(err, EEXIST,
				    "network: %s: tap %s: exists already (left by a VM container "
				    "that was killed?)",
				    l->name, l->tap);
	if ((rc = tap_create(l->tap)) < 0)
		return hy_error_errno(err, -rc, "network: %s: tap %s: create", l->name, l->tap);
	l->tap_made = true;
	int tap = (int)if_nametoindex(l->tap);
	if (!tap || (rc = link_set(nl, tap, l->mtu, NULL, -1, 1)) < 0)
		return hy_error_errno(err, tap ? -rc : errno, "network: %s: tap %s: set mtu %u, up",
				      l->name, l->tap, l->mtu);
	if ((rc = bridge_create(nl, l->bridge, l->mtu)) < 0)
		return hy_error_errno(err, -rc, "network: %s: bridge %s: create", l->name,
				      l->bridge);
	l->bridge_made = true;
	int br = (int)if_nametoindex(l->bridge);
	if (!br)
		return hy_error_errno(err, errno, "network: %s: bridge %s", l->name, l->bridge);
	/* Last first: removing a primary address takes its secondaries with it. */
	for (; l->addrs_removed < l->n_addrs; l->addrs_removed++) {
		const struct saved_addr *sa = &l->addrs[l->n_addrs - 1 - l->addrs_removed];
		char ip[INET_ADDRSTRLEN];
		if ((rc = addr_change(nl, sa, false)) < 0)
			return hy_error_errno(
			    err, -rc, "network: %s: remove address %s/%u", l->name,
			    inet_ntop(AF_INET, &sa->local, ip, sizeof(ip)), sa->ifa.ifa_prefixlen);
	}
	derive_mac(l->mac, l->new_mac);
	if ((rc = set_mac(nl, l, l->new_mac)) < 0)
		return hy_error_errno(err, -rc, "network: %s: set a new MAC", l->name);
	l->mac_changed = true;
	if ((rc = link_set(nl, l->index, 0, NULL, br, -1)) < 0)
		return hy_error_errno(err, -rc, "network: %s: bridge %s: add %s", l->name,
				      l->bridge, l->name);
	l->enslaved = true;
	if ((rc = link_set(nl, tap, 0, NULL, br, -1)) < 0)
		return hy_error_errno(err, -rc, "network: %s: bridge %s: add %s", l->name,
				      l->bridge, l->tap);
	if ((rc = link_set(nl, br, 0, NULL, -1, 1)) < 0)
		return hy_error_errno(err, -rc, "network: %s: bridge %s: up", l->name, l->bridge);
	return 0;
}

/* Undoes what plumb_one did, in reverse. Keeps going after a failure; the first one is in err. */
static int unplumb_one(struct nl *nl, struct net_if *l, struct hy_error *err)
{
	int first = 0, rc;
#define NOTE(call, ...)                                                                            \
	do {                                                                                       \
		if ((rc = (call)) < 0 && !first)                                                   \
			first = hy_error_errno(err, -rc, __VA_ARGS__);                             \
	} while (0)
	if (l->bridge_made) {
		NOTE(link_del(nl, l->bridge), "network: %s: bridge %s: delete", l->name, l->bridge);
		if (rc == 0 || rc == -ENODEV)
			l->bridge_made = l->enslaved = false;
	}
	if (l->enslaved)
		NOTE(link_set(nl, l->index, 0, NULL, 0, -1), "network: %s: leave bridge %s",
		     l->name, l->bridge);
	if (l->tap_made) {
		NOTE(tap_delete(nl, l->tap), "network: %s: tap %s: delete", l->name, l->tap);
		l->tap_made = false;
	}
	if (l->mac_changed) {
		NOTE(set_mac(nl, l, l->mac), "network: %s: restore its MAC", l->name);
		l->mac_changed = rc < 0;
	}
	/* Leaving a bridge or changing the MAC the slow way may have taken it down. */
	NOTE(link_set(nl, l->index, 0, NULL, -1, 1), "network: %s: up", l->name);
	/* In their first order: primaries before their secondaries. */
	for (size_t i = l->n_addrs - l->addrs_removed; i < l->n_addrs; i++) {
		rc = addr_change(nl, &l->addrs[i], true);
		if (rc == -EEXIST)
			rc = 0;
		char ip[INET_ADDRSTRLEN];
		NOTE(rc, "network: %s: restore address %s/%u", l->name,
		     inet_ntop(AF_INET, &l->addrs[i].local, ip, sizeof(ip)),
		     l->addrs[i].ifa.ifa_prefixlen);
	}
	if (l->addrs_removed || l->went_down)
		for (size_t i = 0; i < l->n_routes; i++) {
			rc = route_add(nl, l->index, &l->routes[i]);
			if (rc == -EEXIST)
				rc = 0;
			NOTE(rc, "network: %s: restore route %zu", l->name, i);
		}
	l->addrs_removed = 0;
	l->went_down = false;
#undef NOTE
	return first;
}

/* ---- the interface ---- */

int vm_net_teardown(struct vm_net *net, struct hy_error *err)
{
	if (!net)
		return 0;
	int first = 0;
	struct nl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		first = hy_error_set(err, ENOMEM, "network: out of memory");
	else if ((first = nl_open(nl, err)) == 0) {
		for (size_t i = net->n; i-- > 0;) {
			struct hy_error e = {0};
			int rc = unplumb_one(nl, &net->ifs[i], &e);
			if (rc < 0 && !first) {
				first = rc;
				*err = e;
			}
		}
		nl_close(nl);
	}
	free(nl);
	return first;
}

void vm_net_free(struct vm_net *net)
{
	free(net);
}

int vm_net_setup(struct vm_net **out, struct hy_error *err)
{
	*out = NULL;
	struct vm_net *net = calloc(1, sizeof(*net));
	struct nl *nl = calloc(1, sizeof(*nl));
	int rc;
	if (!net || !nl) {
		rc = hy_error_set(err, ENOMEM, "network: out of memory");
		goto fail;
	}
	if ((rc = nl_open(nl, err)) < 0 || (rc = discover(nl, net, err)) < 0)
		goto fail;
	for (size_t i = 0; i < net->n; i++)
		if ((rc = plumb_one(nl, &net->ifs[i], i, err)) < 0) {
			/* Only what this set-up did is undone; the error stays the first one. */
			net->n = i + 1;
			nl_close(nl);
			free(nl);
			struct hy_error ignored = {0};
			vm_net_teardown(net, &ignored);
			vm_net_free(net);
			return rc;
		}
	nl_close(nl);
	free(nl);
	if (!net->n) {
		free(net); /* only lo (a new netns): no network device, as before */
		return 0;
	}
	*out = net;
	return 0;
fail:
	if (nl)
		nl_close(nl);
	free(nl);
	free(net);
	return rc;
}

size_t vm_net_count(const struct vm_net *net)
{
	return net ? net->n : 0;
}

const char *vm_net_tap(const struct vm_net *net, size_t i)
{
	return i < vm_net_count(net) ? net->ifs[i].tap : NULL;
}

int vm_net_guest(const struct vm_net *net, size_t i, struct vm_net_guest *g)
{
	if (i >= vm_net_count(net))
		return -EINVAL;
	const struct net_if *l = &net->ifs[i];
	memset(g, 0, sizeof(*g));
	memcpy(g->mac, l->mac, 6);
	g->mtu = l->mtu;
	for (size_t a = 0; a < l->n_addrs; a++) {
		g->addr[a] = l->addrs[a].local;
		g->prefix[a] = l->addrs[a].ifa.ifa_prefixlen;
	}
	g->n_addrs = l->n_addrs;
	g->gateway = l->gateway;
	g->has_gateway = l->has_gateway;
	return 0;
}

/* Appends to buf at *o; false once it no longer fits. */
static bool append(char *buf, size_t size, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool append(char *buf, size_t size, size_t *o, const char *fmt, ...)
{
	if (*o >= size)
		return false;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *o, size - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *o) {
		*o = size;
		return false;
	}
	*o += (size_t)n;
	return true;
}

int vm_net_format_param(const struct vm_net_guest *g, char *buf, size_t size)
{
	if (!g->n_addrs || g->n_addrs > VM_NET_MAX_ADDRS || g->mtu > 65535)
		return -EINVAL;
	size_t o = 0;
	char ip[INET_ADDRSTRLEN];
	bool ok = append(buf, size, &o, "hyrun.net=%02x:%02x:%02x:%02x:%02x:%02x", g->mac[0],
			 g->mac[1], g->mac[2], g->mac[3], g->mac[4], g->mac[5]);
	for (size_t a = 0; ok && a < g->n_addrs; a++) {
		if (g->prefix[a] > 32)
			return -EINVAL;
		ok = append(buf, size, &o, ",%s/%u",
			    inet_ntop(AF_INET, &g->addr[a], ip, sizeof(ip)), g->prefix[a]);
	}
	if (ok && g->has_gateway)
		ok = append(buf, size, &o, ",gw=%s",
			    inet_ntop(AF_INET, &g->gateway, ip, sizeof(ip)));
	if (ok && g->mtu)
		ok = append(buf, size, &o, ",mtu=%u", g->mtu);
	return ok ? (int)o : -E2BIG;
}
