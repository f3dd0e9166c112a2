/* Split virtqueue, device side. The rings live in guest memory and the guest may change them at
 * any time, so every value is read once into a local, then validated: ring indices, descriptor
 * indices, lengths and buffer addresses, chain length (which also catches loops), indirect
 * tables (size, alignment, no nesting). A malformed chain marks the queue broken and the device
 * DEVICE_NEEDS_RESET; the VMM carries on. */
#include "sandbox-vm/vmm/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "sandbox-vm/vmm/memory.h"

void virtq_init(struct virtq *vq, struct guest_mem *mem, unsigned index, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->index = index;
	vq->max_size = max_size;
	vq->size = max_size;
}

void virtq_reset(struct virtq *vq)
{
	__atomic_store_n(&vq->ready, false, __ATOMIC_RELEASE);
	vq->size = vq->max_size;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->broken = false;
	vq->last_avail = vq->used_idx = 0;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

int virtq_enable(struct virtq *vq, struct hy_error *err)
{
	uint16_t n = vq->size;
	if (n == 0 || n > vq->max_size || (n & (n - 1)))
		return hy_error_set(err, EINVAL, "queue %u: size %u is not a power of two <= %u",
				    vq->index, n, vq->max_size);
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return hy_error_set(err, EINVAL, "queue %u: misaligned ring address", vq->index);
	vq->desc = guest_mem_ptr(vq->mem, vq->desc_gpa, 16ULL * n);
	vq->avail = guest_mem_ptr(vq->mem, vq->avail_gpa, 6ULL + 2ULL * n);
	vq->used = guest_mem_ptr(vq->mem, vq->used_gpa, 6ULL + 8ULL * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return hy_error_set(err, EFAULT, "queue %u: ring outside guest memory", vq->index);
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->broken = false;
	__atomic_store_n(&vq->ready, true, __ATOMIC_RELEASE);
	return 0;
}

bool virtq_is_ready(const struct virtq *vq)
{
	return vq && __atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) && !vq->broken;
}

static int broken(struct virtq *vq, struct hy_error *err, const char *why, unsigned a, unsigned b)
{
	vq->broken = true;
	hy_error_set(err, EINVAL, "virtqueue %u: %s (%u, %u)", vq->index, why, a, b);
	if (vq->on_broken)
		vq->on_broken(vq->opaque, err ? err->msg : why);
	return -EINVAL;
}

static uint16_t load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Adds one buffer to the chain; writable buffers must come after readable ones. */
static int add_segment(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *d,
		       struct hy_error *err)
{
	if (d->len == 0)
		return 0;
	void *p = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!p)
		return broken(vq, err, "buffer outside guest memory (address hi/lo)",
			      (unsigned)(d->addr >> 32), (unsigned)d->addr);
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		if (c->n_in == VIRTQ_MAX_SEGS)
			return broken(vq, err, "too many writable segments", c->n_in, VIRTQ_MAX_SEGS);
		c->in[c->n_in++] = (struct iovec){p, d->len};
		c->in_len += d->len;
	} else {
		if (c->n_in)
			return broken(vq, err, "readable segment after a writable one", c->n_out, c->n_in);
		if (c->n_out == VIRTQ_MAX_SEGS)
			return broken(vq, err, "too many readable segments", c->n_out, VIRTQ_MAX_SEGS);
		c->out[c->n_out++] = (struct iovec){p, d->len};
		c->out_len += d->len;
	}
	return 0;
}

/* Walks a descriptor table (the ring's or an indirect one) from `head`. */
static int walk(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *table,
		unsigned table_len, uint16_t head, bool indirect, struct hy_error *err)
{
	unsigned idx = head, count = 0;
	for (;;) {
		if (idx >= table_len)
			return broken(vq, err, "descriptor index out of range", idx, table_len);
		/* A chain longer than the table must revisit a descriptor: a loop. */
		if (++count > table_len)
			return broken(vq, err, "descriptor chain loops or is too long", count, table_len);
		struct virtq_desc d;
		memcpy(&d, &table[idx], sizeof(d)); /* one snapshot; the guest may rewrite it */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return broken(vq, err, "nested indirect table", idx, 0);
			if (!vq->indirect_ok)
				return broken(vq, err, "indirect descriptor not negotiated", idx, 0);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return broken(vq, err, "indirect descriptor with NEXT", idx, 0);
			if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_INDIRECT)
				return broken(vq, err, "bad indirect table length", d.len, 0);
			if (d.addr % 8) /* host alignment for the table's 64-bit fields */
				return broken(vq, err, "misaligned indirect table", (unsigned)d.addr, 0);
			const struct virtq_desc *t = guest_mem_ptr(vq->mem, d.addr, d.len);
			if (!t)
				return broken(vq, err, "indirect table outside guest memory",
					      (unsigned)(d.addr >> 32), (unsigned)d.addr);
			/* The indirect table ends the chain in the ring's table. */
			return walk(vq, c, t, d.len / 16, 0, true, err);
		}
		int rc = add_segment(vq, c, &d, err);
		if (rc < 0)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *chain, struct hy_error *err)
{
	if (!virtq_is_ready(vq))
		return vq && vq->broken ? hy_error_set(err, EINVAL, "virtqueue %u is broken", vq->index)
					: 0;
	uint16_t n = vq->size;
	uint16_t avail_idx = load16(&vq->avail[1]);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > n)
		return broken(vq, err, "available index jumped past the ring size", pending, n);
	uint16_t head = load16(&vq->avail[2 + vq->last_avail % n]);
	chain->head = head;
	chain->n_out = chain->n_in = 0;
	chain->out_len = chain->in_len = 0;
	int rc = walk(vq, chain, vq->desc, n, head, false, err);
	if (rc < 0)
		return rc;
	vq->last_avail++;
	return 1;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	if (!virtq_is_ready(vq))
		return;
	uint16_t n = vq->size;
	uint8_t *elem = vq->used + 4 + 8 * (size_t)(vq->used_idx % n);
	uint32_t id = head;
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &written, 4);
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n((uint16_t *)(vq->used + 2), vq->used_idx, __ATOMIC_RELEASE);
}

void virtq_notify_guest(struct virtq *vq)
{
	if (!virtq_is_ready(vq))
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (load16(&vq->avail[0]) & VIRTQ_AVAIL_F_NO_INTERRUPT)
		return;
	if (vq->interrupt)
		vq->interrupt(vq->opaque, vq);
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t chunk = iov[i].iov_len - offset;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t chunk = iov[i].iov_len - offset;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)iov[i].iov_base + offset, (const uint8_t *)buf + done, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}
