/* image import: OCI layout directories, OCI archives and docker-archives into the store.
 *
 * An archive is first spread into a private temp directory under the store, each regular member
 * stored under the sha256 of its cleaned path: member names never become file system paths, so a
 * hostile archive cannot place anything anywhere. The layout inside is then read like a directory. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "image/path.h"
#include "image/archive_lib.h"
#include "image/store.h"
#include "runtime/json.h"

struct source {
	const char *label; /* the PATH given, for messages */
	int dirfd;
	bool hashed;
};

/* Blobs this import added, removed again if the import fails. */
struct added {
	char (*v)[72];
	size_t n;
};

static int added_push(struct added *a, const char *digest)
{
	void *v = realloc(a->v, (a->n + 1) * sizeof(*a->v));
	if (!v)
		return -ENOMEM;
	a->v = v;
	memcpy(a->v[a->n++], digest, 72);
	return 0;
}

static int src_open(struct source *src, const char *rel, int *fd_out, struct hy_error *err)
{
	char clean[4096];
	if (image_path_clean(rel, clean, sizeof(clean)) || !clean[0])
		return hy_error_set(err, EINVAL, "%s: bad member name '%s'", src->label, rel);
	int fd;
	if (src->hashed) {
		char h[72];
		if (digest_of_buf(clean, strlen(clean), h))
			return crypto_lib_load(err);
		fd = openat(src->dirfd, h + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	} else {
		/* O_NONBLOCK: a FIFO planted in the layout must not hang the import. */
		struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		fd = (int)syscall(SYS_openat2, src->dirfd, clean, &how, sizeof(how));
	}
	if (fd < 0)
		return hy_error_errno(err, errno, "%s: %s", src->label, clean);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return hy_error_set(err, EINVAL, "%s: %s: not a regular file", src->label, clean);
	}
	*fd_out = fd;
	return 0;
}

static bool src_exists(struct source *src, const char *rel)
{
	struct hy_error e;
	int fd;
	if (src_open(src, rel, &fd, &e))
		return false;
	close(fd);
	return true;
}

static int read_all_fd(int fd, size_t max, char **buf, size_t *len, const char *what,
		       struct hy_error *err)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap + 1);
	if (!b)
		return hy_error_set(err, ENOMEM, "out of memory");
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				free(b);
				return hy_error_set(err, EFBIG, "%s: larger than %zu bytes", what,
						    max);
			}
			cap *= 2;
			char *nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				return hy_error_set(err, ENOMEM, "out of memory");
			}
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return hy_error_errno(err, errno, "%s: read", what);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(b);
		return hy_error_set(err, EFBIG, "%s: larger than %zu bytes", what, max);
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static int src_read(struct source *src, const char *rel, char **buf, size_t *len,
		    struct hy_error *err)
{
	int fd, rc = src_open(src, rel, &fd, err);
	if (rc)
		return rc;
	char what[4200];
	snprintf(what, sizeof(what), "%s: %s", src->label, rel);
	rc = read_all_fd(fd, IMAGE_JSON_MAX, buf, len, what, err);
	close(fd);
	return rc;
}

/* Reads blobs/sha256/<hex> of an OCI layout, checking digest and size. */
static int src_read_blob(struct source *src, const struct image_desc *d, char **buf, size_t *len,
			 struct hy_error *err)
{
	char rel[100];
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", d->digest + 7);
	if (d->size > IMAGE_JSON_MAX)
		return hy_error_set(err, EFBIG, "blob %s: %llu bytes is too large for JSON",
				    d->digest, (unsigned long long)d->size);
	int rc = src_read(src, rel, buf, len, err);
	if (rc)
		return rc;
	char got[72];
	if (digest_of_buf(*buf, *len, got))
		rc = crypto_lib_load(err);
	else if (*len != d->size)
		rc = hy_error_set(err, EINVAL,
				  "blob %s: size mismatch: announced %llu bytes, got %zu", d->digest,
				  (unsigned long long)d->size, *len);
	else if (strcmp(got, d->digest) != 0)
		rc = hy_error_set(err, EINVAL, "blob %s: digest mismatch: content is %s", d->digest,
				  got);
	if (rc)
		free(*buf);
	return rc;
}

