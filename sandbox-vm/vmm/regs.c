/* The boot vCPU's initial registers for the two entry paths (see boot.h):
 * PVH: 32-bit protected mode, paging off, flat CS/DS, a valid TR, EBX = hvm_start_info.
 * Linux 64-bit: long mode on identity page tables, CS = 0x10 (L=1), DS = 0x18, RSI = zero page. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "sandbox-vm/vmm/boot.h"
#include "sandbox-vm/vmm/vcpu.h"

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, int long_mode)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = long_mode && (type & 0x8) ? 0 : 1,
		.s = 1,
		.l = long_mode && (type & 0x8) ? 1 : 0,
		.g = 1,
	};
}

int vcpu_setup_boot_regs(struct vcpu *v, const struct boot_entry *boot, struct hy_error *err)
{
	int long_mode = boot->mode == BOOT_MODE_LINUX64;
	struct kvm_sregs sregs;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return hy_error_errno(err, errno, "KVM_GET_SREGS");
	sregs.cs = flat_segment(BOOT_GDT_CODE, 0xb, long_mode);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(BOOT_GDT_DATA, 0x3, 0);
	sregs.tr = (struct kvm_segment){
		.base = 0, .limit = 0x67, .selector = BOOT_GDT_TSS, .type = 0xb /* busy 32-bit TSS */,
		.present = 1,
	};
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (long_mode) {
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	} else {
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return hy_error_errno(err, errno, "KVM_SET_SREGS");

	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* bit 1 is reserved-as-one; interrupts off */
	regs.rip = boot->rip;
	if (long_mode)
		regs.rsi = boot->arg;
	else
		regs.rbx = boot->arg;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return hy_error_errno(err, errno, "KVM_SET_REGS");

	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return hy_error_errno(err, errno, "KVM_SET_FPU");
	return 0;
}
