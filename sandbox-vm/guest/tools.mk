# Small static test helpers for the guest (and the host side of the same tests), packed into test
# initramfs images with `sandbox-vm/guest/mkinitramfs --busybox OUT SRC=DEST`.
# vsock-echo: AF_VSOCK echo server/client in the guest, hyrun's Unix-socket side on the host.

GUEST_TOOLS := $(BUILD)/guest/vsock-echo

.PHONY: guest-tools
guest-tools: $(GUEST_TOOLS)

$(BUILD)/guest/vsock-echo: sandbox-vm/guest/tools/vsock-echo.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -Os -g0 $(WARN) -static -o $@ $<