static int copy_blob(struct image_store *s, struct source *src, const char *rel,
		     const char *digest, int64_t size, char *got, struct added *added,
		     struct hy_error *err)
{
	if (digest && store_has_blob(s, digest)) {
		/* Already stored (and verified when it was); the source must still agree. */
		int fd, rc = src_open(src, rel, &fd, err);
		if (rc)
			return rc;
		struct stat st;
		fstat(fd, &st);
		close(fd);
		if (size >= 0 && st.st_size != size)
			return hy_error_set(err, EINVAL,
					    "blob %s: size mismatch: announced %lld bytes, got %lld",
					    digest, (long long)size, (long long)st.st_size);
		if (got)
			memcpy(got, digest, 72);
		return 0;
	}
	int fd, rc = src_open(src, rel, &fd, err);
	if (rc)
		return rc;
	bool was_added = false;
	rc = store_put_fd(s, fd, digest, size, got, &was_added, err);
	close(fd);
	if (rc)
		return hy_error_prefix(err, "%s: %s", src->label, rel);
	if (was_added && added_push(added, got ? got : digest))
		return hy_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* --- platform selection --- */

static void default_platform(const char *want, char *os, char *arch, char *variant)
{
	snprintf(os, 100, "linux");
	snprintf(arch, 100, "amd64");
	variant[0] = '\0';
	if (!want)
		return;
	char buf[100];
	snprintf(buf, sizeof(buf), "%s", want);
	char *a = strchr(buf, '/');
	if (a)
		*a++ = '\0';
	char *v = a ? strchr(a, '/') : NULL;
	if (v)
		*v++ = '\0';
	snprintf(os, 100, "%s", buf);
	if (a)
		snprintf(arch, 100, "%s", a);
	if (v)
		snprintf(variant, 100, "%s", v);
}

static bool platform_matches(yajl_val plat, const char *want)
{
	if (!plat || !YAJL_IS_OBJECT(plat))
		return true; /* no platform given: take it */
	char os[100], arch[100], variant[100];
	default_platform(want, os, arch, variant);
	yajl_val o = json_get(plat, "os"), a = json_get(plat, "architecture"),
		 v = json_get(plat, "variant");
	if (o && YAJL_IS_STRING(o) && strcmp(o->u.string, os) != 0)
		return false;
	if (a && YAJL_IS_STRING(a) && strcmp(a->u.string, arch) != 0)
		return false;
	if (variant[0] && v && YAJL_IS_STRING(v) && strcmp(v->u.string, variant) != 0)
		return false;
	return true;
}

static bool is_index_type(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0);
}

/* The tag part of NAME:TAG (for matching a layout's ref.name). */
static const char *tag_of(const char *name)
{
	const char *c = name ? strrchr(name, ':') : NULL;
	return c && !strchr(c, '/') ? c + 1 : NULL;
}

