/* image ls, inspect, rm and export. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "image/archive_lib.h"
#include "image/store.h"
#include "runtime/json.h"

#define GS(g, s) yajl_gen_string((g), (const unsigned char *)(s), strlen(s))

void image_info_free(struct image_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].digest);
		free(v[i].created);
		free(v[i].platform);
	}
	free(v);
}

static char *json_str(yajl_val obj, const char *key)
{
	yajl_val v = obj ? json_get(obj, key) : NULL;
	return v && YAJL_IS_STRING(v) ? strdup(v->u.string) : NULL;
}

int image_list(const char *root, struct image_info **out, size_t *n, struct hy_error *err)
{
	struct image_store s;
	int rc = store_open(root, false, &s, err);
	if (rc)
		return rc;
	struct store_index idx;
	if ((rc = store_index_load(&s, &idx, err))) {
		store_close(&s);
		return rc;
	}
	struct image_info *v = calloc(idx.n + 1, sizeof(*v));
	if (!v) {
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < idx.n; i++) {
		v[i].name = strdup(idx.refs[i].name);
		v[i].digest = strdup(idx.refs[i].digest);
		v[i].size = idx.refs[i].size;
		struct image_manifest m;
		char *buf;
		size_t len;
		struct hy_error e;
		/* A broken image is still listed, so that it can be removed. */
		if (store_load_manifest(&s, idx.refs[i].digest, NULL, &m, &e))
			continue;
		v[i].size += m.config.size;
		for (size_t j = 0; j < m.n_layers; j++)
			v[i].size += m.layers[j].size;
		if (!store_read_blob(&s, m.config.digest, m.config.size, &buf, &len, &e)) {
			yajl_val c;
			if (!json_parse_buf(buf, len, "config", &c, &e)) {
				v[i].created = json_str(c, "created");
				char *os = json_str(c, "os"), *arch = json_str(c, "architecture");
				if (os && arch && asprintf(&v[i].platform, "%s/%s", os, arch) < 0)
					v[i].platform = NULL;
				free(os);
				free(arch);
				yajl_tree_free(c);
			}
			free(buf);
		}
		manifest_free(&m);
	}
	*out = v;
	*n = idx.n;
out:
	store_index_free(&idx);
	store_close(&s);
	return rc;
}

int image_inspect(const char *root, const char *name, char **json_out, struct hy_error *err)
{
	struct image_store s;
	int rc = store_open(root, false, &s, err);
	if (rc)
		return rc;
	struct store_index idx = {0};
	char *mbuf = NULL, *cbuf = NULL;
	size_t mlen, clen;
	yajl_val mt = NULL, ct = NULL;
	struct image_manifest m = {0};
	if ((rc = store_index_load(&s, &idx, err)))
		goto out;
	struct store_ref *r = store_index_find(&idx, name);
	if (!r) {
		rc = hy_error_set(err, ENOENT, "image %s: not found in %s", name, s.root);
		goto out;
	}
	if ((rc = store_read_blob(&s, r->digest, r->size, &mbuf, &mlen, err)) ||
	    (rc = manifest_parse(mbuf, mlen, r->digest, &m, err)) ||
	    (rc = store_read_blob(&s, m.config.digest, m.config.size, &cbuf, &clen, err)) ||
	    (rc = json_parse_buf(mbuf, mlen, r->digest, &mt, err)) ||
	    (rc = json_parse_buf(cbuf, clen, m.config.digest, &ct, err))) {
		hy_error_prefix(err, "image %s", name);
		goto out;
	}
	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	GS(g, "name");
	GS(g, r->name);
	GS(g, "digest");
	GS(g, r->digest);
	GS(g, "manifest");
	json_gen_tree(g, mt);
	GS(g, "config");
	json_gen_tree(g, ct);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	*json_out = strndup((const char *)buf, len);
	yajl_gen_free(g);
	if (!*json_out)
		rc = hy_error_set(err, ENOMEM, "out of memory");
out:
	yajl_tree_free(mt);
	yajl_tree_free(ct);
	manifest_free(&m);
	free(mbuf);
	free(cbuf);
	store_index_free(&idx);
	store_close(&s);
	return rc;
}

