/* virtio-net over a host tap device (virtio 1.2 section 5.1): queues rx 0 and tx 1, no control
 * queue, no multiqueue, no mergeable rx buffers. Frames travel with the 12-byte virtio_net_hdr_v1
 * in front, which the tap (IFF_VNET_HDR, TUNSETVNETHDRSZ 12) reads and writes as is. Checksum and
 * TCP segmentation offloads (both directions) map onto the tap's TUNSETOFFLOAD. */
#ifndef HYRUN_DEVICES_NET_H
#define HYRUN_DEVICES_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "sandbox-vm/vmm/devices/dev_io.h"

#define NET_RXQ 0
#define NET_TXQ 1

#define NET_HDR_SIZE                                                                               \
	12u /* struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size,                       \
	      csum_start, csum_offset, num_buffers */
#define NET_HDR_NUM_BUFFERS_OFF 10u
#define NET_MAX_FRAME		65550u /* Ethernet header + VLAN tag + a 64 KiB IP packet, with margin */
#define NET_MAX_CHAIN		(NET_MAX_FRAME + NET_HDR_SIZE)
#define NET_MIN_MTU		68u
#define NET_MAX_MTU		65535u
#define NET_RX_BUDGET		64u /* frames per wake-up, so one busy tap cannot starve the other fds */

/* Offered feature bits (virtio 1.2 5.1.3). */
#define NET_F_CSUM	 (1ULL << 0)
#define NET_F_GUEST_CSUM (1ULL << 1)
#define NET_F_GUEST_TSO4 (1ULL << 7)
#define NET_F_GUEST_TSO6 (1ULL << 8)
#define NET_F_HOST_TSO4	 (1ULL << 11)
#define NET_F_HOST_TSO6	 (1ULL << 12)
#define NET_F_OFFLOADS                                                                             \
	(NET_F_CSUM | NET_F_GUEST_CSUM | NET_F_GUEST_TSO4 | NET_F_GUEST_TSO6 | NET_F_HOST_TSO4 |   \
	 NET_F_HOST_TSO6)
#define NET_F_MTU     (1ULL << 3)
#define NET_F_MAC     (1ULL << 5)
#define NET_F_STATUS  (1ULL << 16)
#define NET_S_LINK_UP 1u

/* virtio_net_hdr flags and gso_type values. */
#define NET_HDR_F_NEEDS_CSUM 1u
#define NET_HDR_GSO_NONE     0u
#define NET_HDR_GSO_TCPV4    1u
#define NET_HDR_GSO_TCPV6    4u

#define NET_CONFIG_SIZE 12u /* mac[6], status, max_virtqueue_pairs, mtu */

struct virtio_net_params {
	const char *tap; /* interface name, for messages (and for opening, in virtio_net_create) */
	uint8_t mac[6];	 /* all zero = a random locally administered address */
	unsigned mtu;	 /* 0 = not announced (the guest uses 1500) */
	bool debug;	 /* print the counters to stderr when the device goes away */
};

/* Counters, for tests and the debug log; every dropped frame lands in one of them. */
struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes, rx_errors, rx_stalls;
	uint64_t tx_frames, tx_bytes, tx_dropped, tx_errors;
};

/* Attaches to the existing tap p->tap and builds the device. A missing tap, or an interface that
 * is not a tap, is an error naming it; the tap is never created here. */
int virtio_net_create(const struct virtio_net_params *p, struct virtio_dev **out,
		      struct hy_error *err);

/* The same over an fd that already carries one frame (header + Ethernet frame) per read/write,
 * non-blocking: a tap, or a datagram socket in tests. Takes ownership of fd, also on failure. */
int virtio_net_create_fd(int fd, const struct virtio_net_params *p, struct virtio_dev **out,
			 struct hy_error *err);

void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *out);

/* Opens /dev/net/tun and attaches to the existing tap `name` (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, 12-byte header, no offloads, non-blocking). net_tap.c. */
int net_tap_open(const char *name, int *fd, struct hy_error *err);

/* Tells the tap what the guest accepts (its GUEST_CSUM/GUEST_TSO* features, 0 = nothing):
 * the host then hands it unchecksummed and up to 64 KiB TCP frames. A no-op for a non-tap fd
 * (tests). net_tap.c. */
void net_tap_set_offload(int fd, uint64_t driver_features);

/* Parses a `--net TAP[,mac=XX:XX:XX:XX:XX:XX][,mtu=N]` argument into *out; the tap name is
 * copied into name (IFNAMSIZ bytes) and out->tap points at it. net_spec.c. */
struct vmm_net;
int net_spec_parse(const char *spec, struct vmm_net *out, char name[IFNAMSIZ],
		   struct hy_error *err);

#endif
