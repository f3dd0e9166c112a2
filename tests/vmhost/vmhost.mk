# The KVM test host (tests/vmhost/run) and the tests that must boot a guest kernel: every
# tests/vmhost/*.bats file; other parts add their VM tests there.

VMHOST_BATS := $(sort $(wildcard tests/vmhost/*.bats))

.PHONY: vmhost-check bench-qemu-microvm bench-vmhost
# The files run in groups of VMHOST_GROUP (4) per test-host boot: a boot costs 20-30 s, and a
# host that wedges (see tests/vmhost/run) costs one group's re-run.
VMHOST_GROUP ?= 4
vmhost-check: all guest
	@set -- $(VMHOST_BATS); while [ $$# -gt 0 ]; do \
		group=; n=0; \
		while [ $$# -gt 0 ] && [ $$n -lt $(VMHOST_GROUP) ]; do group="$$group $$1"; shift; n=$$((n + 1)); done; \
		echo "vmhost-check:$$group"; \
		VMHOST_RETRIES=$${VMHOST_RETRIES:-2} tests/vmhost/run bats --print-output-on-failure $$group || exit 1; \
	done
CHECK_TARGETS += vmhost-check

# Reference point for the VMM: QEMU microvm's time to the agent's first output, in the test host.
bench-qemu-microvm: guest
	tests/vmhost/run tests/bench/qemu-microvm
# The test host's own boot time and the cached guest-kernel call.
bench-vmhost: guest
	tests/bench/vmhost
BENCH_TARGETS += bench-vmhost bench-qemu-microvm
