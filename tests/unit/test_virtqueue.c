/* Split virtqueue validation against a fake guest memory (no KVM): well-formed chains, and every
 * kind of malformed ring the guest could write must fail the pop and mark the queue broken. */
#include <stdint.h>
#include <string.h>

#include "sandbox-vm/vmm/memory.h"
#include "sandbox-vm/vmm/virtqueue.h"
#include "unit.h"

#define MIB (1024ULL * 1024ULL)
#define QSIZE 8
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define DATA 0x10000ULL
#define INDIRECT 0x8000ULL

static struct guest_mem mem;
static int broken_calls, irq_calls;

static void on_broken(void *opaque, const char *why)
{
	broken_calls++;
}

static void on_irq(void *opaque, struct virtq *vq)
{
	irq_calls++;
}

static struct virtq_desc *desc_at(uint64_t table, unsigned i)
{
	return guest_mem_ptr(&mem, table + 16ULL * i, 16);
}

static void set_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	*desc_at(table, i) = (struct virtq_desc){addr, len, flags, next};
}

static uint16_t *avail(void)
{
	return guest_mem_ptr(&mem, AVAIL, 6 + 2 * QSIZE);
}

/* Offers `head` at the next avail slot. */
static void offer(uint16_t head)
{
	uint16_t *a = avail();
	a[2 + a[1] % QSIZE] = head;
	a[1]++;
}

static void fresh_queue(struct virtq *vq, bool indirect)
{
	memset(guest_mem_ptr(&mem, 0, MIB), 0, MIB);
	virtq_init(vq, &mem, 0, QSIZE);
	vq->size = QSIZE;
	vq->desc_gpa = DESC;
	vq->avail_gpa = AVAIL;
	vq->used_gpa = USED;
	vq->on_broken = on_broken;
	vq->interrupt = on_irq;
	struct hy_error err = {0};
	CHECK(virtq_enable(vq, &err) == 0);
	vq->indirect_ok = indirect;
	broken_calls = irq_calls = 0;
}

static int pop(struct virtq *vq, struct virtq_chain *c, struct hy_error *err)
{
	hy_error_clear(err);
	return virtq_pop(vq, c, err);
}

static struct virtq_chain chain;

