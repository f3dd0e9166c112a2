# Container lifecycle benchmark: hyrun vs runc vs crun, 100 sequential `run` of /bin/true.
.PHONY: bench-lifecycle
bench-lifecycle: $(BUILD)/hyrun
	HYRUN=$(abspath $(BUILD)/hyrun) tests/bench/lifecycle 100

BENCH_TARGETS += bench-lifecycle
