/* hy_config -> what a VM container's init boots (vm_host.h):
 *
 *   int vm_launch_prepare(cfg, state_dir, &launch, err);   VMM config + CREATE spec
 *   const struct vmm_config *vm_launch_vmm_config(&launch);
 *   void vm_launch_free(&launch);
 *
 * Sizing: vCPUs from org.hyrun.vm.vcpus, else ceil(cpu.quota / cpu.period), else 1; memory from
 * org.hyrun.vm.memory_mib, else memory.limit minus VM_VMM_OVERHEAD_MIB, else 256 MiB. The root is
 * the 9p share VM_ROOT_TAG, or the disk image of org.hyrun.vm.root_disk as vda (vm_disk.c);
 * each distinct bind-mount source directory is one more share ("hyrun0", ...); a file bind
 * shares its parent and the agent mounts "TAG/basename". Errors name the config field. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroups/resources.h"
#include "runtime/mounts.h"
#include "sandbox-vm/host/vm_host.h"
#include "sandbox-vm/host/vm_memory.h"
#include "sandbox-vm/vmm/vmm.h"

#define MIB	       (1024LL * 1024LL)
#define VM_CMDLINE_MAX 2048

struct vmm_config_owned {
	struct vmm_config cfg;
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];
	char cmdline[VM_CMDLINE_MAX];
	char *vsock_path, *log_path;
	char *control_path; /* <state_dir>/VM_CONTROL_NAME: the balloon's control socket */
	char *share_tag[VMM_MAX_SHARES];
	char *share_path[VMM_MAX_SHARES];
	bool share_all_ro[VMM_MAX_SHARES]; /* every bind of this directory is read-only */
	struct vm_root_disk root_disk;      /* fs NONE: the root is share 0 (VM_ROOT_TAG) */
	size_t first_bind_share;            /* 1 when share 0 is the root, else 0 */
};

const struct vmm_config *vm_launch_vmm_config(const struct vm_launch *l)
{
	return l->vmm ? &l->vmm->cfg : NULL;
}

/* vm_net.c's interfaces: one virtio-net each, and their hyrun.net= words put FIRST on the command
 * line, so that they come before the `--` a user's kernel_cmdline may hold. */
int vm_launch_add_nets(struct vm_launch *l, const struct vm_net *net, struct hy_error *err)
{
	struct vmm_config_owned *o = l->vmm;
	size_t n = vm_net_count(net);
	if (!o || n > VMM_MAX_NETS)
		return hy_error_set(err, EINVAL, "network: %zu interfaces for one VM", n);
	char words[VM_CMDLINE_MAX] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		struct vm_net_guest g;
		int w = vm_net_guest(net, i, &g);
		if (w == 0)
			w = vm_net_format_param(&g, words + len, sizeof(words) - len - 1);
		if (w < 0)
			return hy_error_set(err, -w, "network: interface %zu: hyrun.net parameter", i);
		len += (size_t)w;
		words[len++] = ' ';
		words[len] = 0;
		o->cfg.nets[i] = (struct vmm_net){.tap = vm_net_tap(net, i), .mtu = g.mtu};
		memcpy(o->cfg.nets[i].mac, g.mac, sizeof(g.mac));
	}
	size_t have = strlen(o->cmdline);
	if (len + have >= sizeof(o->cmdline))
		return hy_error_set(err, E2BIG, "network: the kernel command line is too long");
	memmove(o->cmdline + len, o->cmdline, have + 1);
	memcpy(o->cmdline, words, len);
	o->cfg.n_nets = n;
	return 0;
}

static void owned_free(struct vmm_config_owned *o)
{
	if (!o)
		return;
	free(o->vsock_path);
	free(o->log_path);
	free(o->control_path);
	for (size_t i = 0; i < VMM_MAX_SHARES; i++) {
		free(o->share_tag[i]);
		free(o->share_path[i]);
	}
	free(o);
}

void vm_launch_free(struct vm_launch *l)
{
	owned_free(l->vmm);
	l->vmm = NULL;
	agent_process_free(&l->spec);
}

static int oom(struct hy_error *err)
{
	return hy_error_set(err, ENOMEM, "out of memory");
}

