# runtime/seccomp_default.c embeds configs/seccomp-default.json with .incbin, which the
# compiler's dependency files cannot see: rebuild its objects when the profile changes.
$(BUILD)/obj/runtime/seccomp_default.o $(BUILD)/san/runtime/seccomp_default.o \
$(BUILD)/fuzzobj/runtime/seccomp_default.o: configs/seccomp-default.json