/* Picks the manifest to import from an index (top level index.json or a nested index blob). */
static int pick_manifest(struct source *src, const char *buf, size_t len, const char *what,
			 const struct image_import_opts *o, int depth, struct image_desc *out,
			 char **ref_name, struct hy_error *err)
{
	if (depth > 4)
		return hy_error_set(err, ELOOP, "%s: indexes nested too deeply", what);
	yajl_val root;
	int rc = json_parse_buf(buf, len, what, &root, err);
	if (rc)
		return rc;
	yajl_val ms = json_get(root, "manifests");
	if (!ms || json_expect_array(ms, what, "manifests", err)) {
		rc = ms ? -err->code : hy_error_set(err, EINVAL, "%s: no manifests", what);
		goto out;
	}
	const char *want_tag = tag_of(o->name);
	yajl_val chosen = NULL;
	size_t named = 0;
	for (size_t i = 0; i < ms->u.array.len; i++) {
		yajl_val m = ms->u.array.values[i];
		if (!platform_matches(json_get(m, "platform"), o->platform))
			continue;
		yajl_val ann = json_get(m, "annotations");
		yajl_val rn = ann ? json_get(ann, ANNOT_REF_NAME) : NULL;
		if (rn && YAJL_IS_STRING(rn)) {
			named++;
			/* Several named images: the one whose ref matches --name's tag. */
			if (want_tag && (strcmp(rn->u.string, want_tag) == 0 ||
					 strcmp(rn->u.string, o->name) == 0)) {
				chosen = m;
				break;
			}
		}
		if (!chosen)
			chosen = m;
	}
	if (!chosen) {
		rc = hy_error_set(err, ENOENT, "%s: no manifest for platform %s", what,
				  o->platform ? o->platform : "linux/amd64");
		goto out;
	}
	(void)named;
	struct image_desc d;
	if ((rc = desc_parse(chosen, what, "manifests[]", &d, err)))
		goto out;
	yajl_val ann = json_get(chosen, "annotations");
	yajl_val rn = ann ? json_get(ann, ANNOT_REF_NAME) : NULL;
	if (rn && YAJL_IS_STRING(rn) && ref_name && !*ref_name)
		*ref_name = strdup(rn->u.string);
	if (is_index_type(d.media_type)) {
		char *ib;
		size_t il;
		rc = src_read_blob(src, &d, &ib, &il, err);
		if (!rc) {
			rc = pick_manifest(src, ib, il, d.digest, o, depth + 1, out, ref_name, err);
			free(ib);
		}
		free(d.media_type);
		goto out;
	}
	*out = d;
out:
	yajl_tree_free(root);
	return rc;
}

static int import_oci(struct image_store *s, struct source *src,
		      const struct image_import_opts *o, struct added *added, char digest_out[72],
		      uint64_t *size_out, char **ref_name, struct hy_error *err)
{
	char *buf;
	size_t len;
	int rc = src_read(src, "index.json", &buf, &len, err);
	if (rc)
		return rc;
	struct image_desc md = {0};
	char what[4200];
	snprintf(what, sizeof(what), "%s: index.json", src->label);
	rc = pick_manifest(src, buf, len, what, o, 0, &md, ref_name, err);
	free(buf);
	if (rc)
		return rc;
	char *mbuf = NULL;
	size_t mlen;
	struct image_manifest m = {0};
	rc = src_read_blob(src, &md, &mbuf, &mlen, err);
	if (!rc)
		rc = manifest_parse(mbuf, mlen, md.digest, &m, err);
	char rel[100];
	for (size_t i = 0; !rc && i <= m.n_layers; i++) {
		const struct image_desc *d = i == 0 ? &m.config : &m.layers[i - 1];
		snprintf(rel, sizeof(rel), "blobs/sha256/%s", d->digest + 7);
		rc = copy_blob(s, src, rel, d->digest, (int64_t)d->size, NULL, added, err);
	}
	if (!rc) {
		char got[72];
		bool was_added;
		rc = store_put_buf(s, mbuf, mlen, got, &was_added, err);
		if (!rc && was_added && added_push(added, got))
			rc = hy_error_set(err, ENOMEM, "out of memory");
		memcpy(digest_out, got, 72);
		*size_out = mlen;
	}
	manifest_free(&m);
	free(mbuf);
	free(md.media_type);
	return rc;
}

#define GS(g, str) yajl_gen_string((g), (const unsigned char *)(str), strlen(str))

static void gen_desc(yajl_gen g, const char *mt, const char *digest, uint64_t size)
{
	yajl_gen_map_open(g);
	GS(g, "mediaType");
	GS(g, mt);
	GS(g, "digest");
	GS(g, digest);
	GS(g, "size");
	yajl_gen_integer(g, (long long)size);
	yajl_gen_map_close(g);
}

static const char *layer_media_type(int fd)
{
	unsigned char m[4] = {0};
	if (pread(fd, m, 4, 0) == 4) {
		if (m[0] == 0x1f && m[1] == 0x8b)
			return MT_OCI_LAYER "+gzip";
		if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
			return MT_OCI_LAYER "+zstd";
	}
	return MT_OCI_LAYER;
}

