# Costs of the security settings on a container start (seccomp compile vs cache, sealed
# re-exec); see tests/bench/security_bench.c. Reports numbers, never fails on speed.
$(BUILD)/bench/security_bench: tests/bench/security_bench.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-security
bench-security: $(BUILD)/hyrun $(BUILD)/bench/security_bench
	$(BUILD)/bench/security_bench $(abspath $(BUILD)/hyrun) 100

BENCH_TARGETS += bench-security