static int strv_push(struct agent_strv *s, const char *v, struct hy_error *err)
{
	char **nv = realloc(s->v, (s->n + 2) * sizeof(*nv));
	if (!nv)
		return oom(err);
	s->v = nv;
	if (!(nv[s->n] = strdup(v)))
		return oom(err);
	nv[++s->n] = NULL;
	return 0;
}

static int size_vcpus(const struct hy_config *cfg, unsigned *out, struct hy_error *err)
{
	const struct hy_resources *r = cfg->has_linux ? cfg->linux_.resources : NULL;
	*out = 1;
	if (cfg->vm.vcpus) {
		*out = cfg->vm.vcpus;
	} else if (r && r->has_cpu && r->cpu.has_quota && r->cpu.quota > 0 && r->cpu.has_period &&
		   r->cpu.period > 0) {
		uint64_t q = (uint64_t)r->cpu.quota, p = r->cpu.period;
		uint64_t n = q / p + (q % p != 0);
		if (n > 64)
			return hy_error_set(
			    err, EINVAL,
			    "linux.resources.cpu: quota/period asks for %llu vCPUs; a VM "
			    "has at most 64 (set org.hyrun.vm.vcpus)",
			    (unsigned long long)n);
		*out = (unsigned)n;
	}
	if (*out > 64)
		return hy_error_set(err, EINVAL,
				    "annotations.org.hyrun.vm.vcpus: %u: a VM has at most 64 vCPUs",
				    *out);
	return 0;
}

static int size_memory(const struct hy_config *cfg, uint64_t *out, struct hy_error *err)
{
	const struct hy_resources *r = cfg->has_linux ? cfg->linux_.resources : NULL;
	*out = VM_DEFAULT_MEMORY_MIB;
	if (cfg->vm.memory_mib) {
		*out = cfg->vm.memory_mib;
		if (*out < VM_MIN_GUEST_MIB)
			return hy_error_set(
			    err, EINVAL,
			    "annotations.org.hyrun.vm.memory_mib: %llu: a guest needs at "
			    "least %d MiB",
			    (unsigned long long)*out, VM_MIN_GUEST_MIB);
		return 0;
	}
	if (r && r->has_memory && r->memory.has_limit && r->memory.limit > 0) {
		int64_t mib = r->memory.limit / MIB - VM_VMM_OVERHEAD_MIB;
		if (mib < VM_MIN_GUEST_MIB)
			return hy_error_set(
			    err, EINVAL,
			    "linux.resources.memory.limit: %lld bytes leave less than "
			    "%d MiB for the guest after the VMM's own %d MiB (raise it or "
			    "set org.hyrun.vm.memory_mib)",
			    (long long)r->memory.limit, VM_MIN_GUEST_MIB, VM_VMM_OVERHEAD_MIB);
		*out = (uint64_t)mib;
	}
	return 0;
}

static int find_kernel(const struct hy_config *cfg, struct vmm_config_owned *o,
		       struct hy_error *err)
{
	if (cfg->vm.kernel) {
		if (access(cfg->vm.kernel, R_OK) < 0)
			return hy_error_errno(err, errno, "annotations.org.hyrun.vm.kernel: %s",
					      cfg->vm.kernel);
		if (snprintf(o->kernel, sizeof(o->kernel), "%s", cfg->vm.kernel) >=
		    (int)sizeof(o->kernel))
			return hy_error_set(err, ENAMETOOLONG,
					    "annotations.org.hyrun.vm.kernel: path too long");
	} else {
		static const char *const kernels[] = {"vmlinux", "bzImage", NULL};
		if (!vm_find_asset(kernels, o->kernel, sizeof(o->kernel)))
			return hy_error_set(
			    err, ENOENT,
			    "isolation vm: no guest kernel found (looked in "
			    "$HYRUN_GUEST_DIR, guest/ next to hyrun and %s/lib/hyrun); "
			    "set annotations.org.hyrun.vm.kernel or run make guest",
			    HYRUN_PREFIX);
	}
	static const char *const initrds[] = {"initramfs.cpio", NULL};
	if (!vm_find_asset(initrds, o->initrd, sizeof(o->initrd)))
		return hy_error_set(err, ENOENT,
				    "isolation vm: no guest initramfs.cpio (the agent) found in "
				    "$HYRUN_GUEST_DIR, guest/ next to hyrun or %s/lib/hyrun",
				    HYRUN_PREFIX);
	o->cfg.kernel = o->kernel;
	o->cfg.initrd = o->initrd;
	return 0;
}

