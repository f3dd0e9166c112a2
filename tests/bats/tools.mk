# Small helper programs the bats suites use (built before `make bats` runs them).
BATS_TOOLS := $(BUILD)/tests/recvtty

$(BUILD)/tests/recvtty: tests/bats/tools/recvtty.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

bats: $(BATS_TOOLS)
