/* The store's index.json: image names, and garbage collection of blobs no name reaches. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "image/store.h"
#include "runtime/json.h"

char *store_normalize_name(const char *name, struct hy_error *err)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > 255) {
		hy_error_set(err, EINVAL, "image name '%s': expected NAME[:TAG]", name ? name : "");
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\') {
			hy_error_set(err, EINVAL, "image name '%s': invalid character", name);
			return NULL;
		}
	}
	/* docker's implicit registry and namespace: "docker.io/library/busybox" is "busybox". */
	if (strncmp(name, "docker.io/", 10) == 0 && name[10])
		name += 10;
	if (strncmp(name, "library/", 8) == 0 && name[8])
		name += 8;
	/* A tag is what follows the last ':' unless a '/' comes after it (a registry port). */
	const char *colon = strrchr(name, ':');
	bool tagged = colon && !strchr(colon, '/') && colon[1];
	char *out = NULL;
	if (asprintf(&out, tagged ? "%s" : "%s:latest", name) < 0) {
		hy_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	return out;
}

void store_index_free(struct store_index *idx)
{
	for (size_t i = 0; i < idx->n; i++) {
		free(idx->refs[i].name);
		free(idx->refs[i].media_type);
	}
	free(idx->refs);
	idx->refs = NULL;
	idx->n = 0;
}

int store_index_load(struct image_store *s, struct store_index *idx, struct hy_error *err)
{
	memset(idx, 0, sizeof(*idx));
	char *path = NULL;
	if (asprintf(&path, "%s/index.json", s->root) < 0)
		return hy_error_set(err, ENOMEM, "out of memory");
	yajl_val root;
	int rc = json_parse_file(path, path, &root, err);
	if (rc) {
		free(path);
		return rc;
	}
	yajl_val ms = json_get(root, "manifests");
	if (ms && json_expect_array(ms, path, "manifests", err)) {
		rc = -err->code;
		goto out;
	}
	size_t n = ms ? ms->u.array.len : 0;
	idx->refs = calloc(n ? n : 1, sizeof(*idx->refs));
	if (!idx->refs) {
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		yajl_val m = ms->u.array.values[i];
		struct image_desc d = {0};
		rc = desc_parse(m, path, "manifests[]", &d, err);
		if (rc)
			goto out;
		yajl_val ann = json_get(m, "annotations");
		yajl_val nm = ann ? json_get(ann, ANNOT_REF_NAME) : NULL;
		if (!nm || !YAJL_IS_STRING(nm)) {
			free(d.media_type);
			continue; /* unnamed entries are not ours; ignored */
		}
		struct store_ref *r = &idx->refs[idx->n++];
		r->name = strdup(nm->u.string);
		memcpy(r->digest, d.digest, sizeof(r->digest));
		r->size = d.size;
		r->media_type = d.media_type;
		if (!r->name) {
			rc = hy_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	yajl_tree_free(root);
	free(path);
	if (rc)
		store_index_free(idx);
	return rc;
}

#define GS(g, s) yajl_gen_string((g), (const unsigned char *)(s), strlen(s))

int store_index_save(struct image_store *s, const struct store_index *idx, struct hy_error *err)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return hy_error_set(err, ENOMEM, "out of memory");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	GS(g, "schemaVersion");
	yajl_gen_integer(g, 2);
	GS(g, "mediaType");
	GS(g, MT_OCI_INDEX);
	GS(g, "manifests");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < idx->n; i++) {
		const struct store_ref *r = &idx->refs[i];
		yajl_gen_map_open(g);
		GS(g, "mediaType");
		GS(g, r->media_type ? r->media_type : MT_OCI_MANIFEST);
		GS(g, "digest");
		GS(g, r->digest);
		GS(g, "size");
		yajl_gen_integer(g, (long long)r->size);
		GS(g, "annotations");
		yajl_gen_map_open(g);
		GS(g, ANNOT_REF_NAME);
		GS(g, r->name);
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	int dfd = openat(s->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dfd < 0 ? hy_error_errno(err, errno, "image store %s", s->root)
			 : write_file_atomic(dfd, "index.json", buf, len, err);
	if (dfd >= 0)
		close(dfd);
	yajl_gen_free(g);
	return rc;
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

struct store_ref *store_index_find(struct store_index *idx, const char *name)
{
	struct hy_error e;
	char *full = store_normalize_name(name, &e);
	if (full) {
		for (size_t i = 0; i < idx->n; i++)
			if (strcmp(idx->refs[i].name, full) == 0) {
				free(full);
				return &idx->refs[i];
			}
		free(full);
	}
	const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
	size_t hl = strlen(hex);
	if (hl < 6 || hl > 64 || !is_hex(hex))
		return NULL;
	struct store_ref *found = NULL;
	for (size_t i = 0; i < idx->n; i++) {
		if (strncmp(idx->refs[i].digest + 7, hex, hl) != 0)
			continue;
		if (found && strcmp(found->digest, idx->refs[i].digest) != 0)
			return NULL; /* ambiguous prefix */
		found = &idx->refs[i];
	}
	return found;
}

int store_index_set(struct store_index *idx, const char *name, const char *digest, uint64_t size,
		    const char *media_type, struct hy_error *err)
{
	struct store_ref *r = NULL;
	for (size_t i = 0; i < idx->n; i++)
		if (strcmp(idx->refs[i].name, name) == 0)
			r = &idx->refs[i];
	if (!r) {
		struct store_ref *v = realloc(idx->refs, (idx->n + 1) * sizeof(*v));
		if (!v)
			return hy_error_set(err, ENOMEM, "out of memory");
		idx->refs = v;
		r = &v[idx->n++];
		memset(r, 0, sizeof(*r));
		r->name = strdup(name);
	}
	free(r->media_type);
	r->media_type = strdup(media_type ? media_type : MT_OCI_MANIFEST);
	memcpy(r->digest, digest, 72);
	r->size = size;
	if (!r->name || !r->media_type)
		return hy_error_set(err, ENOMEM, "out of memory");
	return 0;
}

struct hexset {
	char (*v)[65];
	size_t n, cap;
};

static int hexset_add(struct hexset *h, const char *digest)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		void *v = realloc(h->v, cap * sizeof(*h->v));
		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	memcpy(h->v[h->n++], digest + 7, 65);
	return 0;
}

static bool hexset_has(const struct hexset *h, const char *hex)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i], hex) == 0)
			return true;
	return false;
}

