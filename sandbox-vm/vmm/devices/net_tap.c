/* Attaching to an existing tap. TUNSETIFF on a name that does not exist would create a new,
 * unconfigured tap (and one that vanishes with the VMM), so the interface must exist first, and
 * must still be the same interface after the attach. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sandbox-vm/vmm/devices/net.h"

static int fail(int fd, struct hy_error *err, int code, const char *name, const char *what)
{
	close(fd);
	return hy_error_set(err, code, "tap %s: %s", name, what);
}

int net_tap_open(const char *name, int *out, struct hy_error *err)
{
	*out = -1;
	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return hy_error_set(err, EINVAL, "tap name '%s' is empty or longer than %d bytes",
				    name ? name : "", IFNAMSIZ - 1);
	unsigned before = if_nametoindex(name);
	if (before == 0)
		return hy_error_set(
		    err, ENODEV,
		    "no such tap device in this network namespace (create it first: "
		    "ip tuntap add dev %s mode tap)",
		    name);
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return hy_error_errno(err, errno, "open /dev/net/tun");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		if (e == EINVAL)
			return hy_error_set(
			    err, EINVAL,
			    "%s is not a tap device (or a multi-queue one, which is "
			    "not supported)",
			    name);
		if (e == EBUSY)
			return hy_error_set(err, EBUSY, "tap %s is in use by another process",
					    name);
		if (e == EPERM)
			return hy_error_set(
			    err, EPERM,
			    "no permission to attach to tap %s (its owner/group, or "
			    "CAP_NET_ADMIN)",
			    name);
		return hy_error_errno(err, e, "attach to tap %s", name);
	}
	/* Deleted and re-created, or deleted so that we just created a fresh one: not the
	 * interface the caller configured. */
	if (if_nametoindex(name) != before)
		return fail(fd, err, ENODEV, name, "disappeared while attaching");
	int hdr = NET_HDR_SIZE;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return fail(fd, err, errno, name, "cannot set the 12-byte virtio-net header");
	/* No offloads: the host stack then hands us only complete, checksummed frames, which is
	 * all a guest without GUEST_CSUM/GUEST_TSO may receive. */
	if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)
		return fail(fd, err, errno, name, "cannot turn offloads off");
	*out = fd;
	return 0;
}

void net_tap_set_offload(int fd, uint64_t f)
{
	unsigned long flags = 0;
	if (f & NET_F_GUEST_CSUM) {
		flags |= TUN_F_CSUM;
		if (f & NET_F_GUEST_TSO4)
			flags |= TUN_F_TSO4;
		if (f & NET_F_GUEST_TSO6)
			flags |= TUN_F_TSO6;
	}
	/* Failure (not a tap) leaves the host sending plain frames, which every guest accepts. */
	if (ioctl(fd, TUNSETOFFLOAD, flags) < 0 && flags)
		ioctl(fd, TUNSETOFFLOAD, 0UL);
}
