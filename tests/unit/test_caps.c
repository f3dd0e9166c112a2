/* process.capabilities: name validation errors name the set and index; `exec --cap` adds to
 * the sets; caps_apply really sets all five sets (read back from /proc/self/status in forked
 * children), also across a change to a non-root uid. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/security.h"
#include "unit.h"

static char *names_single[] = {"CAP_NET_BIND_SERVICE", NULL};

static struct hy_strv strv(char **v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return (struct hy_strv){.v = v, .n = n};
}

static void test_validate(void)
{
	char *good[] = {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE", NULL};
	char *bad[] = {"CAP_CHOWN", "CAP_NOT_A_CAP", NULL};
	char *lower[] = {"cap_chown", NULL};
	char *noprefix[] = {"CHOWN", NULL};
	struct hy_error err = {0};
	struct hy_capabilities c = {.bounding = strv(good), .effective = strv(good)};
	CHECK(caps_validate(&c, "process.capabilities", &err) == 0);
	CHECK(caps_validate(NULL, "process.capabilities", &err) == 0);

	c.permitted = strv(bad);
	CHECK(caps_validate(&c, "process.capabilities", &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg,
			   "process.capabilities.permitted[1]: unknown capability 'CAP_NOT_A_CAP'");
	c.permitted = (struct hy_strv){0};
	c.ambient = strv(lower);
	CHECK(caps_validate(&c, "process.capabilities", &err) < 0);
	CHECK_STR_CONTAINS(err.msg,
			   "process.capabilities.ambient[0]: unknown capability 'cap_chown'");
	c.ambient = (struct hy_strv){0};
	c.inheritable = strv(noprefix);
	CHECK(caps_validate(&c, "process.capabilities", &err) < 0);
	CHECK_STR_CONTAINS(err.msg,
			   "process.capabilities.inheritable[0]: unknown capability 'CHOWN'");
}

static void test_add_names(void)
{
	struct hy_capabilities c = {0};
	struct hy_error err = {0};
	const char *add[] = {"CAP_NET_ADMIN", "sys_ptrace", "CAP_NET_ADMIN"};
	CHECK(caps_add_names(&c, add, 3, &err) == 0);
	CHECK(c.bounding.n == 2 && c.effective.n == 2 && c.permitted.n == 2 &&
	      c.inheritable.n == 2 && c.ambient.n == 2);
	CHECK(c.ambient.n == 2 && !strcmp(c.ambient.v[1], "CAP_SYS_PTRACE"));
	CHECK(caps_validate(&c, "process.capabilities", &err) == 0);
	const char *bad[] = {"CAP_WHATEVER"};
	CHECK(caps_add_names(&c, bad, 1, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "--cap: unknown capability 'CAP_WHATEVER'");
	struct hy_strv *sets[] = {&c.bounding, &c.effective, &c.inheritable, &c.permitted,
				  &c.ambient};
	for (size_t i = 0; i < 5; i++) {
		for (size_t j = 0; j < sets[i]->n; j++)
			free(sets[i]->v[j]);
		free(sets[i]->v);
	}
}

/* The hex value of a "CapXxx:" line of /proc/self/status. */
static uint64_t status_caps(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t v = UINT64_MAX;
	size_t klen = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = strtoull(line + klen + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

#define BIT(n) (1ull << (n))
enum { C_CHOWN = 0, C_KILL = 5, C_NET_BIND = 10, C_NET_RAW = 13, C_SYS_ADMIN = 21 };

static int child_apply_as_root(void)
{
	char *bnd[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", NULL};
	char *eff[] = {"CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};
	char *prm[] = {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", NULL};
	char *inh[] = {"CAP_NET_BIND_SERVICE", NULL};
	/* CAP_KILL is ambient without being inheritable: the kernel cannot grant it; skipped. */
	char *amb[] = {"CAP_NET_BIND_SERVICE", "CAP_KILL", NULL};
	struct hy_capabilities c = {strv(bnd), strv(eff), strv(inh), strv(prm), strv(amb)};
	struct hy_error err = {0};
	if (caps_apply(&c, &err) < 0) {
		fprintf(stderr, "  caps_apply: %s\n", err.msg);
		return 1;
	}
	if (status_caps("CapBnd") !=
	    (BIT(C_CHOWN) | BIT(C_KILL) | BIT(C_NET_BIND) | BIT(C_NET_RAW)))
		return 2;
	if (status_caps("CapEff") != (BIT(C_KILL) | BIT(C_NET_BIND)))
		return 3;
	if (status_caps("CapPrm") != (BIT(C_KILL) | BIT(C_NET_BIND) | BIT(C_NET_RAW)))
		return 4;
	if (status_caps("CapInh") != BIT(C_NET_BIND))
		return 5;
	if (status_caps("CapAmb") != BIT(C_NET_BIND))
		return 6;
	return 0;
}

static int child_apply_after_setuid(void)
{
	struct hy_capabilities c = {strv(names_single), strv(names_single), strv(names_single),
				    strv(names_single), strv(names_single)};
	struct hy_error err = {0};
	if (caps_prepare_for_user_change(&err) < 0)
		return 1;
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		return 2;
	if (caps_apply(&c, &err) < 0) {
		fprintf(stderr, "  caps_apply: %s\n", err.msg);
		return 3;
	}
	if (status_caps("CapEff") != BIT(C_NET_BIND) || status_caps("CapAmb") != BIT(C_NET_BIND) ||
	    status_caps("CapBnd") != BIT(C_NET_BIND) || status_caps("CapPrm") != BIT(C_NET_BIND))
		return 4;
	/* Ambient survives execve for a non-root user: that is what makes it useful. */
	execl("/bin/sh", "sh", "-c",
	      "grep -q '^CapAmb:.*0000000000000400$' /proc/self/status && "
	      "grep -q '^CapEff:.*0000000000000400$' /proc/self/status",
	      (char *)NULL);
	return 5;
}

static int child_drop_all(void)
{
	struct hy_error err = {0};
	if (caps_apply(NULL, &err) < 0)
		return 1;
	return status_caps("CapEff") == 0 && status_caps("CapBnd") == 0 &&
		       status_caps("CapPrm") == 0 && status_caps("CapAmb") == 0
		   ? 0
		   : 2;
}

static int child_effective_not_permitted(void)
{
	char *eff[] = {"CAP_SYS_ADMIN", NULL};
	char *prm[] = {"CAP_CHOWN", NULL};
	struct hy_capabilities c = {
	    .bounding = strv(eff), .effective = strv(eff), .permitted = strv(prm)};
	struct hy_error err = {0};
	int rc = caps_apply(&c, &err);
	return rc < 0 && strstr(err.msg, "effective set has capabilities that are not in the "
					 "permitted set")
		   ? 0
		   : 1;
}

static int in_child(int (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
	test_validate();
	test_add_names();
	if (geteuid() == 0) {
		CHECK(in_child(child_apply_as_root) == 0);
		CHECK(in_child(child_apply_after_setuid) == 0);
		CHECK(in_child(child_drop_all) == 0);
		CHECK(in_child(child_effective_not_permitted) == 0);
	} else {
		printf("test_caps: not root, skipping caps_apply tests\n");
	}
	return UNIT_DONE();
}
