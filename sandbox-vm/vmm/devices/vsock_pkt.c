/* virtio-vsock wire format (virtio 1.2 section 5.10.6): the 44-byte little-endian header and the
 * host-side "CONNECT <port>\n" line. Pure functions: the fuzzer calls them directly. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "sandbox-vm/vmm/devices/vsock.h"

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void st32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void st64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

enum vsock_hdr_status vsock_hdr_decode(const struct iovec *out, unsigned n_out, size_t out_len,
				       struct vsock_hdr *h)
{
	uint8_t b[VSOCK_HDR_SIZE];
	memset(h, 0, sizeof(*h));
	if (out_len < VSOCK_HDR_SIZE || iov_to_buf(out, n_out, 0, b, sizeof(b)) != sizeof(b))
		return VSOCK_HDR_SHORT;
	h->src_cid = ld64(b + 0);
	h->dst_cid = ld64(b + 8);
	h->src_port = ld32(b + 16);
	h->dst_port = ld32(b + 20);
	h->len = ld32(b + 24);
	h->type = ld16(b + 28);
	h->op = ld16(b + 30);
	h->flags = ld32(b + 32);
	h->buf_alloc = ld32(b + 36);
	h->fwd_cnt = ld32(b + 40);
	/* The header's len is the guest's claim; the chain's byte count is the fact. */
	if (h->len > VSOCK_MAX_PKT || (size_t)h->len != out_len - VSOCK_HDR_SIZE)
		return VSOCK_HDR_BAD_LEN;
	return VSOCK_HDR_OK;
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t b[VSOCK_HDR_SIZE])
{
	st64(b + 0, h->src_cid);
	st64(b + 8, h->dst_cid);
	st32(b + 16, h->src_port);
	st32(b + 20, h->dst_port);
	st32(b + 24, h->len);
	st16(b + 28, h->type);
	st16(b + 30, h->op);
	st32(b + 32, h->flags);
	st32(b + 36, h->buf_alloc);
	st32(b + 40, h->fwd_cnt);
}

int vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
	static const char verb[] = "CONNECT ";
	const size_t vlen = sizeof(verb) - 1;
	if (len < vlen + 2 || memcmp(line, verb, vlen) != 0 || line[len - 1] != '\n')
		return -EINVAL;
	size_t digits = len - vlen - 1;
	if (digits > 10)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < digits; i++) {
		char ch = line[vlen + i];
		if (ch < '0' || ch > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(ch - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}
