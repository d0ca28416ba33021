/*
 * validate.c — the public entry points: size, encoding, then the front end.
 */
#include "backend/formats/validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/formats/formats_internal.h"

int cfgfs_diag_set(struct cfgfs_diag *d, const char *reason, unsigned line, unsigned col,
                   const char *fmt, ...)
{
	va_list ap;

	d->line = line;
	d->col = col;
	d->reason = reason;
	va_start(ap, fmt);
	(void)vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

struct cfgfs_pos cfgfs_pos_at(const char *buf, size_t len, size_t off)
{
	struct cfgfs_pos p = CFGFS_POS_START;

	while (p.off < off && p.off < len)
		cfgfs_pos_step(&p, buf, len);
	return p;
}

/* Length of the valid UTF-8 sequence at S[0..N), or 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return 0;
	/* Second-byte ranges that exclude overlongs, surrogates and > U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < need)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return need;
}

static int check_utf8(struct cfgfs_diag *d, const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			struct cfgfs_pos p = cfgfs_pos_at(buf, len, i);

			return cfgfs_diag_set(d, CFGFS_REASON_ENCODING, p.line, p.col,
			                      "invalid UTF-8 byte 0x%02x", s[i]);
		}
		i += n;
	}
	return 0;
}

static void diag_clear(struct cfgfs_diag *d)
{
	d->line = 0;
	d->col = 0;
	d->reason = NULL;
	d->message[0] = '\0';
}

int cfgfs_doc_parse(struct cfgfs_doc **out_doc, struct cfgfs_diag *out, enum cfgfs_format fmt,
                    const char *buf, size_t len, const struct cfgfs_limits *lim)
{
	static const struct cfgfs_limits defaults = CFGFS_LIMITS_DEFAULT;
	struct cfgfs_doc *doc = NULL;
	int rc;

	diag_clear(out);
	if (out_doc != NULL)
		*out_doc = NULL;
	if (lim == NULL)
		lim = &defaults;
	if (fmt != CFGFS_FORMAT_YAML && fmt != CFGFS_FORMAT_JSON)
		return 0;
	if (len > lim->max_size) {
		cfgfs_diag_set(out, CFGFS_REASON_SIZE, 0, 0,
		               "file is larger than the limit of %zu bytes", lim->max_size);
		return -EFBIG;
	}
	if (buf == NULL && len > 0)
		return -EFAULT;
	if (buf == NULL)
		buf = "";
	rc = check_utf8(out, buf, len);
	if (rc != 0)
		goto cleanup;

	rc = -ENOMEM;
	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
		goto cleanup;
	doc->arena = cfgfs_arena_new();
	if (doc->arena == NULL)
		goto cleanup;

	if (fmt == CFGFS_FORMAT_YAML)
		rc = cfgfs_yaml_parse(doc, out, buf, len, lim);
	else
		rc = cfgfs_json_parse(doc, out, buf, len, lim);
	if (rc != 0)
		goto cleanup;
	if (out_doc != NULL) {
		*out_doc = doc;
		doc = NULL;
	}

cleanup:
	if (rc == -ENOMEM && out->reason == NULL)
		(void)snprintf(out->message, sizeof(out->message), "out of memory");
	cfgfs_doc_free(doc);
	return rc;
}

int cfgfs_validate(struct cfgfs_diag *out, enum cfgfs_format fmt, const char *buf, size_t len,
                   const struct cfgfs_limits *lim)
{
	return cfgfs_doc_parse(NULL, out, fmt, buf, len, lim);
}
