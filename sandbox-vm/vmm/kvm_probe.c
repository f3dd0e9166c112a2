/* Telling a /dev/kvm that can boot a guest kernel from one that cannot.
 *
 * kvm_pvm (page-table-based virtualization) offers the KVM API on CPUs without VMX/SVM: user-mode
 * guest code runs natively but guest kernel code is emulated and the emulator gives up on common
 * instructions, so a Linux guest never boots. We detect it up front (module present, or no
 * hardware virtualization flag) rather than letting the user wait for an emulation failure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-vm/vmm/kvm.h"
#include "sandbox-vm/vmm/vmm.h"

const char kvm_pvm_hint[] =
	"this /dev/kvm (kvm_pvm) cannot run a guest kernel; run VM tests inside tests/vmhost/run";

static int cpu_has_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 1; /* cannot tell: let KVM decide */
	char line[4096];
	int found = 0, saw_flags = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		saw_flags = 1;
		/* Flags are space separated; match whole words. */
		for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
			if (!strcmp(tok, "vmx") || !strcmp(tok, "svm"))
				found = 1;
		break;
	}
	fclose(f);
	return found || !saw_flags;
}

int kvm_is_pvm(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return 1;
	return !cpu_has_hw_virt();
}

int vmm_probe_kvm(struct hy_error *err)
{
	if (kvm_is_pvm())
		return hy_error_set(err, ENOTSUP, "%s", kvm_pvm_hint);
	struct kvm kvm;
	int rc = kvm_open(&kvm, err);
	if (rc < 0)
		return rc;
	kvm_close(&kvm);
	return 0;
}
