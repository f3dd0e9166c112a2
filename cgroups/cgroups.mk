# cgroup tests on the layouts the build machines do not have (they are hybrid): pure cgroup v2 and
# pure v1 (with cpu,cpuacct co-mounted), each in the KVM test host (tests/vmhost/run) booted with
# that layout. Runs the live library test and the bats suite meant for the layout.
.PHONY: cgroups-layouts-check
cgroups-layouts-check: all $(BUILD)/unit/test_cgroup_live
	VMHOST_CGROUP=v2 tests/vmhost/run sh -c '$(BUILD)/unit/test_cgroup_live && \
		HYRUN=$(abspath $(BUILD)/hyrun) bats --print-output-on-failure tests/bats/cgroups-v2.bats'
	VMHOST_CGROUP=v1 tests/vmhost/run sh -c '$(BUILD)/unit/test_cgroup_live && \
		HYRUN=$(abspath $(BUILD)/hyrun) bats --print-output-on-failure tests/bats/cgroups.bats'
CHECK_TARGETS += cgroups-layouts-check
