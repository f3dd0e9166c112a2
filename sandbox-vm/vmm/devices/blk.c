/* virtio-blk over a raw image file or block device (virtio 1.2 section 5.2).
 * Requests are served synchronously on the event-loop thread, one request at a time: a raw file
 * request is bounded by seg_max * size_max bytes, which keeps each blocking call short. */
#include "sandbox-vm/vmm/devices/blk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct blk {
	struct dev_io io; /* first: see dev_io.h */
	int fd;
	bool readonly;
	uint64_t capacity; /* sectors */
	char serial[BLK_ID_BYTES];
	uint8_t config[BLK_CONFIG_SIZE];
	struct virtio_dev_ops ops;
	pthread_mutex_t lock;
};

struct blk_req_hdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};
#define BLK_RANGE_UNMAP 1u

static void put_le16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* True when [sector, sector + bytes/512) lies inside the disk; every number is guest-controlled. */
static bool range_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	if (bytes % BLK_SECTOR)
		return false;
	uint64_t n = bytes / BLK_SECTOR;
	return sector <= b->capacity && n <= b->capacity - sector;
}

/* preadv/pwritev until the whole slice is done; a read past the end of a file that shrank under
 * us reads as zeros, like a sparse hole. */
static int rw_all(int fd, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, (int)n, (off_t)off) : preadv(fd, iov, (int)n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			if (write)
				return -EIO;
			for (unsigned i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)r;
		size_t left = (size_t)r;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static uint8_t do_rw(struct blk *b, const struct virtq_chain *c, uint64_t sector, bool write,
		     size_t *data_len)
{
	struct iovec seg[VIRTQ_MAX_SEGS];
	unsigned n;
	size_t len;
	if (write) {
		if (b->readonly)
			return BLK_S_IOERR;
		len = c->out_len - sizeof(struct blk_req_hdr);
		n = dev_iov_slice(c->out, c->n_out, sizeof(struct blk_req_hdr), len, seg, VIRTQ_MAX_SEGS);
	} else {
		len = c->in_len - 1;
		n = dev_iov_slice(c->in, c->n_in, 0, len, seg, VIRTQ_MAX_SEGS);
	}
	if (dev_iov_len(seg, n) != len || !range_ok(b, sector, len))
		return BLK_S_IOERR;
	if (rw_all(b->fd, seg, n, sector * BLK_SECTOR, write) < 0)
		return BLK_S_IOERR;
	if (!write)
		*data_len = len;
	return BLK_S_OK;
}

/* Last resort for write-zeroes on a file system without fallocate modes; rare, so the buffer is
 * allocated per call instead of living in the binary. */
static int zero_by_writing(int fd, uint64_t off, uint64_t len)
{
	uint8_t *zeros = calloc(1, BLK_ZERO_CHUNK);
	if (!zeros)
		return -ENOMEM;
	int rc = 0;
	while (len > 0) {
		size_t n = len < BLK_ZERO_CHUNK ? (size_t)len : BLK_ZERO_CHUNK;
		ssize_t r = pwrite(fd, zeros, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = -EIO;
			break;
		}
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	free(zeros);
	return rc;
}

static uint8_t do_discard(struct blk *b, const struct virtq_chain *c, bool zeroes)
{
	if (b->readonly)
		return BLK_S_IOERR;
	size_t payload = c->out_len - sizeof(struct blk_req_hdr);
	if (payload == 0 || payload % sizeof(struct blk_range) ||
	    payload / sizeof(struct blk_range) > BLK_MAX_DISCARD_SEG)
		return BLK_S_IOERR;
	size_t count = payload / sizeof(struct blk_range);
	struct blk_range r[BLK_MAX_DISCARD_SEG];
	iov_to_buf(c->out, c->n_out, sizeof(struct blk_req_hdr), r, payload);
	/* Validate every range before touching the file, so a bad segment changes nothing. */
	for (size_t i = 0; i < count; i++) {
		uint32_t flags = le32toh(r[i].flags);
		uint32_t num = le32toh(r[i].num_sectors);
		if ((flags & ~BLK_RANGE_UNMAP) || (!zeroes && (flags & BLK_RANGE_UNMAP)))
			return BLK_S_UNSUPP;
		if (num > BLK_MAX_DISCARD_SECTORS ||
		    !range_ok(b, le64toh(r[i].sector), (uint64_t)num * BLK_SECTOR))
			return BLK_S_IOERR;
	}
	for (size_t i = 0; i < count; i++) {
		off_t off = (off_t)(le64toh(r[i].sector) * BLK_SECTOR);
		off_t len = (off_t)le32toh(r[i].num_sectors) * BLK_SECTOR;
		if (len == 0)
			continue;
		if (!zeroes) {
			/* Discard is a hint: a host file system without hole punching still succeeds. */
			if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0 &&
			    errno != EOPNOTSUPP && errno != ENOTSUP)
				return BLK_S_IOERR;
			continue;
		}
		bool unmap = le32toh(r[i].flags) & BLK_RANGE_UNMAP;
		if (!unmap && fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
			continue;
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
			continue;
		if (zero_by_writing(b->fd, (uint64_t)off, (uint64_t)len) < 0)
			return BLK_S_IOERR;
	}
	return BLK_S_OK;
}

uint32_t virtio_blk_handle(struct virtio_dev *dev, const struct virtq_chain *c)
{
	struct blk *b = dev->priv;
	if (c->in_len < 1)
		return 0;
	size_t status_off = c->in_len - 1, data_len = 0;
	uint8_t status;
	struct blk_req_hdr h;
	if (c->out_len < sizeof(h)) {
		status = BLK_S_IOERR;
		goto out;
	}
	iov_to_buf(c->out, c->n_out, 0, &h, sizeof(h));
	uint64_t sector = le64toh(h.sector);
	switch (le32toh(h.type)) {
	case BLK_T_IN:
		status = do_rw(b, c, sector, false, &data_len);
		break;
	case BLK_T_OUT:
		status = do_rw(b, c, sector, true, &data_len);
		break;
	case BLK_T_FLUSH:
		status = BLK_S_OK;
		if (!b->readonly && fdatasync(b->fd) < 0)
			status = BLK_S_IOERR;
		break;
	case BLK_T_GET_ID:
		data_len = status_off < BLK_ID_BYTES ? status_off : BLK_ID_BYTES;
		iov_from_buf(c->in, c->n_in, 0, b->serial, data_len);
		status = BLK_S_OK;
		break;
	case BLK_T_DISCARD:
		status = do_discard(b, c, false);
		break;
	case BLK_T_WRITE_ZEROES:
		status = do_discard(b, c, true);
		break;
	default:
		status = BLK_S_UNSUPP;
		break;
	}
out:
	iov_from_buf(c->in, c->n_in, status_off, &status, 1);
	return (uint32_t)(data_len + 1);
}

uint64_t virtio_blk_capacity(const struct virtio_dev *dev)
{
	return ((const struct blk *)dev->priv)->capacity;
}

static void blk_notify(struct virtio_dev *dev, unsigned q)
{
	struct blk *b = dev->priv;
	struct virtq_chain chain;
	struct hy_error err;
	bool pushed = false;
	pthread_mutex_lock(&b->lock);
	for (;;) {
		int r = b->io.ops->pop(b->io.ctx, dev, q, &chain, &err);
		if (r < 0) {
			b->io.ops->set_broken(b->io.ctx, dev, err.msg);
			break;
		}
		if (r == 0)
			break;
		b->io.ops->push(b->io.ctx, dev, q, chain.head, virtio_blk_handle(dev, &chain));
		pushed = true;
	}
	if (pushed)
		b->io.ops->notify(b->io.ctx, dev, q);
	pthread_mutex_unlock(&b->lock);
}

static void blk_config_read(struct virtio_dev *dev, uint32_t offset, void *data, uint32_t len)
{
	struct blk *b = dev->priv;
	memcpy(data, b->config + offset, len);
}

static void blk_config_write(struct virtio_dev *dev, uint32_t offset, const void *data, uint32_t len)
{
	/* writeback toggling (CONFIG_WCE) is not offered: the config space is read-only. */
}

static int blk_activate(struct virtio_dev *dev, struct hy_error *err)
{
	return 0;
}

/* Requests complete synchronously, so a reset finds nothing in flight. */
static void blk_reset(struct virtio_dev *dev)
{
}

static void blk_destroy(struct virtio_dev *dev)
{
	if (!dev)
		return;
	struct blk *b = dev->priv;
	if (b) {
		if (b->fd >= 0)
			close(b->fd);
		pthread_mutex_destroy(&b->lock);
		free(b);
	}
	free(dev);
}

static int open_image(struct blk *b, const char *path, struct hy_error *err)
{
	b->fd = open(path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return hy_error_errno(err, errno, "open %s", path);
	/* Two writers on one image corrupt it: refuse, like Firecracker and QEMU do. */
	if (flock(b->fd, (b->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return hy_error_set(err, EBUSY, "disk image %s is in use by another process", path);
		return hy_error_errno(err, errno, "lock %s", path);
	}
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return hy_error_errno(err, errno, "stat %s", path);
	uint64_t bytes;
	if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &bytes) < 0)
			return hy_error_errno(err, errno, "size of block device %s", path);
	} else {
		return hy_error_set(err, EINVAL, "disk image %s is not a regular file or block device",
				    path);
	}
	b->capacity = bytes / BLK_SECTOR;
	if (b->capacity == 0)
		return hy_error_set(err, EINVAL, "disk image %s is smaller than one 512-byte sector", path);
	return 0;
}

static void build_config(struct blk *b)
{
	uint8_t *c = b->config;
	memset(c, 0, sizeof(b->config));
	put_le64(c + 0, b->capacity);
	put_le32(c + 8, BLK_SIZE_MAX);
	put_le32(c + 12, BLK_SEG_MAX);
	put_le32(c + 36, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + 40, BLK_MAX_DISCARD_SEG);
	put_le32(c + 44, BLK_DISCARD_ALIGN);
	put_le32(c + 48, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + 52, BLK_MAX_DISCARD_SEG);
	c[56] = 1; /* write_zeroes_may_unmap */
	put_le16(c + 34, 1); /* num_queues (only read with VIRTIO_BLK_F_MQ) */
}

int virtio_blk_create(const struct virtio_blk_params *p, struct virtio_dev **out,
		      struct hy_error *err)
{
	*out = NULL;
	if (!p || !p->path)
		return hy_error_set(err, EINVAL, "virtio-blk: no image path");
	size_t slen = p->serial ? strlen(p->serial) : 0;
	if (slen > BLK_ID_BYTES)
		return hy_error_set(err, EINVAL, "virtio-blk: serial '%s' is longer than %d bytes",
				    p->serial, BLK_ID_BYTES);
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	struct blk *b = calloc(1, sizeof(*b));
	if (!dev || !b) {
		free(dev);
		free(b);
		return hy_error_set(err, ENOMEM, "virtio-blk: out of memory");
	}
	b->io.ops = &dev_io_default;
	b->fd = -1;
	b->readonly = p->readonly;
	pthread_mutex_init(&b->lock, NULL);
	dev->priv = b;
	if (slen)
		memcpy(b->serial, p->serial, slen);
	int r = open_image(b, p->path, err);
	if (r < 0) {
		blk_destroy(dev);
		return hy_error_prefix(err, "virtio-blk");
	}
	build_config(b);
	b->ops = (struct virtio_dev_ops){
		.name = "virtio-blk",
		.device_id = VIRTIO_ID_BLOCK,
		.features = BLK_F_SIZE_MAX | BLK_F_SEG_MAX | BLK_F_FLUSH |
			    (b->readonly ? BLK_F_RO : BLK_F_DISCARD | BLK_F_WRITE_ZEROES),
		.num_queues = 1,
		.queue_max_size = 256,
		.config_size = BLK_CONFIG_SIZE,
		.config_read = blk_config_read,
		.config_write = blk_config_write,
		.activate = blk_activate,
		.queue_notify = blk_notify,
		.reset = blk_reset,
		.destroy = blk_destroy,
	};
	dev->ops = &b->ops;
	*out = dev;
	return 0;
}
