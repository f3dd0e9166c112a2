/* Changing a running VM container's memory (`hyrun update --memory`): the guest gets the new limit
 * minus VM_VMM_OVERHEAD_MIB (vm_host.h), never more than it booted with; the VMM's balloon takes
 * the rest away (sandbox-vm/vmm/devices/balloon.h), through the control socket that every VM
 * container's VMM serves at <state dir>/VM_CONTROL_NAME. */
#ifndef HYRUN_VM_MEMORY_H
#define HYRUN_VM_MEMORY_H

#include <stdint.h>
#include <sys/types.h>

#include "runtime/error.h"

#define VM_CONTROL_NAME "vm.ctl"
/* How long a shrink waits for the guest to hand the memory over before it gives up. */
#define VM_BALLOON_WAIT_MS 10000

/* What the VMM's balloon reports ("balloon-info"). */
struct vm_balloon_state {
	uint64_t memory_mib; /* guest RAM at boot */
	uint64_t target_mib, actual_mib;
	uint64_t target_pages, actual_pages;
};
int vm_balloon_query(const char *control_path, struct vm_balloon_state *out, struct hy_error *err);

/* Sets the container's memory limit to limit_bytes (-1 = unlimited: the guest gets all of its
 * boot memory back) around apply_cgroup(arg), which writes the cgroup (the limit and whatever else
 * the update changes). Shrinking: balloon first, waiting up to VM_BALLOON_WAIT_MS for the guest,
 * then apply_cgroup only if the VMM (vmm_pid) fits under the new limit; otherwise the balloon goes
 * back and the error says what the guest did not give back. Growing: apply_cgroup first, then the
 * balloon. A limit above the boot memory + VM_VMM_OVERHEAD_MIB is an error naming the boot size. */
int vm_update_memory(const char *state_dir, pid_t vmm_pid, int64_t limit_bytes,
		     int (*apply_cgroup)(void *arg, struct hy_error *err), void *arg,
		     struct hy_error *err);

#endif
