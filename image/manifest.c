/* OCI descriptors and image manifests (docker schema 2 manifests have the same shape). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/store.h"
#include "runtime/json.h"

int desc_parse(yajl_val v, const char *file, const char *path, struct image_desc *d,
	       struct hy_error *err)
{
	memset(d, 0, sizeof(*d));
	if (json_expect_object(v, file, path, err))
		return -err->code;
	char *digest = NULL;
	uint64_t size = 0;
	bool has_size = false;
	int rc = json_get_string(v, "mediaType", file, path, &d->media_type, err);
	if (!rc)
		rc = json_get_string(v, "digest", file, path, &digest, err);
	if (!rc)
		rc = json_get_u64(v, "size", file, path, INT64_MAX, &size, &has_size, err);
	if (!rc && (!digest || !has_size))
		rc = hy_error_set(err, EINVAL, "%s: %s: descriptor needs digest and size", file,
				  path);
	char hex[65];
	if (!rc && digest_parse(digest, hex, err))
		rc = hy_error_prefix(err, "%s: %s.digest", file, path);
	if (!rc) {
		memcpy(d->digest, digest, 72);
		d->size = size;
	} else {
		free(d->media_type);
		d->media_type = NULL;
	}
	free(digest);
	return rc;
}

int manifest_parse(const char *buf, size_t len, const char *name, struct image_manifest *m,
		   struct hy_error *err)
{
	memset(m, 0, sizeof(*m));
	yajl_val root;
	int rc = json_parse_buf(buf, len, name, &root, err);
	if (rc)
		return rc;
	yajl_val mt = json_get(root, "mediaType");
	if (mt && YAJL_IS_STRING(mt) && strcmp(mt->u.string, MT_OCI_MANIFEST) != 0 &&
	    strcmp(mt->u.string, MT_DOCKER_MANIFEST) != 0) {
		rc = hy_error_set(err, EINVAL, "%s: mediaType %s is not an image manifest", name,
				  mt->u.string);
		goto out;
	}
	yajl_val cfg = json_get(root, "config"), layers = json_get(root, "layers");
	if (!cfg || !layers) {
		rc = hy_error_set(err, EINVAL, "%s: not an image manifest (no config or layers)",
				  name);
		goto out;
	}
	if ((rc = desc_parse(cfg, name, "config", &m->config, err)))
		goto out;
	if (json_expect_array(layers, name, "layers", err)) {
		rc = -err->code;
		goto out;
	}
	m->layers = calloc(layers->u.array.len + 1, sizeof(*m->layers));
	if (!m->layers) {
		rc = hy_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < layers->u.array.len; i++) {
		char path[32];
		snprintf(path, sizeof(path), "layers[%zu]", i);
		if ((rc = desc_parse(layers->u.array.values[i], name, path, &m->layers[i], err)))
			goto out;
		m->n_layers++;
	}
out:
	yajl_tree_free(root);
	if (rc)
		manifest_free(m);
	return rc;
}

void manifest_free(struct image_manifest *m)
{
	free(m->config.media_type);
	for (size_t i = 0; i < m->n_layers; i++)
		free(m->layers[i].media_type);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

int store_load_manifest(struct image_store *s, const char *name, struct store_ref *ref_out,
			struct image_manifest *m, struct hy_error *err)
{
	struct store_index idx;
	int rc = store_index_load(s, &idx, err);
	if (rc)
		return rc;
	struct store_ref *r = store_index_find(&idx, name);
	if (!r) {
		store_index_free(&idx);
		return hy_error_set(err, ENOENT, "image %s: not found in %s", name, s->root);
	}
	char *buf;
	size_t len;
	rc = store_read_blob(s, r->digest, r->size, &buf, &len, err);
	if (!rc) {
		rc = manifest_parse(buf, len, r->digest, m, err);
		free(buf);
	}
	if (!rc && ref_out) {
		*ref_out = *r;
		ref_out->name = strdup(r->name);
		ref_out->media_type = NULL;
	}
	store_index_free(&idx);
	return rc ? hy_error_prefix(err, "image %s", name) : 0;
}
