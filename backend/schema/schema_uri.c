/*
 * schema_uri.c — URI reference resolution (RFC 3986 §5.2) and JSON pointer
 * lookup (RFC 6901), the two halves of resolving a $ref.
 *
 * Schemas name their parts with $id and point at them with $ref; both are
 * URI references resolved against the base URI in force where they appear.
 * Only the syntax matters here: nothing is ever fetched.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/schema/schema_internal.h"

struct span {
	const char *p;
	size_t len;
	bool defined;
};

struct uri_parts {
	struct span scheme, authority, path, query, fragment;
};

static bool scheme_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

static void uri_split(struct uri_parts *u, const char *s)
{
	size_t i = 0, n;

	memset(u, 0, sizeof(*u));
	for (n = 0; s[n] != '\0' && scheme_char(s[n], n == 0); n++)
		;
	if (n > 0 && s[n] == ':') {
		u->scheme = (struct span){s, n, true};
		i = n + 1;
	}
	if (s[i] == '/' && s[i + 1] == '/') {
		i += 2;
		n = strcspn(s + i, "/?#");
		u->authority = (struct span){s + i, n, true};
		i += n;
	}
	n = strcspn(s + i, "?#");
	u->path = (struct span){s + i, n, true};
	i += n;
	if (s[i] == '?') {
		i++;
		n = strcspn(s + i, "#");
		u->query = (struct span){s + i, n, true};
		i += n;
	}
	if (s[i] == '#')
		u->fragment = (struct span){s + i + 1, strlen(s + i + 1), true};
}

/* RFC 3986 §5.2.4, in place on the NUL-terminated BUF. */
static void remove_dot_segments(char *buf)
{
	char *in = buf, *out = buf;

	while (*in != '\0') {
		if (strncmp(in, "../", 3) == 0) {
			in += 3;
		} else if (strncmp(in, "./", 2) == 0) {
			in += 2;
		} else if (strncmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (strcmp(in, "/.") == 0) {
			in[1] = '\0';
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			in += 3;
			if (*in == '\0')
				*--in = '/';
			else
				*in = '/';
			/* Drop the last output segment and its '/'. */
			while (out > buf && *--out != '/')
				;
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
			in += strlen(in);
		} else {
			/* Move the first segment, with its leading '/', to the output. */
			/* (a loop, not strcspn: gcc 12 cannot see that in[1] exists) */
			size_t n = 1;
			if (*in != '/')
				n = 0;
			while (in[n] != '\0' && in[n] != '/')
				n++;
			memmove(out, in, n);
			out += n;
			in += n;
		}
	}
	*out = '\0';
}

static char *put(char *dst, const char *src, size_t len)
{
	memcpy(dst, src, len);
	return dst + len;
}

char *schema_uri_resolve(struct schema_mem *m, const char *base, const char *ref)
{
	struct uri_parts b, r, t;
	size_t cap = strlen(base) + strlen(ref) + 8;
	char *path = NULL, *out, *p, *result = NULL;

	uri_split(&b, base);
	uri_split(&r, ref);
	path = malloc(cap);
	out = malloc(cap);
	if (path == NULL || out == NULL)
		goto cleanup;
	memset(&t, 0, sizeof(t));
	path[0] = '\0';
	if (r.scheme.defined) {
		t = r;
		memcpy(path, r.path.p, r.path.len);
		path[r.path.len] = '\0';
	} else {
		t.scheme = b.scheme;
		if (r.authority.defined) {
			t.authority = r.authority;
			memcpy(path, r.path.p, r.path.len);
			path[r.path.len] = '\0';
			t.query = r.query;
		} else {
			t.authority = b.authority;
			if (r.path.len == 0) {
				memcpy(path, b.path.p, b.path.len);
				path[b.path.len] = '\0';
				t.query = r.query.defined ? r.query : b.query;
			} else if (r.path.p[0] == '/') {
				memcpy(path, r.path.p, r.path.len);
				path[r.path.len] = '\0';
				t.query = r.query;
			} else {
				/* Merge: the base path up to its last '/', then the reference. */
				size_t keep = b.path.len;

				while (keep > 0 && b.path.p[keep - 1] != '/')
					keep--;
				p = path;
				if (b.authority.defined && b.path.len == 0)
					*p++ = '/';
				p = put(p, b.path.p, keep);
				p = put(p, r.path.p, r.path.len);
				*p = '\0';
				t.query = r.query;
			}
		}
	}
	t.fragment = r.fragment;
	remove_dot_segments(path);

	p = out;
	if (t.scheme.defined) {
		p = put(p, t.scheme.p, t.scheme.len);
		*p++ = ':';
	}
	if (t.authority.defined) {
		p = put(p, "//", 2);
		p = put(p, t.authority.p, t.authority.len);
	}
	p = put(p, path, strlen(path));
	if (t.query.defined) {
		*p++ = '?';
		p = put(p, t.query.p, t.query.len);
	}
	if (t.fragment.defined) {
		*p++ = '#';
		p = put(p, t.fragment.p, t.fragment.len);
	}
	*p = '\0';
	result = schema_mem_strndup(m, out, (size_t)(p - out));

cleanup:
	free(path);
	free(out);
	return result;
}

size_t schema_uri_doc_len(const char *uri)
{
	return strcspn(uri, "#");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes S[0..LEN) into DST (at least LEN+1 bytes); its length. */
static size_t percent_decode(char *dst, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			dst[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dst[n++] = s[i];
		}
	}
	dst[n] = '\0';
	return n;
}

/* Unescapes one pointer token in place (~1 is '/', ~0 is '~'); its length. */
static size_t unescape_token(char *tok, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (tok[i] == '~' && i + 1 < len && (tok[i + 1] == '0' || tok[i + 1] == '1')) {
			tok[n++] = tok[i + 1] == '0' ? '~' : '/';
			i++;
		} else {
			tok[n++] = tok[i];
		}
	}
	return n;
}