int store_gc(struct image_store *s, const struct store_index *idx, struct hy_error *err)
{
	struct hexset keep = {0};
	int rc = 0;
	for (size_t i = 0; i < idx->n && !rc; i++) {
		if (hexset_add(&keep, idx->refs[i].digest)) {
			rc = hy_error_set(err, ENOMEM, "out of memory");
			break;
		}
		char *buf;
		size_t len;
		struct image_manifest m;
		/* A manifest that no longer verifies keeps nothing alive but itself. */
		if (store_read_blob(s, idx->refs[i].digest, idx->refs[i].size, &buf, &len, err))
			continue;
		int prc = manifest_parse(buf, len, idx->refs[i].digest, &m, err);
		free(buf);
		if (prc)
			continue;
		if (hexset_add(&keep, m.config.digest))
			rc = hy_error_set(err, ENOMEM, "out of memory");
		for (size_t j = 0; j < m.n_layers && !rc; j++)
			if (hexset_add(&keep, m.layers[j].digest))
				rc = hy_error_set(err, ENOMEM, "out of memory");
		manifest_free(&m);
	}
	hy_error_clear(err);
	if (!rc) {
		int fd = openat(s->blobsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			rc = hy_error_errno(err, errno, "image store %s: read blobs", s->root);
		} else {
			struct dirent *e;
			while ((e = readdir(d)))
				if (e->d_name[0] != '.' && !hexset_has(&keep, e->d_name))
					unlinkat(s->blobsfd, e->d_name, 0);
			closedir(d);
			fsync(s->blobsfd);
		}
	}
	free(keep.v);
	return rc;
}
