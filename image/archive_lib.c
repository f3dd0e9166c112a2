/* Loads libarchive and libcrypto on first use (see archive_lib.h for why and how). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "image/archive_lib.h"

struct archive_lib libarchive;
struct crypto_lib libcrypto;

/* The outcome of one library's single load attempt, kept for every later caller. */
struct load_result {
	pthread_once_t once;
	bool ok;
	char why[HY_ERROR_MSG_MAX];
};

static struct load_result archive_result = {.once = PTHREAD_ONCE_INIT};
static struct load_result crypto_result = {.once = PTHREAD_ONCE_INIT};

/* dlopen()s SONAME, or records why not; the handle is never closed (the table points into it). */
static void *open_library(const char *soname, struct load_result *res)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(res->why, sizeof(res->why), "image: cannot load %s: %s", soname,
			 why ? why : "unknown error");
	}
	return h;
}

static bool missing_symbol(void *sym, const char *soname, const char *name,
			   struct load_result *res)
{
	if (sym)
		return false;
	snprintf(res->why, sizeof(res->why), "image: cannot load %s: symbol %s not found", soname,
		 name);
	return true;
}

static void load_archive_once(void)
{
	static const char soname[] = "libarchive.so.13";
	void *h = open_library(soname, &archive_result);
	if (!h)
		return;
	struct archive_lib t;
	/* dlsym returns void *; POSIX guarantees it converts to the function's pointer type. */
#define RESOLVE(name)                                                                              \
	t.name = (__typeof__(t.name))dlsym(h, "archive_" #name);                                   \
	if (missing_symbol((void *)t.name, soname, "archive_" #name, &archive_result))             \
		return;
	ARCHIVE_LIB_FUNCTIONS(RESOLVE)
#undef RESOLVE
	libarchive = t;
	archive_result.ok = true;
}

static void load_crypto_once(void)
{
	static const char soname[] = "libcrypto.so.3";
	void *h = open_library(soname, &crypto_result);
	if (!h)
		return;
	struct crypto_lib t;
#define RESOLVE(name)                                                                              \
	t.name = (__typeof__(t.name))dlsym(h, #name);                                              \
	if (missing_symbol((void *)t.name, soname, #name, &crypto_result))                         \
		return;
	CRYPTO_LIB_FUNCTIONS(RESOLVE)
#undef RESOLVE
	libcrypto = t;
	crypto_result.ok = true;
}

static int load(struct load_result *res, void (*once)(void), struct hy_error *err)
{
	pthread_once(&res->once, once);
	if (res->ok)
		return 0;
	return hy_error_set(err, ELIBACC, "%s", res->why);
}

int archive_lib_load(struct hy_error *err)
{
	return load(&archive_result, load_archive_once, err);
}

int crypto_lib_load(struct hy_error *err)
{
	return load(&crypto_result, load_crypto_once, err);
}
