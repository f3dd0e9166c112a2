/* libFuzzer: random descriptor tables and avail rings in a fake guest memory, popped through
 * virtq_pop(). Whatever the bytes, the pop must validate (never touch memory outside the guest
 * mapping, never loop forever) and leave a broken queue broken.
 *
 * Input layout: byte 0 = log2 queue size (mod 9) | indirect flag (0x80); byte 1 = how many pops;
 * the rest is copied over the first FUZZ_WINDOW bytes of guest memory, which hold the avail ring
 * at 0 and the descriptor table at 0x210 (both inside libFuzzer's default 4 KiB inputs for small
 * queues); the used ring at 0x5000 is the device's. Buffers and indirect tables may point
 * anywhere. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sandbox-vm/vmm/memory.h"
#include "sandbox-vm/vmm/virtqueue.h"

#define GUEST_SIZE (1024 * 1024)
#define FUZZ_WINDOW 0x4000

static struct guest_mem mem;
static struct virtq_chain chain;

static void consume(const struct virtq_chain *c)
{
	/* Touch every byte the chain hands out: ASan catches any segment outside the mapping. */
	volatile uint8_t sink = 0;
	for (unsigned i = 0; i < c->n_out; i++)
		for (size_t j = 0; j < c->out[i].iov_len; j += 512)
			sink ^= ((const uint8_t *)c->out[i].iov_base)[j];
	for (unsigned i = 0; i < c->n_in; i++)
		if (c->in[i].iov_len)
			((uint8_t *)c->in[i].iov_base)[c->in[i].iov_len - 1] = sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mem.n_regions) {
		struct hy_error err;
		if (guest_mem_create(&mem, GUEST_SIZE, &err) < 0)
			return 0;
	}
	if (size < 2)
		return 0;
	uint8_t *g = guest_mem_ptr(&mem, 0, FUZZ_WINDOW);
	memset(g, 0, FUZZ_WINDOW);
	size_t n = size - 2 < FUZZ_WINDOW ? size - 2 : FUZZ_WINDOW;
	memcpy(g, data + 2, n);

	struct virtq vq;
	uint16_t qsize = (uint16_t)(1u << (data[0] & 0x7f) % 9);
	virtq_init(&vq, &mem, 0, 256);
	vq.size = qsize;
	vq.avail_gpa = 0;
	vq.desc_gpa = 0x210;
	vq.used_gpa = 0x5000;
	struct hy_error err;
	if (virtq_enable(&vq, &err) < 0)
		return 0;
	vq.indirect_ok = data[0] & 0x80;
	unsigned pops = data[1] % 64 + 1;
	for (unsigned i = 0; i < pops; i++) {
		int rc = virtq_pop(&vq, &chain, &err);
		if (rc < 0) {
			if (virtq_is_ready(&vq))
				__builtin_trap(); /* a malformed queue must stay broken */
			break;
		}
		if (rc == 0)
			break;
		if (chain.n_out > VIRTQ_MAX_SEGS || chain.n_in > VIRTQ_MAX_SEGS)
			__builtin_trap();
		consume(&chain);
		virtq_push(&vq, chain.head, (uint32_t)chain.in_len);
	}
	return 0;
}
