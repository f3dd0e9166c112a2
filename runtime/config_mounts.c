/* mounts: destination, source, type, options and per-mount id mappings (idmapped mounts). */
#include <stdlib.h>
#include <string.h>

#include "runtime/config_internal.h"

void cfg_free_mounts(struct hy_mount *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].destination);
		free(m[i].source);
		free(m[i].type);
		hy_strv_free(&m[i].options);
		free(m[i].uid_mappings);
		free(m[i].gid_mappings);
	}
	free(m);
}

static int parse_mount(yajl_val item, const char *file, const char *mp, struct hy_mount *m,
		       struct hy_error *err)
{
	char sub[CFG_PATH_MAX];
	int rc = json_expect_object(item, file, mp, err);
	if (!rc)
		rc = json_get_string(item, "destination", file, mp, &m->destination, err);
	if (!rc)
		rc = json_get_string(item, "source", file, mp, &m->source, err);
	if (!rc)
		rc = json_get_string(item, "type", file, mp, &m->type, err);
	if (!rc)
		rc = json_get_strv(item, "options", file, mp, &m->options, err);
	if (rc)
		return rc;
	cfg_path(sub, sizeof(sub), "%s.destination", mp);
	if (!m->destination)
		return cfg_error(err, file, sub, "required");
	if (!cfg_is_absolute(m->destination))
		return cfg_error(err, file, sub, "must be an absolute path, got \"%s\"",
				 m->destination);
	cfg_path(sub, sizeof(sub), "%s.uidMappings", mp);
	rc = cfg_parse_id_mappings(json_get(item, "uidMappings"), file, sub, &m->uid_mappings,
				   &m->n_uid_mappings, err);
	if (rc)
		return rc;
	cfg_path(sub, sizeof(sub), "%s.gidMappings", mp);
	rc = cfg_parse_id_mappings(json_get(item, "gidMappings"), file, sub, &m->gid_mappings,
				   &m->n_gid_mappings, err);
	if (rc)
		return rc;
	/* An idmapped mount needs both maps (mount_setattr takes one user namespace). */
	if (!m->n_uid_mappings != !m->n_gid_mappings)
		return cfg_error(err, file, mp, "uidMappings and gidMappings must be given together");
	return 0;
}

int cfg_parse_mounts(yajl_val root, const char *file, struct hy_config *cfg, struct hy_error *err)
{
	yajl_val arr = json_get(root, "mounts");
	if (!arr)
		return 0;
	int rc = json_expect_array(arr, file, "mounts", err);
	if (rc)
		return rc;
	size_t len = arr->u.array.len;
	cfg->mounts = calloc(len ? len : 1, sizeof(*cfg->mounts));
	if (!cfg->mounts)
		return cfg_oom(err, file);
	for (size_t i = 0; i < len; i++) {
		char mp[CFG_PATH_MAX];
		cfg_path(mp, sizeof(mp), "mounts[%zu]", i);
		cfg->n_mounts = i + 1;
		rc = parse_mount(arr->u.array.values[i], file, mp, &cfg->mounts[i], err);
		if (rc)
			return rc;
	}
	return 0;
}
