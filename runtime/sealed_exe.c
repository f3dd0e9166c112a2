/* CVE-2019-5736: while hyrun sets up a container, the container's processes can reach hyrun's
 * executable through /proc/<pid>/exe and, without this, overwrite the host binary. Commands
 * that enter a container therefore re-execute hyrun from a memfd copy sealed against any
 * change (F_SEAL_SEAL|SHRINK|GROW|WRITE), so the only binary reachable is an immutable
 * anonymous one. Other commands (state, list, kill, ...) skip this and cost nothing.
 * A binary on a read-only mount is left as it is: a write through /proc/<pid>/exe goes
 * through that mount and fails with EROFS, so the copy would protect nothing more and only
 * cost a second process start. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "runtime/security.h"

#define SEALED_ENV     "_HYRUN_SEALED_EXE"
#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* Commands whose processes end up inside a container. */
static bool command_enters_container(const char *cmd)
{
	static const char *const cmds[] = {"create", "run", "exec", "restore"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i]))
			return true;
	return false;
}

/* Global options of cli/main.c that take a separate value. */
static bool option_takes_value(const char *opt)
{
	static const char *const opts[] = {"--root",	  "--log",	  "--log-format",
					   "--isolation", "--image-root", "--cgroup-manager",
					   "--rootless"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strcmp(opt, opts[i]))
			return true;
	return false;
}

static const char *find_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!a)
			break;
		if (a[0] != '-')
			return a;
		if (!strcmp(a, "--"))
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (a[1] == '-' && !strchr(a, '=') && option_takes_value(a))
			i++;
	}
	return NULL;
}

static bool fd_is_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS;
}

/* The mount the running binary was opened through refuses writes (per-mount or whole-fs ro). */
static bool fd_on_readonly_mount(int fd)
{
	struct statvfs sv;
	return fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

bool security_running_sealed(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool sealed = fd_is_sealed(fd);
	close(fd);
	return sealed;
}

static bool running_unwritable(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool safe = fd_is_sealed(fd) || fd_on_readonly_mount(fd);
	close(fd);
	return safe;
}

/* The bytes exec needs: up to the end of the last segment. Debug info and section headers
 * after it are most of a -g build, and copying them would only slow every create down.
 * Returns 0 when the file is not a plain ELF64 we understand (then everything is copied). */
static off_t loaded_extent(int fd, off_t file_size)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		return 0;
	Elf64_Phdr ph[64];
	size_t len = eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_phoff > (uint64_t)file_size ||
	    pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len)
		return 0;
	uint64_t end = eh.e_phoff + len;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_offset > (uint64_t)file_size ||
		    ph[i].p_filesz > (uint64_t)file_size - ph[i].p_offset)
			return 0;
		if (ph[i].p_offset + ph[i].p_filesz > end)
			end = ph[i].p_offset + ph[i].p_filesz;
	}
	return (off_t)end;
}

/* The copy has no section headers any more: say so instead of pointing past its end. */
static int drop_section_headers(int fd)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
		return -1;
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = SHN_UNDEF;
	return pwrite(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) ? 0 : -1;
}

static int sealed_copy(struct hy_error *err)
{
	int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return hy_error_errno(err, errno, "sealed binary: opening /proc/self/exe");
	struct stat st;
	if (fstat(src, &st) < 0) {
		int e = errno;
		close(src);
		return hy_error_errno(err, e, "sealed binary: fstat /proc/self/exe");
	}
	/* Kernels since 6.3 want executable memfds declared; older ones reject the flag. */
	int fd = memfd_create("hyrun", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("hyrun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		int e = errno;
		close(src);
		if (e == EACCES || e == EPERM)
			return hy_error_errno(err, e,
					      "sealed binary: memfd_create (is the sysctl "
					      "vm.memfd_noexec forbidding executable memfds?)");
		return hy_error_errno(err, e, "sealed binary: memfd_create");
	}
	off_t size = loaded_extent(src, st.st_size);
	bool trimmed = size > 0 && size < st.st_size;
	if (!trimmed)
		size = st.st_size;
	off_t off = 0;
	while (off < size) {
		ssize_t n = sendfile(fd, src, &off, (size_t)(size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(src);
			close(fd);
			return hy_error_errno(err, e, "sealed binary: copying /proc/self/exe");
		}
	}
	close(src);
	if (trimmed && drop_section_headers(fd) < 0) {
		int e = errno;
		close(fd);
		return hy_error_errno(err, e, "sealed binary: writing the ELF header");
	}
	if (fcntl(fd, F_ADD_SEALS, REQUIRED_SEALS) < 0) {
		int e = errno;
		close(fd);
		return hy_error_errno(err, e, "sealed binary: sealing the copy");
	}
	return fd;
}

int security_ensure_sealed_self(int argc, char **argv, char **envp, struct hy_error *err)
{
	const char *cmd = find_command(argc, argv);
	if (!cmd || !command_enters_container(cmd))
		return 0;
	const char *mark = getenv(SEALED_ENV);
	if (running_unwritable()) {
		unsetenv(SEALED_ENV); /* keep it out of hooks' and containers' environments */
		return 0;
	}
	if (mark)
		/* We re-executed and still are not sealed: never loop, and never go on unsealed. */
		return hy_error_set(err, EPERM,
				    "sealed binary: re-executed from a sealed memfd but "
				    "/proc/self/exe is not sealed; refusing to run unprotected");
	int fd = sealed_copy(err);
	if (fd < 0)
		return fd;
	size_t n = 0;
	while (envp && envp[n])
		n++;
	char **env = calloc(n + 2, sizeof(char *));
	if (!env) {
		close(fd);
		return hy_error_set(err, ENOMEM, "sealed binary: out of memory");
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], SEALED_ENV "=", sizeof(SEALED_ENV)) != 0)
			env[j++] = envp[i];
	env[j++] = SEALED_ENV "=1";
	env[j] = NULL;
	fexecve(fd, argv, env);
	int e = errno;
	free(env);
	close(fd);
	return hy_error_errno(err, e, "sealed binary: re-executing from the sealed copy");
}
