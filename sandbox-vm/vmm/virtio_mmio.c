/* virtio-mmio version 2. Register accesses come from vCPU threads; queue kicks (ioeventfd) and
 * device callbacks run on the event loop. The transport lock serialises register writes that
 * change device state (status, queue set-up, reset) against queue notifications. Status and the
 * interrupt status are atomics because devices update them from inside their callbacks. */
#include "sandbox-vm/vmm/virtio_mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "sandbox-vm/vmm/event_loop.h"
#include "sandbox-vm/vmm/virtqueue.h"
#include "sandbox-vm/vmm/vm.h"

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0x4e525948 /* "HYRN" */

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_SEL = 0x0ac,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8,
	REG_SHM_BASE_HIGH = 0x0bc,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40
#define STATUS_FAILED 0x80
#define INT_USED_BUFFER 1
#define INT_CONFIG_CHANGE 2

struct virtio_mmio {
	struct vm *vm;
	struct virtio_dev *dev;
	uint64_t base;
	uint32_t irq;
	pthread_mutex_t lock;
	uint32_t status; /* atomic */
	uint32_t isr;    /* atomic */
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t offered, driver_features;
	bool activated;
	unsigned n_queues;
	struct virtq *vqs;
	struct virtq **vq_ptrs;
	int *kick_fds;
	bool *kick_registered;
	struct kick_ctx *kick_ctx; /* one per queue: the event-loop callbacks' opaque */
	int irq_fd;
	bool irqfd_registered;
	char name[48];
};

struct kick_ctx {
	struct virtio_mmio *t;
	unsigned q;
};

