/* Path sanitising for names that come from images (tar entries, link targets, archive members). */
#ifndef HYRUN_IMAGE_PATH_H
#define HYRUN_IMAGE_PATH_H

#include <stddef.h>

/* Cleans a relative path from an image: drops "." components, repeated and trailing '/', and a
 * leading "./". Refuses (-EINVAL) an absolute path, any ".." component, an embedded control
 * character, or a result longer than outsz-1 (-ENAMETOOLONG). "" (the root itself) is allowed. */
int image_path_clean(const char *in, char *out, size_t outsz);

/* Splits a cleaned, non-empty path into parent ("" for the root) and last component, in place. */
void image_path_split(char *path, const char **parent, const char **base);

/* Removes dirfd/name and everything below it without following any symlink. 0 or -errno
 * (a missing name is not an error). */
int image_rmtree_at(int dirfd, const char *name);
/* Removes everything inside the directory dirfd (an opaque whiteout), keeping the directory. */
int image_clear_dir(int dirfd);

#endif