static int build_cmdline(const struct hy_config *cfg, struct vmm_config_owned *o,
			 struct hy_error *err)
{
	const char *user = cfg->vm.kernel_cmdline;
	const struct vm_root_disk *d = &o->root_disk;
	/* The root disk is always the first one, vda. */
	int n = d->fs != VM_ROOT_FS_NONE
		    ? snprintf(o->cmdline, sizeof(o->cmdline),
			       "quiet hyrun.oci=1 hyrun.root=/dev/vda hyrun.rootfstype=%s%s%s%s",
			       vm_root_fs_name(d->fs), cfg->root_readonly ? " hyrun.root_ro=1" : "",
			       user && *user ? " " : "", user ? user : "")
		    : snprintf(o->cmdline, sizeof(o->cmdline),
			       "quiet hyrun.oci=1 hyrun.share=%s%s%s%s", VM_ROOT_TAG,
			       cfg->root_readonly ? " hyrun.share_ro=1" : "",
			       user && *user ? " " : "", user ? user : "");
	if (n < 0 || (size_t)n >= sizeof(o->cmdline))
		return hy_error_set(err, E2BIG,
				    "annotations.org.hyrun.vm.kernel_cmdline: too long");
	if (user && strpbrk(user, "\n\r"))
		return hy_error_set(
		    err, EINVAL,
		    "annotations.org.hyrun.vm.kernel_cmdline: newlines are not allowed");
	o->cfg.cmdline = o->cmdline;
	return 0;
}

