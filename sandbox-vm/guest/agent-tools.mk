# agent-client: host-side test client of the guest agent's OCI mode (tests/vmhost/agent-oci.bats),
# linked with the protocol codec so that the tests need no runtime.

AGENT_CLIENT := $(BUILD)/guest/agent-client

.PHONY: agent-tools
agent-tools: $(AGENT_CLIENT)

$(AGENT_CLIENT): sandbox-vm/guest/tools/agent-client.c sandbox-vm/proto/agent_proto.c sandbox-vm/proto/agent_proto.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) -I. -o $@ sandbox-vm/guest/tools/agent-client.c sandbox-vm/proto/agent_proto.c