static void raise_irq(struct virtio_mmio *t, uint32_t bits)
{
	__atomic_or_fetch(&t->isr, bits, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	if (write(t->irq_fd, &one, sizeof(one)) < 0) {
		/* An eventfd write only fails on counter overflow: the interrupt is pending anyway. */
	}
}

static void vq_interrupt(void *opaque, struct virtq *vq)
{
	raise_irq(opaque, INT_USED_BUFFER);
}

static void vq_broken(void *opaque, const char *why)
{
	struct virtio_mmio *t = opaque;
	virtio_dev_set_broken(t->dev, why);
}

void virtio_dev_set_broken(struct virtio_dev *dev, const char *why)
{
	struct virtio_mmio *t = dev->transport;
	if (!t)
		return;
	uint32_t old = __atomic_fetch_or(&t->status, STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
	if (!(old & STATUS_NEEDS_RESET)) {
		if (t->vm->cfg && t->vm->cfg->debug)
			fprintf(stderr, "hyrun: %s: device needs reset: %s\n", t->name, why);
		if (old & STATUS_DRIVER_OK)
			raise_irq(t, INT_CONFIG_CHANGE);
	}
}

void virtio_dev_config_changed(struct virtio_dev *dev)
{
	struct virtio_mmio *t = dev->transport;
	if (t && (__atomic_load_n(&t->status, __ATOMIC_SEQ_CST) & STATUS_DRIVER_OK))
		raise_irq(t, INT_CONFIG_CHANGE);
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->n_queues ? &t->vqs[t->queue_sel] : NULL;
}

static void device_reset(struct virtio_mmio *t)
{
	if (t->activated && t->dev->ops->reset)
		t->dev->ops->reset(t->dev);
	t->activated = false;
	for (unsigned i = 0; i < t->n_queues; i++)
		virtq_reset(&t->vqs[i]);
	t->driver_features = 0;
	t->dev->driver_features = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	__atomic_store_n(&t->isr, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->status, 0, __ATOMIC_SEQ_CST);
}

static void set_status(struct virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		device_reset(t);
		return;
	}
	uint32_t old = __atomic_load_n(&t->status, __ATOMIC_SEQ_CST);
	if ((v & STATUS_FEATURES_OK) && !(old & STATUS_FEATURES_OK)) {
		/* Refuse features we did not offer, and legacy (pre-1.0) drivers. */
		if ((t->driver_features & ~t->offered) || !(t->driver_features & VIRTIO_F_VERSION_1))
			v &= ~(uint32_t)STATUS_FEATURES_OK;
	}
	if ((v & STATUS_DRIVER_OK) && !(old & STATUS_DRIVER_OK) && !t->activated) {
		t->dev->driver_features = t->driver_features;
		struct hy_error err = {0};
		if (t->dev->ops->activate && t->dev->ops->activate(t->dev, &err) < 0) {
			if (t->vm->cfg && t->vm->cfg->debug)
				fprintf(stderr, "hyrun: %s: activation failed: %s\n", t->name, err.msg);
			v |= STATUS_NEEDS_RESET;
		} else {
			t->activated = true;
		}
	}
	/* NEEDS_RESET is the device's to set, never cleared by the driver except by a reset. */
	__atomic_store_n(&t->status, v | (old & STATUS_NEEDS_RESET), __ATOMIC_SEQ_CST);
}

static void set_addr(uint64_t *addr, uint32_t v, bool high)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void queue_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *vq = selected_queue(t);
	if (!vq)
		return;
	if (off == REG_QUEUE_READY) {
		if (v == 1 && !vq->ready) {
			vq->indirect_ok = (t->driver_features & VIRTIO_F_INDIRECT_DESC) != 0;
			struct hy_error err = {0};
			if (virtq_enable(vq, &err) < 0)
				virtio_dev_set_broken(t->dev, err.msg);
		} else if (v == 0) {
			__atomic_store_n(&vq->ready, false, __ATOMIC_RELEASE);
		}
		return;
	}
	if (vq->ready) /* the layout of a live queue cannot change */
		return;
	switch (off) {
	case REG_QUEUE_NUM:
		vq->size = (uint16_t)(v <= 0xffff ? v : 0);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_addr(&vq->desc_gpa, v, off == REG_QUEUE_DESC_HIGH);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_addr(&vq->avail_gpa, v, off == REG_QUEUE_DRIVER_HIGH);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_addr(&vq->used_gpa, v, off == REG_QUEUE_DEVICE_HIGH);
		break;
	}
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	const struct virtio_dev_ops *ops = t->dev->ops;
	if (off >= REG_CONFIG) {
		uint64_t coff = off - REG_CONFIG;
		if (ops->config_write && coff < ops->config_size && len <= ops->config_size - coff) {
			pthread_mutex_lock(&t->lock);
			ops->config_write(t->dev, (uint32_t)coff, data, len);
			pthread_mutex_unlock(&t->lock);
		}
		return;
	}
	if (len != 4 || off % 4)
		return; /* registers are 32-bit only */
	uint32_t v;
	memcpy(&v, data, 4);
	if (off == REG_QUEUE_NOTIFY) {
		/* Only reached when the ioeventfd did not match (e.g. a bad index): forward it. */
		if (v < t->n_queues) {
			uint64_t one = 1;
			if (write(t->kick_fds[v], &one, sizeof(one)) < 0) {
				/* counter overflow: a kick is pending anyway */
			}
		}
		return;
	}
	pthread_mutex_lock(&t->lock);
	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case REG_DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (!(__atomic_load_n(&t->status, __ATOMIC_SEQ_CST) & STATUS_FEATURES_OK) &&
		    t->drv_features_sel < 2)
			set_addr(&t->driver_features, v, t->drv_features_sel == 1);
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case REG_INTERRUPT_ACK:
		__atomic_and_fetch(&t->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case REG_STATUS:
		set_status(t, v);
		break;
	case REG_SHM_SEL:
		break;
	default:
		queue_write(t, off, v);
		break;
	}
	pthread_mutex_unlock(&t->lock);
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	const struct virtio_dev_ops *ops = t->dev->ops;
	memset(data, 0, len);
	if (off >= REG_CONFIG) {
		uint64_t coff = off - REG_CONFIG;
		if (ops->config_read && coff < ops->config_size && len <= ops->config_size - coff) {
			pthread_mutex_lock(&t->lock);
			ops->config_read(t->dev, (uint32_t)coff, data, len);
			pthread_mutex_unlock(&t->lock);
		}
		return;
	}
	if (len != 4 || off % 4)
		return;
	uint32_t v = 0;
	pthread_mutex_lock(&t->lock);
	struct virtq *vq = selected_queue(t);
	switch (off) {
	case REG_MAGIC:
		v = MMIO_MAGIC;
		break;
	case REG_VERSION:
		v = MMIO_VERSION;
		break;
	case REG_DEVICE_ID:
		v = ops->device_id;
		break;
	case REG_VENDOR_ID:
		v = MMIO_VENDOR;
		break;
	case REG_DEVICE_FEATURES:
		v = t->dev_features_sel < 2 ? (uint32_t)(t->offered >> (32 * t->dev_features_sel)) : 0;
		break;
	case REG_QUEUE_NUM_MAX:
		v = vq ? vq->max_size : 0;
		break;
	case REG_QUEUE_READY:
		v = vq ? vq->ready : 0;
		break;
	case REG_INTERRUPT_STATUS:
		v = __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
		break;
	case REG_STATUS:
		v = __atomic_load_n(&t->status, __ATOMIC_SEQ_CST);
		break;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
		v = 0xffffffff; /* no shared memory regions */
		break;
	case REG_CONFIG_GENERATION:
		v = 0; /* device config never changes under the driver */
		break;
	}
	pthread_mutex_unlock(&t->lock);
	memcpy(data, &v, 4);
}

