/* virtio-blk internals shared with its unit test. */
#ifndef HYRUN_DEVICES_BLK_H
#define HYRUN_DEVICES_BLK_H

#include "sandbox-vm/vmm/devices/dev_io.h"

#define BLK_SECTOR 512u
#define BLK_SIZE_MAX (1u << 20)                /* bytes per data segment */
#define BLK_SEG_MAX (VIRTQ_MAX_SEGS - 2)       /* header and status take one each */
#define BLK_MAX_DISCARD_SECTORS 0x3fffffu      /* per segment, 2 GiB - 512 */
#define BLK_MAX_DISCARD_SEG 16u
#define BLK_DISCARD_ALIGN 8u                   /* sectors: 4 KiB, the usual host block */
#define BLK_ZERO_CHUNK (256u * 1024)           /* fallback write-zeroes buffer */

/* Offered feature bits (virtio 1.2 5.2.3). */
#define BLK_F_SIZE_MAX (1ULL << 1)
#define BLK_F_SEG_MAX (1ULL << 2)
#define BLK_F_RO (1ULL << 5)
#define BLK_F_FLUSH (1ULL << 9)
#define BLK_F_DISCARD (1ULL << 13)
#define BLK_F_WRITE_ZEROES (1ULL << 14)

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_T_DISCARD 11
#define BLK_T_WRITE_ZEROES 13

#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2

#define BLK_ID_BYTES 20
#define BLK_CONFIG_SIZE 60 /* up to write_zeroes_may_unmap + padding */

/* Handles one request chain (header, data, status byte) synchronously and returns the byte count
 * to report to the guest (data written into in-segments plus the status byte); 0 when the chain
 * has no room for a status byte. */
uint32_t virtio_blk_handle(struct virtio_dev *dev, const struct virtq_chain *chain);

/* Capacity in sectors, for tests and the VMM's log. */
uint64_t virtio_blk_capacity(const struct virtio_dev *dev);

#endif
