# The KVM test host (tests/vmhost/run) and the tests that must boot a guest kernel: every
# tests/vmhost/*.bats file; other parts add their VM tests there.

VMHOST_BATS := $(sort $(wildcard tests/vmhost/*.bats))

.PHONY: vmhost-check bench-qemu-microvm bench-vmhost
# One test-host boot per file: a host that wedges (see tests/vmhost/run) costs one file's re-run,
# and no file sees what another left in the host (four files per boot saved 4 minutes, but once
# lost a VMM in the fourth file's run).
vmhost-check: all guest
	@for f in $(VMHOST_BATS); do \
		echo "vmhost-check: $$f"; \
		VMHOST_RETRIES=$${VMHOST_RETRIES:-2} tests/vmhost/run bats --print-output-on-failure $$f || exit 1; \
	done
CHECK_TARGETS += vmhost-check

# Reference point for the VMM: QEMU microvm's time to the agent's first output, in the test host.
bench-qemu-microvm: guest
	tests/vmhost/run tests/bench/qemu-microvm
# The test host's own boot time and the cached guest-kernel call.
bench-vmhost: guest
	tests/bench/vmhost
BENCH_TARGETS += bench-vmhost bench-qemu-microvm