/* docker save: manifest.json = [{"Config": "x.json", "RepoTags": [...], "Layers": [...]}]. */
static int import_docker(struct image_store *s, struct source *src,
			 const struct image_import_opts *o, struct added *added,
			 char digest_out[72], uint64_t *size_out, char **ref_name,
			 struct hy_error *err)
{
	char *buf, *cbuf = NULL;
	size_t len, clen;
	int rc = src_read(src, "manifest.json", &buf, &len, err);
	if (rc)
		return rc;
	char what[4200];
	snprintf(what, sizeof(what), "%s: manifest.json", src->label);
	yajl_val root, croot = NULL;
	rc = json_parse_buf(buf, len, what, &root, err);
	free(buf);
	if (rc)
		return rc;
	yajl_gen g = NULL;
	if (json_expect_array(root, what, "", err) || root->u.array.len == 0) {
		rc = root->u.array.len == 0 && YAJL_IS_ARRAY(root)
			     ? hy_error_set(err, EINVAL, "%s: no images", what)
			     : -err->code;
		goto out;
	}
	yajl_val entry = root->u.array.values[0];
	for (size_t i = 0; o->name && i < root->u.array.len; i++) {
		yajl_val tags = json_get(root->u.array.values[i], "RepoTags");
		for (size_t j = 0; tags && YAJL_IS_ARRAY(tags) && j < tags->u.array.len; j++) {
			yajl_val t = tags->u.array.values[j];
			if (YAJL_IS_STRING(t) && strcmp(t->u.string, o->name) == 0)
				entry = root->u.array.values[i];
		}
	}
	char *config = NULL;
	struct hy_strv layers = {0};
	if ((rc = json_get_string(entry, "Config", what, "[]", &config, err)) ||
	    (rc = json_get_strv(entry, "Layers", what, "[]", &layers, err)))
		goto out_strs;
	if (!config) {
		rc = hy_error_set(err, EINVAL, "%s: no Config", what);
		goto out_strs;
	}
	yajl_val tags = json_get(entry, "RepoTags");
	if (tags && YAJL_IS_ARRAY(tags) && tags->u.array.len &&
	    YAJL_IS_STRING(tags->u.array.values[0]) && !*ref_name)
		*ref_name = strdup(tags->u.array.values[0]->u.string);
	if ((rc = src_read(src, config, &cbuf, &clen, err)))
		goto out_strs;
	char cdigest[72];
	bool was_added;
	if ((rc = store_put_buf(s, cbuf, clen, cdigest, &was_added, err)))
		goto out_strs;
	if (was_added)
		added_push(added, cdigest);
	/* diff_ids are the uncompressed layer digests: they check uncompressed layer tars. */
	yajl_val diff_ids = NULL;
	if (!json_parse_buf(cbuf, clen, config, &croot, err)) {
		yajl_val rfs = json_get(croot, "rootfs");
		diff_ids = rfs ? json_get(rfs, "diff_ids") : NULL;
		if (diff_ids && !YAJL_IS_ARRAY(diff_ids))
			diff_ids = NULL;
	}
	hy_error_clear(err);
	g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	GS(g, "schemaVersion");
	yajl_gen_integer(g, 2);
	GS(g, "mediaType");
	GS(g, MT_OCI_MANIFEST);
	GS(g, "config");
	gen_desc(g, MT_OCI_CONFIG, cdigest, clen);
	GS(g, "layers");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < layers.n; i++) {
		int fd;
		if ((rc = src_open(src, layers.v[i], &fd, err)))
			goto out_strs;
		const char *mt = layer_media_type(fd);
		struct stat st;
		fstat(fd, &st);
		close(fd);
		const char *want = NULL;
		if (strcmp(mt, MT_OCI_LAYER) == 0 && diff_ids && i < diff_ids->u.array.len &&
		    YAJL_IS_STRING(diff_ids->u.array.values[i]))
			want = diff_ids->u.array.values[i]->u.string;
		char got[72];
		if ((rc = copy_blob(s, src, layers.v[i], want, want ? st.st_size : -1, got, added,
				    err)))
			goto out_strs;
		gen_desc(g, mt, got, (uint64_t)st.st_size);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	const unsigned char *mbuf;
	size_t mlen;
	yajl_gen_get_buf(g, &mbuf, &mlen);
	rc = store_put_buf(s, mbuf, mlen, digest_out, &was_added, err);
	if (!rc && was_added)
		added_push(added, digest_out);
	*size_out = mlen;
out_strs:
	free(config);
	free(cbuf);
	hy_strv_free(&layers);
out:
	if (g)
		yajl_gen_free(g);
	yajl_tree_free(croot);
	yajl_tree_free(root);
	return rc;
}