static const struct cfgfs_node *step_into(const struct cfgfs_node *node, const char *tok,
                                          size_t len)
{
	size_t i;

	if (node->kind == CFGFS_NODE_MAPPING) {
		for (i = 0; i < node->mapping.count; i++) {
			const struct cfgfs_node *k = node->mapping.pairs[i].key;

			if (k->kind == CFGFS_NODE_SCALAR && k->scalar.len == len &&
			    memcmp(k->scalar.text, tok, len) == 0)
				return node->mapping.pairs[i].value;
		}
		return NULL;
	}
	if (node->kind == CFGFS_NODE_SEQUENCE) {
		size_t index = 0;

		if (len == 0 || (len > 1 && tok[0] == '0'))
			return NULL;
		for (i = 0; i < len; i++) {
			if (tok[i] < '0' || tok[i] > '9' || index > node->sequence.count)
				return NULL;
			index = index * 10 + (size_t)(tok[i] - '0');
		}
		return index < node->sequence.count ? node->sequence.items[index] : NULL;
	}
	return NULL;
}

const struct cfgfs_node *schema_pointer_follow(const struct cfgfs_node *node,
                                               const char *fragment)
{
	size_t len = strlen(fragment), n;
	char *buf = malloc(len + 1), *tok;
	const struct cfgfs_node *at = node;

	if (buf == NULL)
		return NULL;
	n = percent_decode(buf, fragment, len);
	if (n > 0 && buf[0] != '/') {
		at = NULL;
		goto cleanup;
	}
	tok = buf;
	while (at != NULL && (size_t)(tok - buf) < n) {
		size_t tlen;

		tok++; /* the '/' */
		tlen = strcspn(tok, "/");
		if ((size_t)(tok - buf) + tlen > n)
			tlen = n - (size_t)(tok - buf);
		at = step_into(at, tok, unescape_token(tok, tlen));
		tok += tlen;
	}

cleanup:
	free(buf);
	return at;
}
