# Container vs VM isolation of one bundle (issue 8), inside the KVM test host: run and exec
# latency at both levels, memory of a VM container vs a container. Table in
# build/bench/vm-isolation.txt.
.PHONY: bench-vm-isolation
bench-vm-isolation: all guest
	tests/vmhost/run tests/bench/vm-isolation
BENCH_TARGETS += bench-vm-isolation

# tests/vmhost/vm-isolation.bats hands exec -t's pty master to the bats tools' recvtty.
vmhost-check: $(BUILD)/tests/recvtty