/* Spreads the regular members of a (possibly compressed) tar into dirfd, named by path hash. */
static int spread_archive(const char *path, int dirfd, const struct image_limits *lim,
			  struct hy_error *err)
{
	int rc = archive_lib_load(err);
	if (rc)
		return rc;
	struct archive *a = libarchive.read_new();
	if (!a)
		return hy_error_set(err, ENOMEM, "%s: out of memory", path);
	libarchive.read_support_format_tar(a);
	libarchive.read_support_filter_gzip(a);
	libarchive.read_support_filter_zstd(a);
	libarchive.read_support_filter_none(a);
	if (libarchive.read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		rc = hy_error_set(err, EINVAL, "%s: not a tar archive or directory: %s", path,
				  libarchive.error_string(a));
		libarchive.read_free(a);
		return rc;
	}
	uint64_t total = 0, max = lim->max_bytes ? lim->max_bytes : IMAGE_DEFAULT_MAX_BYTES;
	uint64_t entries = 0,
		 max_entries = lim->max_entries ? lim->max_entries : IMAGE_DEFAULT_MAX_ENTRIES;
	struct archive_entry *e;
	char *buf = malloc(IMAGE_IO_CHUNK);
	if (!buf) {
		libarchive.read_free(a);
		return hy_error_set(err, ENOMEM, "%s: out of memory", path);
	}
	for (;;) {
		int r = libarchive.read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = hy_error_set(err, EINVAL, "%s: %s", path, libarchive.error_string(a));
			break;
		}
		if (++entries > max_entries) {
			rc = hy_error_set(err, EFBIG, "%s: more than %llu entries", path,
					  (unsigned long long)max_entries);
			break;
		}
		char clean[4096];
		if (libarchive.entry_filetype(e) != AE_IFREG ||
		    image_path_clean(libarchive.entry_pathname(e), clean, sizeof(clean)) || !clean[0])
			continue;
		char h[72];
		if (digest_of_buf(clean, strlen(clean), h)) {
			rc = crypto_lib_load(err);
			break;
		}
		int fd = openat(dirfd, h + 7, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
				0600);
		if (fd < 0) {
			rc = hy_error_errno(err, errno, "%s: unpack %s", path, clean);
			break;
		}
		for (;;) {
			la_ssize_t n = libarchive.read_data(a, buf, IMAGE_IO_CHUNK);
			if (n < 0) {
				rc = hy_error_set(err, EINVAL, "%s: %s: %s", path, clean,
						  libarchive.error_string(a));
				break;
			}
			if (n == 0)
				break;
			total += (uint64_t)n;
			if (total > max) {
				rc = hy_error_set(err, EFBIG, "%s: more than %llu bytes", path,
						  (unsigned long long)max);
				break;
			}
			if (write(fd, buf, (size_t)n) != n) {
				rc = hy_error_errno(err, errno, "%s: unpack %s", path, clean);
				break;
			}
		}
		close(fd);
		if (rc)
			break;
	}
	free(buf);
	libarchive.read_free(a);
	return rc;
}