static void test_good_chain(void)
{
	struct virtq vq;
	struct hy_error err = {0};
	fresh_queue(&vq, false);
	CHECK(pop(&vq, &chain, &err) == 0); /* empty */

	memcpy(guest_mem_ptr(&mem, DATA, 5), "hello", 5);
	set_desc(DESC, 0, DATA, 5, VIRTQ_DESC_F_NEXT, 3);
	set_desc(DESC, 3, DATA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	CHECK(pop(&vq, &chain, &err) == 1);
	CHECK(chain.head == 0 && chain.n_out == 1 && chain.n_in == 1);
	CHECK(chain.out_len == 5 && chain.in_len == 64);
	char buf[8] = {0};
	CHECK(iov_to_buf(chain.out, chain.n_out, 1, buf, sizeof(buf)) == 4);
	CHECK(!memcmp(buf, "ello", 4));
	CHECK(iov_from_buf(chain.in, chain.n_in, 60, "abcdefgh", 8) == 4);
	CHECK(!memcmp(guest_mem_ptr(&mem, DATA + 0x100 + 60, 4), "abcd", 4));
	CHECK(pop(&vq, &chain, &err) == 0);

	virtq_push(&vq, chain.head, 42);
	const uint8_t *used = guest_mem_ptr(&mem, USED, 4 + 8 * QSIZE);
	uint16_t used_idx;
	uint32_t id, len;
	memcpy(&used_idx, used + 2, 2);
	memcpy(&id, used + 4, 4);
	memcpy(&len, used + 8, 4);
	CHECK(used_idx == 1 && id == 0 && len == 42);
	virtq_notify_guest(&vq);
	CHECK(irq_calls == 1);
	avail()[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_notify_guest(&vq);
	CHECK(irq_calls == 1);

	/* Zero-length descriptors are skipped, not mapped. */
	set_desc(DESC, 1, 0xdeadbeef000ULL, 0, VIRTQ_DESC_F_NEXT, 2);
	set_desc(DESC, 2, DATA, 16, 0, 0);
	offer(1);
	CHECK(pop(&vq, &chain, &err) == 1);
	CHECK(chain.n_out == 1 && chain.out_len == 16);
	CHECK(broken_calls == 0);
}

/* Sets up one malformed request and checks that pop fails, mentions `what`, and that the
 * queue stays broken afterwards. */
static void expect_broken(struct virtq *vq, const char *what)
{
	struct hy_error err = {0};
	CHECK(pop(vq, &chain, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, what);
	CHECK(broken_calls == 1);
	CHECK(!virtq_is_ready(vq));
	CHECK(pop(vq, &chain, &err) < 0);
	virtq_push(vq, 0, 0); /* ignored on a broken queue, no crash */
}

static void test_malformed(void)
{
	struct virtq vq;

	fresh_queue(&vq, false);
	offer(QSIZE); /* head index out of range */
	expect_broken(&vq, "out of range");

	fresh_queue(&vq, false);
	set_desc(DESC, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 9); /* next out of range */
	offer(0);
	expect_broken(&vq, "out of range");

	fresh_queue(&vq, false);
	set_desc(DESC, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0); /* loop */
	offer(0);
	expect_broken(&vq, "loops");

	fresh_queue(&vq, false);
	set_desc(DESC, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 0); /* self loop */
	offer(0);
	expect_broken(&vq, "loops");

	fresh_queue(&vq, false);
	set_desc(DESC, 0, 64 * MIB, 8, 0, 0); /* outside memory */
	offer(0);
	expect_broken(&vq, "outside guest memory");

	fresh_queue(&vq, false);
	set_desc(DESC, 0, UINT64_MAX - 3, 8, 0, 0); /* wraps */
	offer(0);
	expect_broken(&vq, "outside guest memory");

	fresh_queue(&vq, false);
	set_desc(DESC, 0, MIB - 4, 8, 0, 0); /* straddles the end of memory */
	offer(0);
	expect_broken(&vq, "outside guest memory");

	fresh_queue(&vq, false);
	set_desc(DESC, 0, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(DESC, 1, DATA, 8, 0, 0); /* readable after writable */
	offer(0);
	expect_broken(&vq, "readable segment after");

	fresh_queue(&vq, false);
	avail()[1] = QSIZE + 1; /* the driver claims more entries than the ring holds */
	expect_broken(&vq, "jumped");

	/* Indirect descriptors. */
	fresh_queue(&vq, false);
	set_desc(DESC, 0, INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0); /* not negotiated */
	offer(0);
	expect_broken(&vq, "not negotiated");

	fresh_queue(&vq, true);
	set_desc(INDIRECT, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(INDIRECT, 1, DATA + 64, 8, VIRTQ_DESC_F_WRITE, 0);
	set_desc(DESC, 0, INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	struct hy_error err = {0};
	CHECK(pop(&vq, &chain, &err) == 1);
	CHECK(chain.n_out == 1 && chain.n_in == 1 && broken_calls == 0);

	fresh_queue(&vq, true);
	set_desc(DESC, 0, INDIRECT, 20, VIRTQ_DESC_F_INDIRECT, 0); /* not a multiple of 16 */
	offer(0);
	expect_broken(&vq, "indirect table length");

	fresh_queue(&vq, true);
	set_desc(DESC, 0, INDIRECT, 0, VIRTQ_DESC_F_INDIRECT, 0); /* empty */
	offer(0);
	expect_broken(&vq, "indirect table length");

	fresh_queue(&vq, true);
	set_desc(DESC, 0, INDIRECT, 16 * (VIRTQ_MAX_INDIRECT + 1), VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken(&vq, "indirect table length");

	fresh_queue(&vq, true);
	set_desc(DESC, 0, MIB - 16, 32, VIRTQ_DESC_F_INDIRECT, 0); /* table past the end */
	offer(0);
	expect_broken(&vq, "outside guest memory");

	fresh_queue(&vq, true);
	set_desc(INDIRECT, 0, INDIRECT, 16, VIRTQ_DESC_F_INDIRECT, 0); /* nested */
	set_desc(DESC, 0, INDIRECT, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken(&vq, "nested");

	fresh_queue(&vq, true);
	set_desc(DESC, 0, INDIRECT, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(0);
	expect_broken(&vq, "NEXT");

	fresh_queue(&vq, true);
	set_desc(INDIRECT, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(INDIRECT, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0); /* loop inside the table */
	set_desc(DESC, 0, INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken(&vq, "loops");

	fresh_queue(&vq, true);
	set_desc(INDIRECT, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 5); /* next beyond the table */
	set_desc(DESC, 0, INDIRECT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken(&vq, "out of range");

	/* More segments than a chain may carry: a 1024-entry indirect table of readable buffers. */
	fresh_queue(&vq, true);
	for (unsigned i = 0; i < VIRTQ_MAX_INDIRECT; i++)
		set_desc(INDIRECT, i, DATA, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	set_desc(INDIRECT, VIRTQ_MAX_INDIRECT - 1, DATA, 1, 0, 0);
	set_desc(DESC, 0, INDIRECT, 16 * VIRTQ_MAX_INDIRECT, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken(&vq, "too many");
}

static void test_enable(void)
{
	struct virtq vq;
	struct hy_error err = {0};
	virtq_init(&vq, &mem, 1, QSIZE);
	vq.size = 6; /* not a power of two */
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	CHECK(virtq_enable(&vq, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "power of two");
	vq.size = 16; /* above the maximum */
	CHECK(virtq_enable(&vq, &err) < 0);
	vq.size = QSIZE;
	vq.desc_gpa = DESC + 8; /* misaligned */
	CHECK(virtq_enable(&vq, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "misaligned");
	vq.desc_gpa = MIB - 64; /* table runs past the end of memory */
	CHECK(virtq_enable(&vq, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "outside guest memory");
	CHECK(!virtq_is_ready(&vq));
	struct virtq_chain c;
	CHECK(virtq_pop(&vq, &c, &err) == 0); /* not ready: nothing to pop, no crash */
	vq.desc_gpa = DESC;
	CHECK(virtq_enable(&vq, &err) == 0);
	CHECK(virtq_is_ready(&vq));
	virtq_reset(&vq);
	CHECK(!virtq_is_ready(&vq) && vq.size == QSIZE && vq.desc_gpa == 0);
}

int main(void)
{
	struct hy_error err = {0};
	if (guest_mem_create(&mem, MIB, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	test_good_chain();
	test_malformed();
	test_enable();
	guest_mem_destroy(&mem);
	return UNIT_DONE();
}
