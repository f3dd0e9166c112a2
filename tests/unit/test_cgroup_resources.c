/* linux.resources parsing (values, error messages with JSON paths), the v1->v2 conversions,
 * update's size strings, cgroup path validation and the state-path round trip. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup_internal.h"
#include "cgroups/resources.h"
#include "runtime/json.h"
#include "unit.h"

static struct hy_resources *parse(const char *json, struct hy_error *err)
{
	yajl_val v = NULL;
	struct hy_resources *res = NULL;
	if (json_parse_buf(json, strlen(json), "config.json", &v, err) < 0)
		return NULL;
	cgroup_resources_parse(v, "config.json", "linux.resources", &res, err);
	yajl_tree_free(v);
	return res;
}

static void test_full(void)
{
	struct hy_error err = {0};
	struct hy_resources *r = parse(
		"{\"memory\":{\"limit\":67108864,\"reservation\":-1,\"swap\":134217728,"
		"\"kernel\":1,\"kernelTCP\":2,\"swappiness\":60,\"disableOOMKiller\":true,"
		"\"useHierarchy\":true,\"checkBeforeUpdate\":false},"
		"\"cpu\":{\"shares\":512,\"quota\":-1,\"burst\":10,\"period\":100000,"
		"\"realtimeRuntime\":950,\"realtimePeriod\":1000,\"cpus\":\"0-1,3\",\"mems\":\"0\","
		"\"idle\":1},"
		"\"pids\":{\"limit\":42},"
		"\"blockIO\":{\"weight\":500,\"leafWeight\":300,\"weightDevice\":[{\"major\":8,"
		"\"minor\":0,\"weight\":700}],\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,"
		"\"rate\":1048576}],\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,"
		"\"rate\":300}]},"
		"\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
		"\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]},"
		"\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}},"
		"\"unified\":{\"memory.high\":\"1G\"},"
		"\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
		"\"major\":10,\"minor\":200,\"access\":\"rw\"}]}",
		&err);
	CHECK(r != NULL);
	if (!r) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	CHECK(r->has_memory && r->memory.has_limit && r->memory.limit == 67108864);
	CHECK(r->memory.has_reservation && r->memory.reservation == -1);
	CHECK(r->memory.swap == 134217728 && r->memory.kernel == 1 && r->memory.kernel_tcp == 2);
	CHECK(r->memory.has_swappiness && r->memory.swappiness == 60);
	CHECK(r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
	CHECK(r->memory.has_check_before_update && !r->memory.check_before_update);
	CHECK(r->has_cpu && r->cpu.shares == 512 && r->cpu.quota == -1 && r->cpu.burst == 10);
	CHECK(r->cpu.period == 100000 && r->cpu.realtime_runtime == 950 &&
	      r->cpu.realtime_period == 1000);
	CHECK(r->cpu.cpus && !strcmp(r->cpu.cpus, "0-1,3") && !strcmp(r->cpu.mems, "0"));
	CHECK(r->cpu.has_idle && r->cpu.idle == 1);
	CHECK(r->has_pids_limit && r->pids_limit == 42);
	CHECK(r->blkio.has_weight && r->blkio.weight == 500 && r->blkio.leaf_weight == 300);
	CHECK(r->blkio.n_weight_devices == 1 && r->blkio.weight_devices[0].weight == 700);
	CHECK(r->blkio.read_bps.n == 1 && r->blkio.read_bps.v[0].rate == 1048576);
	CHECK(r->blkio.write_iops.n == 1 && r->blkio.write_iops.v[0].minor == 16);
	CHECK(r->n_hugepage_limits == 1 && !strcmp(r->hugepage_limits[0].page_size, "2MB"));
	CHECK(r->has_class_id && r->class_id == 1048577);
	CHECK(r->n_net_priorities == 1 && !strcmp(r->net_priorities[0].name, "eth0"));
	CHECK(r->n_rdma == 1 && r->rdma[0].hca_handles == 3 && r->rdma[0].hca_objects == 10000);
	CHECK(r->n_unified == 1 && !strcmp(r->unified[0].key, "memory.high"));
	CHECK(r->has_devices && r->n_devices == 2 && !r->devices[0].allow &&
	      r->devices[0].type == 'a' && r->devices[0].major == -1);
	CHECK(r->devices[1].type == 'c' && r->devices[1].major == 10 &&
	      !strcmp(r->devices[1].access, "rw"));
	cgroup_resources_free(r);
}

static void expect_error(const char *json, const char *msg)
{
	struct hy_error err = {0};
	struct hy_resources *r = parse(json, &err);
	CHECK(r == NULL);
	CHECK_STR_CONTAINS(err.msg, msg);
	if (!strstr(err.msg, msg))
		fprintf(stderr, "  got: %s\n  want: %s\n", err.msg, msg);
	cgroup_resources_free(r);
}

static void test_errors(void)
{
	expect_error("{\"memory\":{\"limit\":\"1G\"}}",
		     "config.json: linux.resources.memory.limit: expected integer");
	expect_error("{\"memory\":{\"limit\":-2}}", "linux.resources.memory.limit: expected -1");
	expect_error("{\"memory\":{\"swappiness\":101}}",
		     "linux.resources.memory.swappiness: expected integer between 0 and 100");
	expect_error("{\"memory\":[]}", "linux.resources.memory: expected object");
	expect_error("{\"cpu\":{\"cpus\":\"0;reboot\"}}", "linux.resources.cpu.cpus: expected");
	expect_error("{\"cpu\":{\"period\":10}}", "linux.resources.cpu.period");
	expect_error("{\"cpu\":{\"idle\":2}}", "linux.resources.cpu.idle: expected 0 or 1");
	expect_error("{\"cpu\":{\"shares\":1e3}}", "linux.resources.cpu.shares");
	expect_error("{\"blockIO\":{\"weight\":5}}",
		     "linux.resources.blockIO.weight: expected integer between 10 and 1000");
	expect_error("{\"blockIO\":{\"weightDevice\":[{\"minor\":0,\"weight\":10}]}}",
		     "linux.resources.blockIO.weightDevice[0].major");
	expect_error("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}}",
		     "linux.resources.blockIO.throttleReadBpsDevice[0].rate");
	expect_error("{\"hugepageLimits\":[{\"pageSize\":\"2MB/../x\",\"limit\":1}]}",
		     "linux.resources.hugepageLimits[0].pageSize");
	expect_error("{\"network\":{\"priorities\":[{\"name\":\"eth0 1\\n\",\"priority\":1}]}}",
		     "linux.resources.network.priorities[0].name");
	expect_error("{\"rdma\":{\"a b\":{}}}", "linux.resources.rdma.a b: invalid RDMA device");
	expect_error("{\"unified\":{\"../memory.max\":\"1\"}}", "unified key '../memory.max'");
	expect_error("{\"unified\":{\"cgroup.procs\":\"1\"}}", "cgroup core file may not be set");
	expect_error("{\"unified\":{\"memory.max\":1}}",
		     "linux.resources.unified.memory.max: expected string");
	expect_error("{\"devices\":[{\"access\":\"rwm\"}]}",
		     "linux.resources.devices[0].allow: expected boolean");
	expect_error("{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}",
		     "linux.resources.devices[0].access");
	expect_error("{\"devices\":[{\"allow\":true,\"access\":\"rr\"}]}",
		     "linux.resources.devices[0].access");
	expect_error("{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}",
		     "linux.resources.devices[0].type");
	expect_error("{\"devices\":[{\"allow\":true,\"major\":-5}]}",
		     "linux.resources.devices[0].major");
	expect_error("[]", "linux.resources: expected object");

	/* update -r FILE: the top-level object has no path of its own */
	struct hy_error err = {0};
	yajl_val v = NULL;
	struct hy_resources *r = NULL;
	CHECK(json_parse_buf("{\"pids\":{\"limit\":true}}", 23, "res.json", &v, &err) == 0);
	CHECK(cgroup_resources_parse(v, "res.json", "", &r, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "res.json: pids.limit: expected integer");
	yajl_tree_free(v);
}