int image_import(const char *root, const char *path, const struct image_import_opts *o,
		 char **ref_out, struct hy_error *err)
{
	struct image_import_opts defopts = {0};
	if (!o)
		o = &defopts;
	char *want_name = NULL;
	if (o->name && !(want_name = store_normalize_name(o->name, err)))
		return -err->code;
	struct image_import_opts opts = *o;
	opts.name = want_name;
	struct stat st;
	if (stat(path, &st) < 0) {
		free(want_name);
		return hy_error_errno(err, errno, "import %s", path);
	}
	struct image_store s;
	int rc = store_open(root, true, &s, err);
	if (rc) {
		free(want_name);
		return rc;
	}
	struct source src = {.label = path, .dirfd = -1};
	char tmpname[64] = "";
	if (S_ISDIR(st.st_mode)) {
		src.dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (src.dirfd < 0)
			rc = hy_error_errno(err, errno, "import %s", path);
	} else {
		snprintf(tmpname, sizeof(tmpname), ".import-%d", getpid());
		image_rmtree_at(s.rootfd, tmpname);
		if (mkdirat(s.rootfd, tmpname, 0700) < 0)
			rc = hy_error_errno(err, errno, "image store %s: mkdir %s", s.root, tmpname);
		else {
			src.dirfd = openat(s.rootfd, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			src.hashed = true;
			rc = src.dirfd < 0 ? hy_error_errno(err, errno, "open %s", tmpname)
					   : spread_archive(path, src.dirfd, &opts.limits, err);
		}
	}
	struct added added = {0};
	char digest[72] = "";
	uint64_t msize = 0;
	char *ref_name = NULL;
	if (!rc) {
		if (src_exists(&src, "index.json"))
			rc = import_oci(&s, &src, &opts, &added, digest, &msize, &ref_name, err);
		else if (src_exists(&src, "manifest.json"))
			rc = import_docker(&s, &src, &opts, &added, digest, &msize, &ref_name, err);
		else
			rc = hy_error_set(err, EINVAL,
					  "%s: neither an OCI layout (index.json) nor a "
					  "docker-archive (manifest.json)",
					  path);
	}
	char *name = NULL;
	if (!rc) {
		if (want_name)
			name = strdup(want_name);
		else if (ref_name && !strchr(ref_name, ':') && !strchr(ref_name, '/')) {
			/* A layout's ref.name is often a bare tag: name the image after PATH. */
			const char *b = strrchr(path, '/');
			b = b && b[1] ? b + 1 : path;
			char base[256];
			snprintf(base, sizeof(base), "%s", b);
			char *dot = strchr(base, '.');
			if (dot && dot != base)
				*dot = '\0';
			if (asprintf(&name, "%s:%s", base, ref_name) < 0)
				name = NULL;
			char *n2 = name ? store_normalize_name(name, err) : NULL;
			free(name);
			name = n2;
		} else if (ref_name)
			name = store_normalize_name(ref_name, err);
		else
			rc = hy_error_set(err, EINVAL, "%s: the image has no name; give --name NAME:TAG",
					  path);
		if (!rc && !name)
			rc = -(err->code ? err->code : ENOMEM);
	}
	struct store_index idx = {0};
	bool replaced = false;
	if (!rc)
		rc = store_index_load(&s, &idx, err);
	for (size_t i = 0; !rc && i < idx.n; i++)
		if (strcmp(idx.refs[i].name, name) == 0 && strcmp(idx.refs[i].digest, digest) != 0)
			replaced = true;
	if (!rc)
		rc = store_index_set(&idx, name, digest, msize, MT_OCI_MANIFEST, err);
	if (!rc)
		rc = store_index_save(&s, &idx, err);
	/* The name moved to a new image: what only the old one used goes. */
	if (!rc && replaced && store_gc(&s, &idx, err))
		hy_error_clear(err);
	if (rc) {
		/* Nothing partial stays: drop what this import added. */
		for (size_t i = 0; i < added.n; i++)
			store_unlink_blob(&s, added.v[i]);
		hy_error_prefix(err, "import %s", path);
	} else if (ref_out) {
		if (asprintf(ref_out, "%s@%s", name, digest) < 0)
			*ref_out = NULL;
	}
	store_index_free(&idx);
	if (src.dirfd >= 0)
		close(src.dirfd);
	if (tmpname[0])
		image_rmtree_at(s.rootfd, tmpname);
	store_close(&s);
	free(added.v);
	free(ref_name);
	free(name);
	free(want_name);
	return rc;
}
