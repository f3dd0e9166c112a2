# hyrun's VMM against QEMU microvm inside the KVM test host (issue 6): time to the agent's first
# output and VMM RSS excluding guest memory.
.PHONY: bench-vmm-boot
bench-vmm-boot: all guest
	tests/vmhost/run tests/bench/vmm-boot
BENCH_TARGETS += bench-vmm-boot