static const struct bus_ops mmio_ops = {.read = mmio_read, .write = mmio_write};

static void kick_cb(void *opaque, uint32_t events)
{
	struct kick_ctx *k = opaque;
	struct virtio_mmio *t = k->t;
	uint64_t cnt;
	if (read(t->kick_fds[k->q], &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->activated && virtq_is_ready(&t->vqs[k->q]) && t->dev->ops->queue_notify)
		t->dev->ops->queue_notify(t->dev, k->q);
	pthread_mutex_unlock(&t->lock);
}

static int setup_fds(struct virtio_mmio *t, struct hy_error *err)
{
	int vm_fd = t->vm->kvm.vm_fd;
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return hy_error_errno(err, errno, "%s: eventfd", t->name);
	struct kvm_irqfd irqfd = {.fd = (uint32_t)t->irq_fd, .gsi = t->irq};
	if (ioctl(vm_fd, KVM_IRQFD, &irqfd) < 0)
		return hy_error_errno(err, errno, "%s: KVM_IRQFD (IRQ %u)", t->name, t->irq);
	t->irqfd_registered = true;
	for (unsigned q = 0; q < t->n_queues; q++) {
		t->kick_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->kick_fds[q] < 0)
			return hy_error_errno(err, errno, "%s: eventfd", t->name);
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = t->base + REG_QUEUE_NOTIFY,
			.len = 4,
			.fd = t->kick_fds[q],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0)
			return hy_error_errno(err, errno, "%s: KVM_IOEVENTFD for queue %u", t->name, q);
		t->kick_registered[q] = true;
		t->kick_ctx[q] = (struct kick_ctx){t, q};
		int rc = event_loop_add(t->vm->loop, t->kick_fds[q], EPOLLIN, kick_cb, &t->kick_ctx[q],
					err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int virtio_mmio_create(struct vm *vm, struct virtio_dev *dev, uint64_t base, uint32_t irq,
		       char *cmdline, size_t cmdline_size, struct virtio_mmio **out,
		       struct hy_error *err)
{
	const struct virtio_dev_ops *ops = dev->ops;
	if (ops->num_queues == 0 || ops->num_queues > 64 || ops->queue_max_size == 0 ||
	    (ops->queue_max_size & (ops->queue_max_size - 1))) {
		int rc = hy_error_set(err, EINVAL, "virtio device %s: bad queue count or size", ops->name);
		if (ops->destroy)
			ops->destroy(dev);
		return rc;
	}
	struct virtio_mmio *t = calloc(1, sizeof(*t));
	unsigned nq = ops->num_queues;
	if (t) {
		t->vqs = calloc(nq, sizeof(*t->vqs));
		t->vq_ptrs = calloc(nq, sizeof(*t->vq_ptrs));
		t->kick_fds = calloc(nq, sizeof(*t->kick_fds));
		t->kick_registered = calloc(nq, sizeof(*t->kick_registered));
		t->kick_ctx = calloc(nq, sizeof(*t->kick_ctx));
	}
	if (!t || !t->vqs || !t->vq_ptrs || !t->kick_fds || !t->kick_registered || !t->kick_ctx) {
		if (t) {
			free(t->vqs);
			free(t->vq_ptrs);
			free(t->kick_fds);
			free(t->kick_registered);
			free(t->kick_ctx);
			free(t);
		}
		if (ops->destroy)
			ops->destroy(dev);
		return hy_error_set(err, ENOMEM, "out of memory for virtio device %s", ops->name);
	}
	t->vm = vm;
	t->dev = dev;
	t->base = base;
	t->irq = irq;
	t->n_queues = nq;
	t->irq_fd = -1;
	snprintf(t->name, sizeof(t->name), "virtio-%s@0x%llx", ops->name, (unsigned long long)base);
	pthread_mutex_init(&t->lock, NULL);
	t->offered = ops->features | VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC;
	for (unsigned q = 0; q < nq; q++) {
		t->kick_fds[q] = -1;
		virtq_init(&t->vqs[q], &vm->mem, q, ops->queue_max_size);
		t->vqs[q].interrupt = vq_interrupt;
		t->vqs[q].on_broken = vq_broken;
		t->vqs[q].opaque = t;
		t->vq_ptrs[q] = &t->vqs[q];
	}
	dev->mem = &vm->mem;
	dev->loop = vm->loop;
	dev->vqs = t->vq_ptrs;
	dev->transport = t;
	int rc = setup_fds(t, err);
	if (rc == 0)
		rc = bus_register(&vm->mmio, base, VM_VIRTIO_MMIO_SIZE, &mmio_ops, t, t->name, err);
	if (rc == 0) {
		size_t used = strlen(cmdline);
		int n = snprintf(cmdline + used, cmdline_size - used, " virtio_mmio.device=4K@0x%llx:%u",
				 (unsigned long long)base, irq);
		if (n < 0 || (size_t)n >= cmdline_size - used) {
			cmdline[used] = 0;
			rc = hy_error_set(err, E2BIG, "kernel command line too long for %s", t->name);
		}
	}
	if (rc < 0) {
		/* Not on the bus unless bus_register succeeded, which is only followed by the
		 * command-line check; the VM is torn down on any error, bus included. */
		virtio_mmio_destroy(t);
		return hy_error_prefix(err, "virtio device %s", ops->name);
	}
	*out = t;
	return 0;
}

/* Called after the vCPUs and the event loop have stopped. */
void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return;
	int vm_fd = t->vm->kvm.vm_fd;
	for (unsigned q = 0; q < t->n_queues; q++) {
		if (t->kick_fds[q] < 0)
			continue;
		event_loop_del(t->vm->loop, t->kick_fds[q]);
		if (t->kick_registered[q]) {
			struct kvm_ioeventfd io = {
				.datamatch = q,
				.addr = t->base + REG_QUEUE_NOTIFY,
				.len = 4,
				.fd = t->kick_fds[q],
				.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN,
			};
			ioctl(vm_fd, KVM_IOEVENTFD, &io);
		}
		close(t->kick_fds[q]);
	}
	if (t->irqfd_registered) {
		struct kvm_irqfd irqfd = {.fd = (uint32_t)t->irq_fd, .gsi = t->irq,
					  .flags = KVM_IRQFD_FLAG_DEASSIGN};
		ioctl(vm_fd, KVM_IRQFD, &irqfd);
	}
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	if (t->dev->ops->destroy)
		t->dev->ops->destroy(t->dev);
	pthread_mutex_destroy(&t->lock);
	free(t->vqs);
	free(t->vq_ptrs);
	free(t->kick_fds);
	free(t->kick_registered);
	free(t->kick_ctx);
	free(t);
}
