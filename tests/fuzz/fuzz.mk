# libFuzzer targets: tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput and is linked with
# the library sources built by clang with ASan+UBSan. Seeds: tests/fuzz/seeds/<name>/ (committed,
# may be empty); tests/fuzz/seeds-<name>.sh may generate more (e.g. from configs/).
# `make fuzz` runs each target for FUZZ_SECONDS (60) and fails on any crash.

FUZZ_SECONDS ?= 60
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I. -g -O1 -Wall -Wextra -Werror \
	-Wno-unused-parameter -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-DHYRUN_VERSION='"fuzz"' -DHYRUN_PREFIX='"$(PREFIX)"' -DHYRUN_FUZZING=1
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o)
# Keep the clang objects between runs: make would otherwise delete them as intermediates.
.SECONDARY: $(FUZZ_LIB_OBJ)

$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: fuzz
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
		name=$$(basename $$f); name=$${name#fuzz_}; \
		corpus=$(BUILD)/fuzz-corpus/$$name; mkdir -p $$corpus; \
		[ -d tests/fuzz/seeds/$$name ] && cp -n tests/fuzz/seeds/$$name/* $$corpus/ 2>/dev/null; \
		[ -x tests/fuzz/seeds-$$name.sh ] && tests/fuzz/seeds-$$name.sh $$corpus; \
		echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
		LSAN_OPTIONS=suppressions=$(abspath tests/fuzz/lsan.supp):print_suppressions=0 \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=$(BUILD)/fuzz/$$name- $$corpus >$(BUILD)/fuzz/$$name.log 2>&1 \
			|| { tail -50 $(BUILD)/fuzz/$$name.log; echo "fuzz: $$name FAILED"; exit 1; }; \
		grep -E '^Done|stat::number_of_executed_units' $(BUILD)/fuzz/$$name.log | tail -1; \
	done

# `make check` gives each target 30 s from its committed seeds, to keep check under 30 minutes;
# `make fuzz` alone runs the full FUZZ_SECONDS.
.PHONY: fuzz-check
fuzz-check:
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS)
FUZZ_CHECK_SECONDS ?= 30
CHECK_TARGETS += fuzz-check
