/* sha256 digests in the OCI "sha256:<hex>" form. Only sha256 is accepted: other algorithms are
 * allowed by the spec but nothing we import produces them, and refusing is safer than guessing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive_lib.h"
#include "image/store.h"

int digest_parse(const char *digest, char hex_out[65], struct hy_error *err)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0)
		return hy_error_set(err, EINVAL, "digest '%s': only sha256:<hex> is supported",
				    digest ? digest : "(null)");
	const char *h = digest + 7;
	size_t i;
	for (i = 0; h[i]; i++) {
		/* Lowercase only: the hex becomes a file name, so one spelling per digest. */
		if (i >= 64 || !((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return hy_error_set(err, EINVAL,
					    "digest '%.80s': expected 64 lowercase hex digits", digest);
	}
	if (i != 64)
		return hy_error_set(err, EINVAL, "digest '%.80s': expected 64 lowercase hex digits",
				    digest);
	memcpy(hex_out, h, 65);
	return 0;
}

static void hex_digest(const unsigned char *md, char out[72])
{
	static const char x[] = "0123456789abcdef";
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = x[md[i] >> 4];
		out[8 + 2 * i] = x[md[i] & 15];
	}
	out[71] = '\0';
}

int digest_stream_begin(struct digest_stream *s, struct hy_error *err)
{
	s->ctx = NULL;
	int rc = crypto_lib_load(err);
	if (rc)
		return rc;
	EVP_MD_CTX *ctx = libcrypto.EVP_MD_CTX_new();
	if (!ctx || !libcrypto.EVP_DigestInit_ex(ctx, libcrypto.EVP_sha256(), NULL)) {
		libcrypto.EVP_MD_CTX_free(ctx);
		return hy_error_set(err, ENOMEM, "sha256: cannot initialise");
	}
	s->ctx = ctx;
	return 0;
}

void digest_stream_add(struct digest_stream *s, const void *buf, size_t len)
{
	libcrypto.EVP_DigestUpdate(s->ctx, buf, len);
}

void digest_stream_end(struct digest_stream *s, char out[72])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	libcrypto.EVP_DigestFinal_ex(s->ctx, md, &mdlen);
	hex_digest(md, out);
	digest_stream_discard(s);
}

void digest_stream_discard(struct digest_stream *s)
{
	if (s->ctx)
		libcrypto.EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

int digest_of_buf(const void *buf, size_t len, char out[72])
{
	struct hy_error ignored;
	struct digest_stream s;
	out[0] = '\0';
	if (digest_stream_begin(&s, &ignored))
		return -1;
	digest_stream_add(&s, buf, len);
	digest_stream_end(&s, out);
	return 0;
}

int digest_of_fd(int fd, char out[72], uint64_t *size, struct hy_error *err)
{
	struct digest_stream s;
	int rc = digest_stream_begin(&s, err);
	if (rc)
		return rc;
	unsigned char *buf = malloc(IMAGE_IO_CHUNK);
	if (!buf) {
		digest_stream_discard(&s);
		return hy_error_set(err, ENOMEM, "sha256: out of memory");
	}
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, IMAGE_IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = hy_error_errno(err, errno, "read");
			break;
		}
		if (n == 0)
			break;
		digest_stream_add(&s, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (!rc) {
		digest_stream_end(&s, out);
		*size = total;
	}
	digest_stream_discard(&s);
	free(buf);
	return rc;
}
