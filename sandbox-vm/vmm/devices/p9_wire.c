/* 9P wire codec: little-endian integers and length-prefixed strings. Reads past the end of a
 * message set r->bad and yield zeros, so a handler can parse all fields and check once. */
#include <errno.h>
#include <string.h>

#include "sandbox-vm/vmm/devices/p9_internal.h"

static const uint8_t *take(struct p9_rd *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t p9_get8(struct p9_rd *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

uint16_t p9_get16(struct p9_rd *r)
{
	const uint8_t *p = take(r, 2);
	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t p9_get32(struct p9_rd *r)
{
	const uint8_t *p = take(r, 4);
	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
		 : 0;
}

uint64_t p9_get64(struct p9_rd *r)
{
	uint64_t lo = p9_get32(r);
	uint64_t hi = p9_get32(r);
	return lo | hi << 32;
}

struct p9_str p9_getstr(struct p9_rd *r)
{
	struct p9_str str = { "", 0 };
	uint16_t len = p9_get16(r);
	const uint8_t *p = take(r, len);
	if (p) {
		str.s = (const char *)p;
		str.len = len;
	}
	return str;
}

int p9_getstr_copy(struct p9_rd *r, char *buf, size_t cap)
{
	struct p9_str str = p9_getstr(r);
	buf[0] = '\0';
	if (r->bad)
		return -EPROTO;
	if (memchr(str.s, '\0', str.len))
		return -EINVAL;
	if ((size_t)str.len >= cap)
		return -ENAMETOOLONG;
	memcpy(buf, str.s, str.len);
	buf[str.len] = '\0';
	return 0;
}

int p9_getname(struct p9_rd *r, char name[P9_NAME_MAX + 1])
{
	int rc = p9_getstr_copy(r, name, P9_NAME_MAX + 1);
	if (rc < 0)
		return rc;
	/* A name is one component: anything else could address a different directory. */
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

static uint8_t *room(struct p9_wr *w, size_t n)
{
	if (w->overflow || n > w->cap - w->pos) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *p = w->p + w->pos;
	w->pos += n;
	return p;
}

uint8_t *p9_reserve(struct p9_wr *w, size_t n)
{
	return room(w, n);
}

void p9_put8(struct p9_wr *w, uint8_t v)
{
	uint8_t *p = room(w, 1);
	if (p)
		p[0] = v;
}

void p9_put16(struct p9_wr *w, uint16_t v)
{
	uint8_t *p = room(w, 2);
	if (p) {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
}

void p9_put32(struct p9_wr *w, uint32_t v)
{
	uint8_t *p = room(w, 4);
	if (p)
		for (int i = 0; i < 4; i++)
			p[i] = (uint8_t)(v >> (8 * i));
}

void p9_put64(struct p9_wr *w, uint64_t v)
{
	p9_put32(w, (uint32_t)v);
	p9_put32(w, (uint32_t)(v >> 32));
}

void p9_putstr(struct p9_wr *w, const char *s, size_t len)
{
	if (len > UINT16_MAX) {
		w->overflow = true;
		return;
	}
	p9_put16(w, (uint16_t)len);
	uint8_t *p = room(w, len);
	if (p && len)
		memcpy(p, s, len);
}

void p9_putqid(struct p9_wr *w, const struct p9_qid *q)
{
	p9_put8(w, q->type);
	p9_put32(w, q->version);
	p9_put64(w, q->path);
}

void p9_finish(struct p9_wr *w, uint8_t type, uint16_t tag)
{
	size_t len = w->pos;
	w->pos = 0;
	p9_put32(w, (uint32_t)len);
	p9_put8(w, type);
	p9_put16(w, tag);
	w->pos = len;
}