/* Disk images cached under disks/ whose manifest no name references any more go with it. */
static void gc_disks(struct image_store *s, const struct store_index *idx)
{
	int fd = openat(s->rootfd, "disks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			bool used = false;
			for (size_t i = 0; i < idx->n && !used; i++)
				used = strncmp(e->d_name, idx->refs[i].digest + 7, 64) == 0;
			if (!used)
				unlinkat(fd, e->d_name, 0);
		}
		closedir(d);
	} else if (dfd >= 0)
		close(dfd);
	close(fd);
}

int image_remove(const char *root, const char *name, struct hy_error *err)
{
	struct image_store s;
	int rc = store_open(root, true, &s, err);
	if (rc)
		return rc;
	struct store_index idx;
	if ((rc = store_index_load(&s, &idx, err))) {
		store_close(&s);
		return rc;
	}
	struct store_ref *r = store_index_find(&idx, name);
	if (!r) {
		rc = hy_error_set(err, ENOENT, "image %s: not found in %s", name, s.root);
		goto out;
	}
	/* By name: that name only. By digest: every name of that manifest. */
	char digest[72];
	memcpy(digest, r->digest, sizeof(digest));
	bool by_digest = strcmp(r->name, name) != 0 && strstr(digest, name) != NULL;
	char *rname = strdup(r->name);
	size_t w = 0;
	for (size_t i = 0; i < idx.n; i++) {
		struct store_ref *x = &idx.refs[i];
		bool drop = by_digest ? strcmp(x->digest, digest) == 0
				      : (rname && strcmp(x->name, rname) == 0);
		if (drop) {
			free(x->name);
			free(x->media_type);
		} else
			idx.refs[w++] = *x;
	}
	idx.n = w;
	free(rname);
	if (!(rc = store_index_save(&s, &idx, err))) {
		rc = store_gc(&s, &idx, err);
		gc_disks(&s, &idx);
	}
out:
	store_index_free(&idx);
	store_close(&s);
	return rc;
}

static int add_mem(struct archive *a, const char *path, const void *data, size_t len,
		   struct hy_error *err)
{
	struct archive_entry *e = libarchive.entry_new();
	libarchive.entry_set_pathname(e, path);
	libarchive.entry_set_filetype(e, AE_IFREG);
	libarchive.entry_set_perm(e, 0644);
	libarchive.entry_set_size(e, (la_int64_t)len);
	libarchive.entry_set_mtime(e, 0, 0);
	int rc = 0;
	if (libarchive.write_header(a, e) != ARCHIVE_OK ||
	    (len && libarchive.write_data(a, data, len) != (la_ssize_t)len))
		rc = hy_error_set(err, EIO, "export: %s: %s", path, libarchive.error_string(a));
	libarchive.entry_free(e);
	return rc;
}

static int add_dir(struct archive *a, const char *path, struct hy_error *err)
{
	struct archive_entry *e = libarchive.entry_new();
	libarchive.entry_set_pathname(e, path);
	libarchive.entry_set_filetype(e, AE_IFDIR);
	libarchive.entry_set_perm(e, 0755);
	libarchive.entry_set_mtime(e, 0, 0);
	int rc = libarchive.write_header(a, e) == ARCHIVE_OK
			 ? 0
			 : hy_error_set(err, EIO, "export: %s: %s", path, libarchive.error_string(a));
	libarchive.entry_free(e);
	return rc;
}

