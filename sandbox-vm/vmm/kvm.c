/* Opening /dev/kvm and creating a VM with the capabilities the VMM relies on. */
#include "sandbox-vm/vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
	const char *why;
} required_caps[] = {
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest memory from anonymous mappings"},
	{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel PIC, IOAPIC and LAPIC"},
	{KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel PIT timer"},
	{KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "virtio interrupts"},
	{KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "virtio queue notifications"},
	{KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "the TSS page for real-mode emulation"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID set-up"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "pausing and stopping vCPUs"},
};

int kvm_open(struct kvm *kvm, struct hy_error *err)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0)
		return hy_error_errno(err, errno, "cannot open /dev/kvm");
	int rc;
	int version = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		rc = hy_error_set(err, ENOTSUP, "/dev/kvm has API version %d, need %d", version,
				  KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			rc = hy_error_set(err, ENOTSUP, "/dev/kvm lacks %s (needed for %s)",
					  required_caps[i].name, required_caps[i].why);
			goto fail;
		}
	}
	kvm->vcpu_mmap_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size <= 0) {
		rc = hy_error_errno(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	kvm->max_vcpus = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (kvm->max_vcpus <= 0)
		kvm->max_vcpus = 4;

	/* The supported CPUID list grows with new CPUs; retry with a larger buffer on E2BIG. */
	for (int nent = 128; !kvm->supported_cpuid; nent *= 2) {
		struct kvm_cpuid2 *c =
			calloc(1, sizeof(*c) + (size_t)nent * sizeof(struct kvm_cpuid_entry2));
		if (!c) {
			rc = hy_error_set(err, ENOMEM, "out of memory for the CPUID table");
			goto fail;
		}
		c->nent = (uint32_t)nent;
		if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->supported_cpuid = c;
			break;
		}
		int e = errno;
		free(c);
		if (e != E2BIG || nent >= 4096) {
			rc = hy_error_errno(err, e, "KVM_GET_SUPPORTED_CPUID");
			goto fail;
		}
	}

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		rc = hy_error_errno(err, errno, "KVM_CREATE_VM");
		goto fail;
	}
	return 0;
fail:
	kvm_close(kvm);
	return rc;
}

int kvm_setup_irqchip(struct kvm *kvm, struct hy_error *err)
{
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return hy_error_errno(err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return hy_error_errno(err, errno, "KVM_SET_TSS_ADDR");
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return hy_error_errno(err, errno, "KVM_CREATE_IRQCHIP");
	/* The dummy speaker port lets the kernel answer port 0x61 reads (PIT channel 2 gate). */
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return hy_error_errno(err, errno, "KVM_CREATE_PIT2");
	return 0;
}

int kvm_irq_line(struct kvm *kvm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};
	return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->supported_cpuid);
	kvm->supported_cpuid = NULL;
	kvm->vm_fd = kvm->sys_fd = -1;
}
