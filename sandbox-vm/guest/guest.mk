# Guest assets (DESIGN.md "Fixed interfaces"): build/guest/{vmlinux,bzImage,initramfs.cpio}.
# The kernel comes from the cache of sandbox-vm/guest/build-kernel (minutes to build, once per
# source version and config); the agent is a static binary so the initramfs needs no libc.

GUEST_DIR    := $(BUILD)/guest
AGENT_SRC    := $(sort $(wildcard sandbox-vm/guest/agent/*.c sandbox-vm/proto/*.c))
AGENT_HDR    := $(wildcard sandbox-vm/guest/agent/*.h sandbox-vm/proto/*.h)
AGENT_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Os -g0 $(WARN) -I. -static

.PHONY: guest guest-kernel guest-agent
guest: guest-kernel $(GUEST_DIR)/initramfs.cpio $(GUEST_DIR)/initramfs-busybox.cpio
guest-agent: $(GUEST_DIR)/hyrun-agent

# Always asks the script: it is the one that knows the cache key; a cache hit takes milliseconds.
guest-kernel:
	sandbox-vm/guest/build-kernel $(GUEST_DIR) >/dev/null

$(GUEST_DIR)/hyrun-agent: $(AGENT_SRC) $(AGENT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) -o $@ $(AGENT_SRC)

$(GUEST_DIR)/mkinitramfs: sandbox-vm/guest/mkinitramfs.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 $(WARN) -o $@ $<

$(GUEST_DIR)/initramfs.cpio: $(GUEST_DIR)/hyrun-agent $(GUEST_DIR)/mkinitramfs
	$(GUEST_DIR)/mkinitramfs -o $@ $(GUEST_DIR)/hyrun-agent

# The same plus busybox and its applets: guests without a shared root (tests, `hyrun vm run -- sh`).
$(GUEST_DIR)/initramfs-busybox.cpio: $(GUEST_DIR)/hyrun-agent $(GUEST_DIR)/mkinitramfs sandbox-vm/guest/mkinitramfs
	BUILD=$(abspath $(BUILD)) sandbox-vm/guest/mkinitramfs --busybox $@