/* Copies a blob into the archive, hashing as it goes: a blob rotten on disk is not exported. */
static int add_blob(struct archive *a, struct image_store *s, const struct image_desc *d,
		    struct hy_error *err)
{
	int fd, rc = store_open_blob_unverified(s, d->digest, d->size, &fd, err);
	if (rc)
		return rc;
	char path[100];
	snprintf(path, sizeof(path), "blobs/sha256/%s", d->digest + 7);
	struct archive_entry *e = libarchive.entry_new();
	libarchive.entry_set_pathname(e, path);
	libarchive.entry_set_filetype(e, AE_IFREG);
	libarchive.entry_set_perm(e, 0644);
	libarchive.entry_set_size(e, (la_int64_t)d->size);
	libarchive.entry_set_mtime(e, 0, 0);
	if (libarchive.write_header(a, e) != ARCHIVE_OK)
		rc = hy_error_set(err, EIO, "export: %s: %s", path, libarchive.error_string(a));
	libarchive.entry_free(e);
	struct digest_stream hash = {0};
	char *buf = NULL;
	if (!rc)
		rc = digest_stream_begin(&hash, err);
	if (!rc && !(buf = malloc(IMAGE_IO_CHUNK)))
		rc = hy_error_set(err, ENOMEM, "export: out of memory");
	while (!rc) {
		ssize_t n = read(fd, buf, IMAGE_IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = hy_error_errno(err, errno, "export: read %s", d->digest);
		if (n <= 0)
			break;
		digest_stream_add(&hash, buf, (size_t)n);
		if (libarchive.write_data(a, buf, (size_t)n) != n)
			rc = hy_error_set(err, EIO, "export: %s: %s", path, libarchive.error_string(a));
	}
	free(buf);
	close(fd);
	if (!rc) {
		char got[72];
		digest_stream_end(&hash, got);
		if (strcmp(got, d->digest) != 0)
			rc = hy_error_set(err, EINVAL, "blob %s: digest mismatch in the store",
					  d->digest);
	}
	digest_stream_discard(&hash);
	return rc;
}

int image_export(const char *root, const char *name, const char *path, struct hy_error *err)
{
	struct image_store s;
	int rc = store_open(root, false, &s, err);
	if (rc)
		return rc;
	struct store_ref ref = {0};
	struct image_manifest m = {0};
	char *tmp = NULL;
	struct archive *a = NULL;
	yajl_gen g = NULL;
	if ((rc = store_load_manifest(&s, name, &ref, &m, err)))
		goto out;
	if (asprintf(&tmp, "%s.tmp-%d", path, getpid()) < 0) {
		tmp = NULL;
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = archive_lib_load(err)))
		goto out;
	if (!(a = libarchive.write_new())) {
		rc = hy_error_set(err, ENOMEM, "export: out of memory");
		goto out;
	}
	libarchive.write_set_format_pax_restricted(a);
	if (libarchive.write_open_filename(a, tmp) != ARCHIVE_OK) {
		rc = hy_error_set(err, EIO, "export: %s: %s", path, libarchive.error_string(a));
		goto out;
	}
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	GS(g, "schemaVersion");
	yajl_gen_integer(g, 2);
	GS(g, "mediaType");
	GS(g, MT_OCI_INDEX);
	GS(g, "manifests");
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	GS(g, "mediaType");
	GS(g, MT_OCI_MANIFEST);
	GS(g, "digest");
	GS(g, ref.digest);
	GS(g, "size");
	yajl_gen_integer(g, (long long)ref.size);
	GS(g, "annotations");
	yajl_gen_map_open(g);
	GS(g, ANNOT_REF_NAME);
	GS(g, ref.name);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	const unsigned char *ibuf;
	size_t ilen;
	yajl_gen_get_buf(g, &ibuf, &ilen);
	struct image_desc md = {.size = ref.size};
	memcpy(md.digest, ref.digest, 72);
	if ((rc = add_mem(a, "oci-layout", layout, strlen(layout), err)) ||
	    (rc = add_mem(a, "index.json", ibuf, ilen, err)) || (rc = add_dir(a, "blobs/", err)) ||
	    (rc = add_dir(a, "blobs/sha256/", err)) || (rc = add_blob(a, &s, &md, err)) ||
	    (rc = add_blob(a, &s, &m.config, err)))
		goto out;
	for (size_t i = 0; i < m.n_layers && !rc; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(m.layers[j].digest, m.layers[i].digest) == 0;
		if (!dup)
			rc = add_blob(a, &s, &m.layers[i], err);
	}
	if (!rc && libarchive.write_close(a) != ARCHIVE_OK)
		rc = hy_error_set(err, EIO, "export: %s: %s", path, libarchive.error_string(a));
	if (!rc) {
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		if (rename(tmp, path) < 0)
			rc = hy_error_errno(err, errno, "export: rename %s", path);
	}
out:
	if (a)
		libarchive.write_free(a);
	if (g)
		yajl_gen_free(g);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	free(ref.name);
	manifest_free(&m);
	store_close(&s);
	return rc ? hy_error_prefix(err, "export %s", name) : 0;
}
