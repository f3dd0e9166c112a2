/* mkinitramfs: writes a newc cpio (the initramfs format the kernel unpacks) holding the agent as
 * /init, /dev/console, the mount points the agent uses, and optional extra files and symlinks.
 *
 *   mkinitramfs -o OUT INIT [SRC=DEST]... [-l DEST=TARGET]...
 *
 * Written here rather than with cpio(1) so that the archive needs no staging directory, holds device
 * nodes without root privileges, and is byte-for-byte reproducible (fixed mtimes and inode numbers,
 * owner root). Parent directories of every DEST are created. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_DIRS 256

struct archive {
	FILE *out;
	const char *path;
	uint64_t offset;
	uint32_t ino;
	char *dirs[MAX_DIRS]; /* directories already written */
	size_t n_dirs;
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("mkinitramfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put(struct archive *a, const void *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, a->out) != len)
		die("write %s: %s", a->path, strerror(errno));
	a->offset += len;
}

static void pad4(struct archive *a)
{
	static const char zeros[4];
	put(a, zeros, (4 - a->offset % 4) % 4);
}

/* One entry: the 110-byte ASCII header, the name (NUL included) padded to 4, the data padded to 4. */
static void entry(struct archive *a, const char *name, uint32_t mode, uint32_t rdev_major,
		  uint32_t rdev_minor, const void *data, uint32_t size)
{
	char hdr[128];
	uint32_t namesize = (uint32_t)strlen(name) + 1;

	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++a->ino, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, size, 0u, 0u, rdev_major,
		 rdev_minor, namesize, 0u);
	put(a, hdr, 110);
	put(a, name, namesize);
	pad4(a);
	put(a, data, size);
	pad4(a);
}

/* Creates DIR and its parents (archive names have no leading slash). */
static void ensure_dir(struct archive *a, const char *dir)
{
	char buf[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return;
	for (size_t i = 0; i < a->n_dirs; i++)
		if (strcmp(a->dirs[i], dir) == 0)
			return;
	memcpy(buf, dir, len + 1);
	char *slash = strrchr(buf, '/');
	if (slash) {
		*slash = '\0';
		ensure_dir(a, buf);
	}
	if (a->n_dirs == MAX_DIRS)
		die("too many directories");
	a->dirs[a->n_dirs++] = strdup(dir);
	entry(a, dir, S_IFDIR | 0755, 0, 0, NULL, 0);
}

/* "/bin/sh" -> "bin/sh", parents created. */
static const char *archive_name(struct archive *a, const char *dest)
{
	while (*dest == '/')
		dest++;
	if (!*dest || strstr(dest, "..") || dest[strlen(dest) - 1] == '/')
		die("bad destination path '%s'", dest);
	char *copy = strdup(dest);
	char *slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		ensure_dir(a, copy);
	}
	free(copy);
	return dest;
}

static void add_file(struct archive *a, const char *src, const char *dest)
{
	struct stat st;
	int fd = open(src, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die("open %s: %s", src, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die("%s is not a regular file", src);
	if (st.st_size > UINT32_MAX)
		die("%s is too large for newc", src);
	char *buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf)
		die("out of memory");
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = read(fd, buf + done, st.st_size - done);
		if (n <= 0)
			die("read %s: %s", src, n < 0 ? strerror(errno) : "short read");
		done += n;
	}
	close(fd);
	entry(a, archive_name(a, dest), S_IFREG | (st.st_mode & 07777), 0, 0, buf,
	      (uint32_t)st.st_size);
	free(buf);
}

static void add_symlink(struct archive *a, const char *dest, const char *target)
{
	entry(a, archive_name(a, dest), S_IFLNK | 0777, 0, 0, target, (uint32_t)strlen(target));
}

/* Splits "A=B" in place; dies on a malformed argument. */
static char *split_pair(char *arg, const char *what)
{
	char *eq = strchr(arg, '=');
	if (!eq || eq == arg || !eq[1])
		die("expected %s, got '%s'", what, arg);
	*eq = '\0';
	return eq + 1;
}

static void usage(void)
{
	fputs("usage: mkinitramfs -o OUT INIT [SRC=DEST]... [-l DEST=TARGET]...\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const mount_points[] = {"dev", "proc", "sys", "tmp", "mnt", "mnt/root"};
	struct archive a = {0};
	char *links[4096];
	size_t n_links = 0;
	const char *out = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "+o:l:h")) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'l':
			if (n_links == sizeof(links) / sizeof(links[0]))
				die("too many links");
			links[n_links++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (!out || optind >= argc)
		usage();

	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid());
	a.path = tmp;
	a.out = fopen(tmp, "wbe");
	if (!a.out)
		die("create %s: %s", tmp, strerror(errno));

	for (size_t i = 0; i < sizeof(mount_points) / sizeof(mount_points[0]); i++)
		ensure_dir(&a, mount_points[i]);
	/* The kernel opens /dev/console for init's stdio before the agent mounts devtmpfs. */
	entry(&a, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0);
	add_file(&a, argv[optind], "init");
	for (int i = optind + 1; i < argc; i++) {
		char *dest = split_pair(argv[i], "SRC=DEST");
		add_file(&a, argv[i], dest);
	}
	for (size_t i = 0; i < n_links; i++) {
		char *target = split_pair(links[i], "DEST=TARGET");
		add_symlink(&a, links[i], target);
	}
	entry(&a, "TRAILER!!!", 0, 0, 0, NULL, 0);
	if (fflush(a.out) != 0 || fsync(fileno(a.out)) < 0 || fclose(a.out) != 0)
		die("write %s: %s", tmp, strerror(errno));
	if (rename(tmp, out) < 0)
		die("rename %s: %s", out, strerror(errno));
	return 0;
}
