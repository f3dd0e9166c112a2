/* mounts[].options: flags, their negations, propagation, recursive attributes, filesystem data,
 * and refusals; process helpers: executable lookup in the container PATH and the environment. */
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include "runtime/mounts.h"
#include "runtime/process.h"
#include "unit.h"

static struct hy_strv strv(char **v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return (struct hy_strv){.v = v, .n = n};
}

static void test_flags(void)
{
	char *o[] = {"nosuid", "nodev", "noexec", "ro", "strictatime", "size=1m", "mode=700", NULL};
	struct hy_strv v = strv(o);
	struct mount_opts m;
	struct hy_error err = {0};
	CHECK(mount_opts_parse(&v, 0, &m, &err) == 0);
	CHECK(m.flags == (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY | MS_STRICTATIME));
	CHECK(m.data && !strcmp(m.data, "size=1m,mode=700"));
	CHECK(!m.bind && !m.rbind && m.n_propagation == 0);
	mount_opts_free(&m);
}

static void test_negation_and_bind(void)
{
	char *o[] = {"ro", "rw", "nosuid", "suid", "rbind", "rprivate", "shared", NULL};
	struct hy_strv v = strv(o);
	struct mount_opts m;
	struct hy_error err = {0};
	CHECK(mount_opts_parse(&v, 3, &m, &err) == 0);
	CHECK(m.flags == 0);
	CHECK((m.clear & (MS_RDONLY | MS_NOSUID)) == (MS_RDONLY | MS_NOSUID));
	CHECK(m.bind && m.rbind);
	CHECK(m.n_propagation == 2);
	CHECK(m.propagation[0] == (MS_PRIVATE | MS_REC) && m.propagation[1] == MS_SHARED);
	CHECK(m.data == NULL);
	mount_opts_free(&m);
}

static void test_recursive_and_refused(void)
{
	char *o[] = {"rro", "rnosuid", "tmpcopyup", NULL};
	struct hy_strv v = strv(o);
	struct mount_opts m;
	struct hy_error err = {0};
	CHECK(mount_opts_parse(&v, 0, &m, &err) == 0);
	CHECK(m.attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
	CHECK(m.data == NULL); /* tmpcopyup is accepted and ignored, not passed to the fs */
	mount_opts_free(&m);

	/* idmap/ridmap mark an idmapped bind mount (made with the mount's user namespace). */
	char *idm[] = {"bind", "idmap", NULL};
	v = strv(idm);
	CHECK(mount_opts_parse(&v, 5, &m, &err) == 0);
	CHECK(m.idmap && !m.ridmap && m.data == NULL);
	mount_opts_free(&m);
	char *ridm[] = {"rbind", "ridmap", NULL};
	v = strv(ridm);
	CHECK(mount_opts_parse(&v, 5, &m, &err) == 0);
	CHECK(m.idmap && m.ridmap && m.rbind);
	mount_opts_free(&m);

	CHECK(mount_propagation_flag("rslave") == (MS_SLAVE | MS_REC));
	CHECK(mount_propagation_flag("bogus") == 0);
}

static void test_find_executable(void)
{
	char out[256];
	struct hy_error err = {0};
	char *env[] = {"PATH=/nonexistent:/bin:/usr/bin", NULL};
	CHECK(process_find_executable("sh", env, out, sizeof(out), &err) == 0);
	CHECK(!strcmp(out, "/bin/sh"));
	CHECK(process_find_executable("no-such-cmd-xyz", env, out, sizeof(out), &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "executable file not found in $PATH");
	CHECK(process_find_executable("/no/such", env, out, sizeof(out), &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "/no/such");
	CHECK(process_find_executable("", env, out, sizeof(out), &err) < 0);
}

static void test_env(void)
{
	char *e[] = {"PATH=/bin", "HOME=/home/x", "LISTEN_FDS=9", NULL};
	struct hy_process p = {.env = strv(e)};
	char **owned = NULL;
	struct hy_error err = {0};
	char **envp = process_build_env(&p, 2, 1, &owned, &err);
	CHECK(envp != NULL);
	size_t n = 0;
	bool fds = false, pid = false, home = false, old = false;
	for (; envp && envp[n]; n++) {
		fds |= !strcmp(envp[n], "LISTEN_FDS=2");
		pid |= !strcmp(envp[n], "LISTEN_PID=1");
		home |= !strcmp(envp[n], "HOME=/home/x");
		old |= !strcmp(envp[n], "LISTEN_FDS=9");
	}
	CHECK(n == 4 && fds && pid && home && !old);
	process_env_free(envp, owned);
}

int main(void)
{
	test_flags();
	test_negation_and_bind();
	test_recursive_and_refused();
	test_find_executable();
	test_env();
	return UNIT_DONE();
}
