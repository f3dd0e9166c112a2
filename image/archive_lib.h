/* libarchive and libcrypto, loaded on first use instead of at every hyrun start.
 *
 * Linking them normally made every hyrun process (and so every VMM) map and relocate
 * libarchive's dependency tree (libxml2, ICU, libstdc++, nettle, lzma, zstd, ...): about a
 * millisecond per start and megabytes of RSS, for code only image commands run.
 *
 *   if ((rc = archive_lib_load(err))) return rc;     // once per entry point, before any use
 *   struct archive *a = libarchive.read_new();      // == archive_read_new()
 *
 *   if ((rc = crypto_lib_load(err))) return rc;
 *   libcrypto.EVP_DigestUpdate(ctx, buf, n);        // == EVP_DigestUpdate()
 *
 * Loading is thread-safe and happens once; a missing library gives
 * "image: cannot load libarchive.so.13: <dlerror>" on every call. The tables are filled only by
 * a successful load: calling through them before is a bug (NULL pointer). */
#ifndef HYRUN_IMAGE_ARCHIVE_LIB_H
#define HYRUN_IMAGE_ARCHIVE_LIB_H

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "runtime/error.h"

/* libarchive functions image/ uses, without their "archive_" prefix. */
#define ARCHIVE_LIB_FUNCTIONS(X)                                                                   \
	X(entry_filetype)                                                                          \
	X(entry_free)                                                                              \
	X(entry_gid)                                                                               \
	X(entry_hardlink)                                                                          \
	X(entry_mtime)                                                                             \
	X(entry_mtime_nsec)                                                                        \
	X(entry_new)                                                                               \
	X(entry_pathname)                                                                          \
	X(entry_perm)                                                                              \
	X(entry_rdev)                                                                              \
	X(entry_set_filetype)                                                                      \
	X(entry_set_mtime)                                                                         \
	X(entry_set_pathname)                                                                      \
	X(entry_set_perm)                                                                          \
	X(entry_set_size)                                                                          \
	X(entry_size)                                                                              \
	X(entry_size_is_set)                                                                       \
	X(entry_symlink)                                                                           \
	X(entry_uid)                                                                               \
	X(entry_xattr_next)                                                                        \
	X(entry_xattr_reset)                                                                       \
	X(error_string)                                                                            \
	X(read_data)                                                                               \
	X(read_data_block)                                                                         \
	X(read_free)                                                                               \
	X(read_new)                                                                                \
	X(read_next_header)                                                                        \
	X(read_open)                                                                               \
	X(read_open_filename)                                                                      \
	X(read_support_filter_gzip)                                                                \
	X(read_support_filter_none)                                                                \
	X(read_support_filter_zstd)                                                                \
	X(read_support_format_tar)                                                                 \
	X(set_error)                                                                               \
	X(write_close)                                                                             \
	X(write_data)                                                                              \
	X(write_free)                                                                              \
	X(write_header)                                                                            \
	X(write_new)                                                                               \
	X(write_open_filename)                                                                     \
	X(write_set_format_pax_restricted)

/* libcrypto functions image/ uses, under their own names. */
#define CRYPTO_LIB_FUNCTIONS(X)                                                                    \
	X(EVP_MD_CTX_new)                                                                          \
	X(EVP_MD_CTX_free)                                                                         \
	X(EVP_DigestInit_ex)                                                                       \
	X(EVP_DigestUpdate)                                                                        \
	X(EVP_DigestFinal_ex)                                                                      \
	X(EVP_sha256)

struct archive_lib {
#define ARCHIVE_LIB_SLOT(name) __typeof__(archive_##name) *name;
	ARCHIVE_LIB_FUNCTIONS(ARCHIVE_LIB_SLOT)
#undef ARCHIVE_LIB_SLOT
};

struct crypto_lib {
#define CRYPTO_LIB_SLOT(name) __typeof__(name) *name;
	CRYPTO_LIB_FUNCTIONS(CRYPTO_LIB_SLOT)
#undef CRYPTO_LIB_SLOT
};

extern struct archive_lib libarchive;
extern struct crypto_lib libcrypto;

/* 0 once the table is filled; otherwise -ELIBACC with err set (the same error on every call). */
int archive_lib_load(struct hy_error *err);
int crypto_lib_load(struct hy_error *err);

#endif