static void test_conversions(void)
{
	CHECK(cgroup_shares_to_weight(2) == 1);
	CHECK(cgroup_shares_to_weight(262144) == 10000);
	CHECK(cgroup_shares_to_weight(1024) == 39);
	CHECK(cgroup_shares_to_weight(0) == 0);
	CHECK(cgroup_shares_to_weight(1) == 1);
	CHECK(cgroup_shares_to_weight(1u << 30) == 10000);
	CHECK(cgroup_blkio_weight_to_io_weight(10) == 1);
	CHECK(cgroup_blkio_weight_to_io_weight(1000) == 10000);
	CHECK(cgroup_blkio_weight_to_io_weight(500) == 4950);
	CHECK(cgroup_blkio_weight_to_io_weight(100) == 910);

	struct hy_error err = {0};
	int64_t s = 0;
	CHECK(cgroup_memsw_to_swap_max(-1, 100, &s, &err) == 0 && s == -1);
	CHECK(cgroup_memsw_to_swap_max(300, 100, &s, &err) == 0 && s == 200);
	CHECK(cgroup_memsw_to_swap_max(100, 100, &s, &err) == 0 && s == 0);
	CHECK(cgroup_memsw_to_swap_max(50, 100, &s, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "must not be below memory.limit");
	CHECK(cgroup_memsw_to_swap_max(50, 0, &s, &err) < 0);
}

static void test_sizes(void)
{
	struct hy_error err = {0};
	int64_t v = 0;
	CHECK(cgroup_parse_size("1024", "--memory", &v, &err) == 0 && v == 1024);
	CHECK(cgroup_parse_size("512k", "--memory", &v, &err) == 0 && v == 524288);
	CHECK(cgroup_parse_size("64m", "--memory", &v, &err) == 0 && v == 64 << 20);
	CHECK(cgroup_parse_size("64MB", "--memory", &v, &err) == 0 && v == 64 << 20);
	CHECK(cgroup_parse_size("2g", "--memory", &v, &err) == 0 && v == 2LL << 30);
	CHECK(cgroup_parse_size("1GiB", "--memory", &v, &err) == 0 && v == 1LL << 30);
	CHECK(cgroup_parse_size("-1", "--memory", &v, &err) == 0 && v == -1);
	CHECK(cgroup_parse_size("12x", "--memory-swap", &v, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "--memory-swap: invalid size '12x'");
	CHECK(cgroup_parse_size("", "--memory", &v, &err) < 0);
	CHECK(cgroup_parse_size("-5", "--memory", &v, &err) < 0);
	CHECK(cgroup_parse_size("99999999999p", "--memory", &v, &err) < 0);
	CHECK(cgroup_parse_size("99999999999999999999", "--memory", &v, &err) < 0);
}

static void test_paths(void)
{
	struct hy_error err = {0};
	char *p = NULL;
	CHECK(cg_normalize_path("/a//b/./c/", &p, &err) == 0 && p && !strcmp(p, "/a/b/c"));
	free(p);
	p = NULL;
	CHECK(cg_normalize_path("rel/x", &p, &err) == 0 && p && !strcmp(p, "/rel/x"));
	free(p);
	p = NULL;
	CHECK(cg_normalize_path("/a/../../etc", &p, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "'..' is not allowed");
	CHECK(cg_normalize_path("..", &p, &err) < 0);
	CHECK(cg_normalize_path("/a/b\n/c", &p, &err) < 0);
	CHECK(cg_normalize_path("/", &p, &err) == 0 && p && !strcmp(p, ""));
	free(p);
	p = NULL;
	/* "..." is a legal name, not a parent reference */
	CHECK(cg_normalize_path("/.../x", &p, &err) == 0 && p && !strcmp(p, "/.../x"));
	free(p);
	p = NULL;

	CHECK(cg_systemd_path_build("system.slice:hyrun:abc", "abc", &p, &err) == 0 && p &&
	      !strcmp(p, "/system.slice/hyrun-abc.scope"));
	free(p);
	p = NULL;
	CHECK(cg_systemd_path_build("machine-pod-x.slice:crio:c1", "c1", &p, &err) == 0 && p &&
	      !strcmp(p, "/machine.slice/machine-pod.slice/machine-pod-x.slice/crio-c1.scope"));
	free(p);
	p = NULL;
	CHECK(cg_systemd_path_build(":hyrun:abc", "abc", &p, &err) == 0 && p &&
	      !strcmp(p, "/system.slice/hyrun-abc.scope"));
	free(p);
	p = NULL;
	CHECK(cg_systemd_path_build("user.slice::inner.slice", "x", &p, &err) == 0 && p &&
	      !strcmp(p, "/user.slice/inner.slice"));
	free(p);
	p = NULL;
	CHECK(cg_systemd_path_build("/abs/path", "x", &p, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "expected slice:prefix:name");
	CHECK(cg_systemd_path_build("notaslice:p:n", "x", &p, &err) < 0);
	CHECK(cg_systemd_path_build("a--b.slice:p:n", "x", &p, &err) < 0);
	CHECK(cg_systemd_path_build("system.slice:p:../../x", "x", &p, &err) < 0);
	/* without systemd (these machines), the error says so */
	if (access("/run/systemd/system", F_OK) != 0) {
		CHECK(cg_systemd_path("system.slice:hyrun:abc", "abc", &p, &err) < 0);
		CHECK_STR_CONTAINS(err.msg, "systemd is not running");
	}
}

static void test_state_path(void)
{
	struct hy_error err = {0};
	struct cg_hier h[2] = {
		{.key = "memory", .mount = "/sys/fs/cgroup/memory", .path = "/own/x;1%"},
		{.key = "cpu", .mount = "/sys/fs/cgroup/cpu", .path = "/x;1%"},
	};
	struct hy_cgroup cg = {.h = h, .n = 2};
	CHECK(cg_state_path_encode(&cg, &err) == 0);
	CHECK(cg.state_path && !strcmp(cg.state_path, "hier:memory=/own/x%3B1%25;cpu=/x%3B1%25"));
	struct cg_hier h2[2] = {
		{.key = "memory", .mount = "/m"},
		{.key = "cpu", .mount = "/c"},
	};
	struct hy_cgroup back = {.h = h2, .n = 2};
	CHECK(cg_state_path_decode(&back, cg.state_path, &err) == 0);
	CHECK(h2[0].path && !strcmp(h2[0].path, "/own/x;1%") && !strcmp(h2[0].dir, "/m/own/x;1%"));
	CHECK(h2[1].path && !strcmp(h2[1].path, "/x;1%"));
	/* A decoded path is validated again: a tampered state cannot escape the hierarchy. */
	CHECK(cg_state_path_decode(&back, "hier:memory=/../../etc", &err) < 0);
	CHECK(cg_state_path_decode(&back, "/a/../..", &err) < 0);
	for (int i = 0; i < 2; i++) {
		free(h2[i].path);
		free(h2[i].dir);
	}
	free(cg.state_path);

	h[1].path = "/own/x;1%";
	cg.state_path = NULL;
	CHECK(cg_state_path_encode(&cg, &err) == 0 && !strcmp(cg.state_path, "/own/x;1%"));
	free(cg.state_path);
}

int main(void)
{
	test_full();
	test_errors();
	test_conversions();
	test_sizes();
	test_paths();
	test_state_path();
	return UNIT_DONE();
}