static int state_paths(const char *state_dir, struct vmm_config_owned *o, struct hy_error *err)
{
	if (asprintf(&o->vsock_path, "%s/%s", state_dir, VM_SOCKET_NAME) < 0) {
		o->vsock_path = NULL;
		return oom(err);
	}
	if (asprintf(&o->log_path, "%s/%s", state_dir, VM_LOG_NAME) < 0) {
		o->log_path = NULL;
		return oom(err);
	}
	if (strlen(o->vsock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return hy_error_set(err, ENAMETOOLONG,
				    "%s: too long for a Unix socket (use a shorter --root or id)",
				    o->vsock_path);
	o->cfg.vsock_path = o->vsock_path;
	o->cfg.serial_path = o->log_path;
	o->cfg.guest_cid = 3;
	/* The balloon lets `update --memory` take memory from a running guest (vm_memory.c). */
	if (asprintf(&o->control_path, "%s/%s", state_dir, VM_CONTROL_NAME) < 0) {
		o->control_path = NULL;
		return oom(err);
	}
	if (strlen(o->control_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return hy_error_set(err, ENAMETOOLONG,
				    "%s: too long for a Unix socket (use a shorter --root or id)",
				    o->control_path);
	o->cfg.control_socket = o->control_path;
	o->cfg.balloon = true;
	return 0;
}

static int add_share(struct vmm_config_owned *o, const char *tag, const char *path, bool ro,
		     struct hy_error *err)
{
	size_t i = o->cfg.n_shares;
	if (!(o->share_tag[i] = strdup(tag)) || !(o->share_path[i] = strdup(path)))
		return oom(err);
	o->share_all_ro[i] = ro;
	o->cfg.shares[i] =
	    (struct vmm_share){.tag = o->share_tag[i], .path = o->share_path[i], .readonly = ro};
	o->cfg.n_shares++;
	return 0;
}

/* The root: the disk of org.hyrun.vm.root_disk as vda (vm_disk.c), else root.path as the 9p
 * share VM_ROOT_TAG. */
static int add_root(const struct hy_config *cfg, struct vmm_config_owned *o, struct hy_error *err)
{
	const struct vm_root_disk *d = &o->root_disk;
	if (d->fs == VM_ROOT_FS_NONE) {
		o->first_bind_share = 1;
		return add_share(o, VM_ROOT_TAG, cfg->root_path, cfg->root_readonly, err);
	}
	/* Added before any other disk: the guest names it vda. */
	o->cfg.disks[o->cfg.n_disks++] =
	    (struct vmm_disk){.path = d->path, .readonly = d->readonly, .serial = "hyrun-root"};
	return 0;
}

/* The share for a bind-mount source: one per directory. *tag_out points into o. */
static int share_for_bind(struct vmm_config_owned *o, size_t index, const char *dir, bool ro,
			  const char **tag_out, struct hy_error *err)
{
	for (size_t i = o->first_bind_share; i < o->cfg.n_shares; i++)
		if (!strcmp(o->share_path[i], dir)) {
			o->share_all_ro[i] = o->share_all_ro[i] && ro;
			o->cfg.shares[i].readonly = o->share_all_ro[i];
			*tag_out = o->share_tag[i];
			return 0;
		}
	if (o->cfg.n_shares == VMM_MAX_SHARES)
		return hy_error_set(
		    err, E2BIG,
		    "mounts[%zu]: more than %d distinct bind-mount source directories "
		    "(a VM shares at most %d directories, the root included)",
		    index, VMM_MAX_SHARES - (int)o->first_bind_share, VMM_MAX_SHARES);
	char tag[16];
	snprintf(tag, sizeof(tag), "hyrun%zu", o->cfg.n_shares - o->first_bind_share);
	int rc = add_share(o, tag, dir, ro, err);
	if (rc == 0)
		*tag_out = o->share_tag[o->cfg.n_shares - 1];
	return rc;
}

static bool passthrough_type(const char *t)
{
	static const char *const ok[] = {"proc",   "sysfs",  "tmpfs",	"devpts",
					 "mqueue", "cgroup", "cgroup2", NULL};
	for (size_t i = 0; ok[i]; i++)
		if (!strcmp(t, ok[i]))
			return true;
	return false;
}

static int dup_or_null(char **dst, const char *src, struct hy_error *err)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return oom(err);
	return 0;
}

/* A bind mount: its source directory becomes a share; the agent mounts TAG or TAG/basename. */
static int bind_mount(const struct hy_config *cfg, size_t i, const struct mount_opts *mo,
		      struct vmm_config_owned *o, struct agent_mount *am, struct hy_error *err)
{
	const struct hy_mount *m = &cfg->mounts[i];
	if (!m->source || !*m->source)
		return hy_error_set(err, EINVAL, "mounts[%zu].source: a bind mount needs a source",
				    i);
	char path[PATH_MAX];
	int n = m->source[0] == '/' || !cfg->bundle
		    ? snprintf(path, sizeof(path), "%s", m->source)
		    : snprintf(path, sizeof(path), "%s/%s", cfg->bundle, m->source);
	if (n < 0 || (size_t)n >= sizeof(path))
		return hy_error_set(err, ENAMETOOLONG, "mounts[%zu].source: path too long", i);
	struct stat st;
	if (stat(path, &st) < 0)
		return hy_error_errno(err, errno, "mounts[%zu].source: %s", i, path);
	bool ro = mo->flags & MS_RDONLY;
	const char *tag;
	char *base = NULL;
	int rc;
	if (S_ISDIR(st.st_mode)) {
		rc = share_for_bind(o, i, path, ro, &tag, err);
	} else {
		char *slash = strrchr(path, '/');
		if (!slash || !slash[1])
			return hy_error_set(err, EINVAL, "mounts[%zu].source: %s: no file name", i,
					    path);
		base = slash + 1;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		rc = share_for_bind(o, i, dir, ro, &tag, err);
	}
	if (rc < 0)
		return rc;
	if (!(am->type = strdup("9p")))
		return oom(err);
	if (asprintf(&am->source, "%s%s%s", tag, base ? "/" : "", base ? base : "") < 0) {
		am->source = NULL;
		return oom(err);
	}
	/* The bind's own flags (ro, nosuid, ...) say how the agent mounts it in the guest. */
	am->flags = mo->flags | MS_BIND | (mo->rbind ? MS_REC : 0);
	return 0;
}

static int add_mounts(const struct hy_config *cfg, struct vmm_config_owned *o,
		      struct agent_process *spec, struct hy_error *err)
{
	if (!cfg->n_mounts)
		return 0;
	spec->mounts = calloc(cfg->n_mounts, sizeof(*spec->mounts));
	if (!spec->mounts)
		return oom(err);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct hy_mount *m = &cfg->mounts[i];
		struct mount_opts mo;
		int rc = mount_opts_parse(&m->options, i, &mo, err);
		if (rc < 0)
			return rc;
		struct agent_mount *am = &spec->mounts[spec->n_mounts++];
		bool bind = mo.bind || (m->type && !strcmp(m->type, "bind"));
		if (mo.idmap || mo.ridmap || m->n_uid_mappings || m->n_gid_mappings)
			rc = hy_error_set(err, ENOTSUP,
					  "mounts[%zu]: idmapped mounts are not supported with "
					  "isolation vm",
					  i);
		else if (bind)
			rc = bind_mount(cfg, i, &mo, o, am, err);
		else if (!m->type)
			rc = hy_error_set(err, EINVAL,
					  "mounts[%zu].type: required (not a bind mount)", i);
		else if (!passthrough_type(m->type))
			rc = hy_error_set(
			    err, ENOTSUP,
			    "mounts[%zu].type: \"%s\" is not supported with isolation vm "
			    "(bind, proc, sysfs, tmpfs, devpts, mqueue and cgroup are)",
			    i, m->type);
		else if ((rc = dup_or_null(&am->type, m->type, err)) == 0 &&
			 (rc = dup_or_null(&am->source, m->source ? m->source : m->type, err)) ==
			     0 &&
			 (rc = dup_or_null(&am->data, mo.data, err)) == 0)
			am->flags = mo.flags;
		if (rc == 0)
			rc = dup_or_null(&am->dest, m->destination, err);
		mount_opts_free(&mo);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_container_parts(const struct hy_config *cfg, struct agent_process *spec,
			       struct hy_error *err)
{
	int rc;
	if ((rc = dup_or_null(&spec->hostname, cfg->hostname, err)) < 0 ||
	    (rc = dup_or_null(&spec->domainname, cfg->domainname, err)) < 0)
		return rc;
	spec->root_readonly = cfg->root_readonly;
	if (!cfg->has_linux)
		return 0;
	const struct hy_linux *lnx = &cfg->linux_;
	for (size_t i = 0; i < lnx->masked_paths.n; i++)
		if ((rc = strv_push(&spec->masked, lnx->masked_paths.v[i], err)) < 0)
			return rc;
	for (size_t i = 0; i < lnx->readonly_paths.n; i++)
		if ((rc = strv_push(&spec->readonly, lnx->readonly_paths.v[i], err)) < 0)
			return rc;
	for (size_t i = 0; i < lnx->n_sysctl; i++) {
		char *kv;
		if (asprintf(&kv, "%s=%s", lnx->sysctl[i].key, lnx->sysctl[i].value) < 0)
			return oom(err);
		rc = strv_push(&spec->sysctls, kv, err);
		free(kv);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vm_launch_prepare(const struct hy_config *cfg, const char *state_dir, struct vm_launch *out,
		      struct hy_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!cfg->process || !cfg->process->args.n)
		return hy_error_set(err, EINVAL, "process.args: required to create a container");
	if (!cfg->root_path)
		return hy_error_set(err, EINVAL, "root.path: required for isolation vm");
	struct vmm_config_owned *o = calloc(1, sizeof(*o));
	if (!o)
		return oom(err);
	out->vmm = o;
	int rc;
	if ((rc = size_vcpus(cfg, &o->cfg.vcpus, err)) < 0 ||
	    (rc = size_memory(cfg, &o->cfg.memory_mib, err)) < 0 ||
	    (rc = find_kernel(cfg, o, err)) < 0 ||
	    (rc = vm_root_disk_resolve(cfg, &o->root_disk, err)) < 0 ||
	    (rc = build_cmdline(cfg, o, err)) < 0 || (rc = state_paths(state_dir, o, err)) < 0 ||
	    (rc = add_root(cfg, o, err)) < 0 ||
	    (rc = vm_process_spec(cfg, cfg->process, &out->spec, err)) < 0 ||
	    (rc = add_mounts(cfg, o, &out->spec, err)) < 0 ||
	    (rc = add_container_parts(cfg, &out->spec, err)) < 0) {
		vm_launch_free(out);
		return rc;
	}
	return 0;
}
