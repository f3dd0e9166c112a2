/* `update --memory` for a VM container (vm_memory.h). The order protects the container: the cgroup
 * limit only comes down once the guest has handed the memory over and the VMM's resident memory
 * fits under it (a limit below what the VMM holds gets the VMM OOM-killed, and with it the whole
 * container), and it goes up before the guest is given memory back. */
#include "sandbox-vm/host/vm_memory.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sandbox-vm/host/vm_host.h"
#include "sandbox-vm/vmm/control.h"
#include "sandbox-vm/vmm/vmm.h"

#define MIB	((int64_t)1024 * 1024)
#define POLL_MS 100

/* Reads "key=value" from a balloon-info answer; false when missing or not a number. */
static bool answer_u64(const char *answer, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	for (const char *p = answer; p && *p; p = strchr(p, ' ')) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p + klen + 1, &end, 10);
			if (errno || end == p + klen + 1 || (*end && *end != ' '))
				return false;
			*out = v;
			return true;
		}
	}
	return false;
}

int vm_balloon_query(const char *control_path, struct vm_balloon_state *out, struct hy_error *err)
{
	char answer[CONTROL_ANSWER_MAX];
	memset(out, 0, sizeof(*out));
	int rc = vmm_control_query(control_path, "balloon-info", answer, sizeof(answer), err);
	if (rc < 0)
		return rc;
	if (!answer_u64(answer, "memory_mib", &out->memory_mib) ||
	    !answer_u64(answer, "target_mib", &out->target_mib) ||
	    !answer_u64(answer, "actual_mib", &out->actual_mib) ||
	    !answer_u64(answer, "target_pages", &out->target_pages) ||
	    !answer_u64(answer, "actual_pages", &out->actual_pages))
		return hy_error_set(err, EPROTO,
				    "control socket %s: unexpected balloon-info answer '%s'",
				    control_path, answer);
	return 0;
}

static int set_balloon(const char *control_path, uint64_t mib, struct hy_error *err)
{
	char req[48];
	snprintf(req, sizeof(req), "balloon %" PRIu64, mib);
	return vmm_control_request(control_path, req, err);
}

/* The VMM's resident memory in bytes (VmRSS), 0 when unreadable. */
static uint64_t vmm_rss(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	uint64_t kib = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" SCNu64 " kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the driver holds at least the target; *st is the last answer. */
static int wait_inflated(const char *control_path, struct vm_balloon_state *st,
			 struct hy_error *err)
{
	int64_t deadline = now_ms() + VM_BALLOON_WAIT_MS;
	for (;;) {
		int rc = vm_balloon_query(control_path, st, err);
		if (rc < 0)
			return rc;
		if (st->actual_pages >= st->target_pages)
			return 0;
		if (now_ms() >= deadline)
			return hy_error_set(
			    err, ETIMEDOUT,
			    "the guest gave back only %" PRIu64 " of %" PRIu64 " MiB within %d s",
			    st->actual_mib, st->target_mib, VM_BALLOON_WAIT_MS / 1000);
		usleep(POLL_MS * 1000);
	}
}

/* Shrinking: balloon, wait, check the VMM fits, then the cgroup. On failure the balloon goes back
 * to its old size and the cgroup is untouched. */
static int shrink(const char *ctl, pid_t vmm_pid, uint64_t old_mib, uint64_t new_mib,
		  int64_t limit_bytes, int (*apply_cgroup)(void *, struct hy_error *), void *arg,
		  struct hy_error *err)
{
	int rc = set_balloon(ctl, new_mib, err);
	if (rc < 0)
		return rc;
	struct vm_balloon_state st;
	rc = wait_inflated(ctl, &st, err);
	uint64_t rss = rc == 0 ? vmm_rss(vmm_pid) : 0;
	if (rc == 0 && rss > (uint64_t)limit_bytes)
		rc = hy_error_set(err, EBUSY,
				  "the VMM still holds %" PRIu64
				  " MiB after the guest gave back %" PRIu64 " MiB",
				  rss / (uint64_t)MIB, st.actual_mib);
	if (rc < 0) {
		struct hy_error ignored = {0};
		set_balloon(ctl, old_mib, &ignored);
		return hy_error_prefix(err,
				       "memory limit %" PRId64 " MiB: the limit stays as it was",
				       limit_bytes / MIB);
	}
	return apply_cgroup(arg, err);
}

int vm_update_memory(const char *state_dir, pid_t vmm_pid, int64_t limit_bytes,
		     int (*apply_cgroup)(void *arg, struct hy_error *err), void *arg,
		     struct hy_error *err)
{
	char ctl[4096];
	if (snprintf(ctl, sizeof(ctl), "%s/%s", state_dir, VM_CONTROL_NAME) >= (int)sizeof(ctl))
		return hy_error_set(err, ENAMETOOLONG, "state directory %s: path too long",
				    state_dir);
	if (access(ctl, F_OK) < 0)
		return hy_error_set(
		    err, EOPNOTSUPP,
		    "memory: this VM container's VMM has no balloon control socket (%s); "
		    "it was started by an older hyrun",
		    ctl);
	struct vm_balloon_state st;
	int rc = vm_balloon_query(ctl, &st, err);
	if (rc < 0)
		return hy_error_prefix(err, "memory: the VM's balloon");
	/* -1 (unlimited): the guest gets all of its boot memory back. */
	uint64_t guest_mib = st.memory_mib;
	if (limit_bytes > 0) {
		int64_t limit_mib = limit_bytes / MIB;
		if (limit_mib < VM_MIN_GUEST_MIB + VM_VMM_OVERHEAD_MIB)
			return hy_error_set(err, EINVAL,
					    "memory limit %" PRId64
					    " MiB: a VM container needs at least "
					    "%d MiB (%d MiB for the guest, %d MiB for the VMM)",
					    limit_mib, VM_MIN_GUEST_MIB + VM_VMM_OVERHEAD_MIB,
					    VM_MIN_GUEST_MIB, VM_VMM_OVERHEAD_MIB);
		if ((uint64_t)(limit_mib - VM_VMM_OVERHEAD_MIB) > st.memory_mib)
			return hy_error_set(
			    err, EINVAL,
			    "memory limit %" PRId64 " MiB: the guest booted with %" PRIu64
			    " MiB and cannot grow above it (the limit can be at most %" PRIu64
			    " MiB: %" PRIu64 " MiB for the guest, %d MiB for the VMM)",
			    limit_mib, st.memory_mib, st.memory_mib + VM_VMM_OVERHEAD_MIB,
			    st.memory_mib, VM_VMM_OVERHEAD_MIB);
		guest_mib = (uint64_t)(limit_mib - VM_VMM_OVERHEAD_MIB);
	}
	uint64_t balloon_mib = st.memory_mib - guest_mib;
	if (balloon_mib > st.target_mib)
		return shrink(ctl, vmm_pid, st.target_mib, balloon_mib, limit_bytes, apply_cgroup,
			      arg, err);
	/* Growing (or the same size): room in the cgroup first, then memory for the guest. */
	if ((rc = apply_cgroup(arg, err)) < 0)
		return rc;
	if (balloon_mib != st.target_mib && (rc = set_balloon(ctl, balloon_mib, err)) < 0)
		return hy_error_prefix(err, "memory: the cgroup limit is raised, but the balloon");
	return 0;
}
