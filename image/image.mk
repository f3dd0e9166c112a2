# image (issue 7): unpack benchmark against umoci (tests/bench/image-unpack). Reports numbers.
.PHONY: bench-image-unpack
bench-image-unpack: $(BUILD)/hyrun
	HYRUN=$(abspath $(BUILD)/hyrun) tests/bench/image-unpack 3

BENCH_TARGETS += bench-image-unpack
