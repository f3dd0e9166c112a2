# hyrun: one binary (build/hyrun), a static guest agent and a guest kernel for VM mode.
# Parts add their own targets in <part>/*.mk (included below) and append to CHECK_TARGETS /
# BENCH_TARGETS, so no part has to edit this file to add a test or a tool.

PREFIX ?= /usr/local
BUILD  ?= build
CC     ?= gcc

# Debian packages every target may need; `make deps` installs what is missing.
DEB_PACKAGES = gcc make pkg-config libyajl-dev libseccomp-dev libcap-dev libmnl-dev libcgroup-dev \
	libarchive-dev libssl-dev bats bats-assert bats-support busybox-static cpio zstd \
	qemu-system-x86 runc crun podman skopeo umoci erofs-utils e2fsprogs clang libclang-rt-14-dev \
	iproute2 jq flex bison bc libelf-dev xz-utils linux-source-6.1 util-linux procps psmisc

WARN    = -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -fno-strict-aliasing $(WARN) -I. -MMD -MP
CFLAGS += -DHYRUN_VERSION='"$(HYRUN_VERSION)"' -DHYRUN_PREFIX='"$(PREFIX)"'
# --as-needed: hyrun itself does not link libarchive or libcrypto (image/archive_lib.c loads them
# on first use), which keeps their dependency trees out of every container start and the VMM.
LDLIBS  = -Wl,--as-needed -lyajl -lseccomp -lcap -lmnl -lcgroup -larchive -lcrypto -lpthread
HYRUN_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

# Library parts (everything but the CLI) so that unit tests and fuzzers can link them.
LIB_SRC := $(sort $(wildcard runtime/*.c cgroups/*.c image/*.c sandbox-vm/vmm/*.c \
		sandbox-vm/vmm/devices/*.c sandbox-vm/proto/*.c sandbox-vm/host/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)

# The same objects with ASan+UBSan, for unit tests.
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LIB_SAN_OBJ := $(LIB_SRC:%.c=$(BUILD)/san/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

CHECK_TARGETS :=
BENCH_TARGETS :=

.PHONY: all deps demo check bench install clean unit bats format
all: $(BUILD)/hyrun

$(BUILD)/hyrun: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/unit/%: tests/unit/%.c $(LIB_SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests/unit -o $@ $^ $(LDLIBS)

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

unit: $(UNIT_BIN)
	@pass=0; fail=0; for t in $(UNIT_BIN); do \
		if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; done; \
	echo "unit: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# Host-level integration tests (containers on this kernel). VM tests run inside tests/vmhost.
BATS_HOST := $(sort $(wildcard tests/bats/*.bats))
bats: $(BUILD)/hyrun
	HYRUN=$(abspath $(BUILD)/hyrun) bats --print-output-on-failure $(BATS_HOST)

-include $(sort $(wildcard */*.mk */*/*.mk tests/*/*.mk))

demo: deps all
	@./tests/demo.sh

check: deps all
	$(MAKE) unit
	$(MAKE) bats
	@for t in $(CHECK_TARGETS); do $(MAKE) $$t || exit 1; done

bench: deps all
	@for t in $(BENCH_TARGETS); do $(MAKE) $$t || exit 1; done

install: all
	install -D -m 0755 $(BUILD)/hyrun $(DESTDIR)$(PREFIX)/bin/hyrun
	@if [ -d $(BUILD)/guest ]; then mkdir -p $(DESTDIR)$(PREFIX)/lib/hyrun && \
		cp -a $(BUILD)/guest/. $(DESTDIR)$(PREFIX)/lib/hyrun/; fi

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(LIB_SAN_OBJ:.o=.d)
