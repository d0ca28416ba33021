/*
 * glob.c — gitignore-style glob compiler and matcher.
 *
 * A pattern compiles to a list of tokens. Every single-byte item (a literal,
 * `?`, a bracket expression) becomes a 256-bit byte set, so matching needs
 * only four token kinds. Matching is a set simulation over text positions
 * (no backtracking): after k tokens, reach[i] says whether the first k
 * tokens can match text[0..i). The cost is O(tokens * length) whatever the
 * pattern, so a hostile pattern cannot make a save slow.
 *
 * Because reach[] is computed for every prefix at once, the final row also
 * says which ancestor directories match, which is how git's "a path inside
 * a matched directory is matched" rule comes for free.
 */
#include "backend/names/glob.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind {
	TOK_SET,	 /* one byte from the set */
	TOK_STAR,	 /* any run of bytes without '/' */
	TOK_ANY_PATH,	 /* any run of bytes, '/' included (trailing / + **) */
	TOK_DIRS,	 /* zero or more whole "name/" segments (** + / ) */
};

#define SET_BYTES (256 / 8)

struct tok {
	enum tok_kind kind;
	uint8_t set[SET_BYTES];
};

struct cfgfs_glob {
	char *pattern;	 /* as given */
	bool anchored;	 /* match the whole path, else each component */
	bool dir_only;	 /* trailing '/' */
	size_t ntok;
	struct tok tok[]; /* ntok entries */
};

static void set_add(struct tok *t, unsigned char c)
{
	t->set[c / 8] |= (uint8_t)(1u << (c % 8));
}

static bool set_has(const struct tok *t, unsigned char c)
{
	return (t->set[c / 8] >> (c % 8)) & 1u;
}

static void set_err(char *err, size_t errlen, const char *pattern, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "glob '%s': %s", pattern, why);
}

/* The POSIX classes git's wildmatch knows. */
static bool class_has(const char *name, size_t len, int c)
{
	/* Byte-wise and locale-independent: ASCII definitions only. */
	bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
	bool digit = c >= '0' && c <= '9';
	bool alpha = lower || upper;
	bool graph = c > 0x20 && c < 0x7f;
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("alnum"))
		return alpha || digit;
	if (IS("alpha"))
		return alpha;
	if (IS("blank"))
		return c == ' ' || c == '\t';
	if (IS("cntrl"))
		return c < 0x20 || c == 0x7f;
	if (IS("digit"))
		return digit;
	if (IS("graph"))
		return graph;
	if (IS("lower"))
		return lower;
	if (IS("print"))
		return graph || c == ' ';
	if (IS("punct"))
		return graph && !alpha && !digit;
	if (IS("space"))
		return c == ' ' || (c >= '\t' && c <= '\r');
	if (IS("upper"))
		return upper;
	if (IS("xdigit"))
		return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
#undef IS
	return false;
}

static bool class_known(const char *name, size_t len)
{
	static const char *const names[] = { "alnum", "alpha", "blank", "cntrl",
					     "digit", "graph", "lower", "print",
					     "punct", "space", "upper", "xdigit" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return true;
	return false;
}

/*
 * Parse the bracket expression starting at p[0] == '[' (p ends at END) into
 * T. Returns the position after the closing ']', or NULL when unterminated
 * or malformed (*WHY says which).
 */
static const char *parse_bracket(const char *p, const char *end, struct tok *t,
				 const char **why)
{
	bool negate = false;
	int prev = -1; /* last single byte, for ranges; -1 after a range */

	p++;
	if (p < end && (*p == '!' || *p == '^')) {
		negate = true;
		p++;
	}
	/* The first item is taken before looking for ']', so "[]]" is "]". */
	bool first = true;
	for (;;) {
		if (p >= end) {
			*why = "unterminated '['";
			return NULL;
		}
		if (*p == ']' && !first)
			break;
		first = false;
		unsigned char c = (unsigned char)*p;
		if (c == '\\') {
			if (++p >= end) {
				*why = "unterminated '['";
				return NULL;
			}
			c = (unsigned char)*p;
			set_add(t, c);
			prev = c;
			p++;
		} else if (c == '-' && prev >= 0 && p + 1 < end && p[1] != ']') {
			p++;
			unsigned char hi = (unsigned char)*p;
			if (hi == '\\') {
				if (++p >= end) {
					*why = "unterminated '['";
					return NULL;
				}
				hi = (unsigned char)*p;
			}
			for (int b = prev; b <= hi; b++)
				set_add(t, (unsigned char)b);
			prev = -1;
			p++;
		} else if (c == '[' && p + 1 < end && p[1] == ':') {
			const char *name = p + 2, *q = name;
			while (q < end && *q != ']')
				q++;
			if (q >= end) {
				*why = "unterminated '['";
				return NULL;
			}
			if (q - 1 < name || q[-1] != ':') {
				/* No ":]": an ordinary '['. */
				set_add(t, '[');
				prev = '[';
				p++;
				continue;
			}
			size_t len = (size_t)(q - 1 - name);
			if (!class_known(name, len)) {
				*why = "unknown character class in '[:...:]'";
				return NULL;
			}
			for (int b = 0; b < 256; b++)
				if (class_has(name, len, b))
					set_add(t, (unsigned char)b);
			prev = -1;
			p = q + 1;
		} else {
			set_add(t, c);
			prev = c;
			p++;
		}
	}
	if (negate)
		for (size_t i = 0; i < SET_BYTES; i++)
			t->set[i] = (uint8_t)~t->set[i];
	/* In a path, brackets never match the separator. */
	t->set['/' / 8] &= (uint8_t) ~(1u << ('/' % 8));
	return p + 1;
}

/* Length of PATTERN once unescaped trailing spaces are dropped (git rule). */
static size_t trimmed_length(const char *pattern, size_t len)
{
	while (len > 0 && pattern[len - 1] == ' ') {
		/* Count the backslashes before the space: odd means escaped. */
		size_t bs = 0;
		while (bs + 1 < len && pattern[len - 2 - bs] == '\\')
			bs++;
		if (bs % 2)
			break;
		len--;
	}
	return len;
}

/* Tokenize P[0..END) into G (which has room for END - P tokens). */
static int tokenize(struct cfgfs_glob *g, const char *start, const char *end,
		    const char **why)
{
	const char *p = start;
	bool seen_wild = false;

	while (p < end) {
		struct tok *t = &g->tok[g->ntok];
		bool wild_here = strchr("*?[\\", *p) != NULL;
		memset(t, 0, sizeof(*t));
		if (*p == '*') {
			const char *q = p;
			while (q < end && *q == '*')
				q++;
			/*
			 * git compares an anchored pattern's literal prefix first
			 * and hands only the rest to its wildcard matcher, so a
			 * "**" that is the first wildcard counts as starting a
			 * segment even after "a" ("a** + /x" matches "a/b/x").
			 * Follow git, the oracle, rather than its manual.
			 */
			bool at_start = p == start || p[-1] == '/' || (g->anchored && !seen_wild);
			bool slash_next = q < end && (*q == '/' || (*q == '\\' && q + 1 < end && q[1] == '/'));
			bool whole_segment = (q - p >= 2) && at_start && (q == end || slash_next);
			if (!whole_segment) {
				t->kind = TOK_STAR;
			} else if (q == end) {
				t->kind = TOK_ANY_PATH;
			} else {
				t->kind = TOK_DIRS;
				q += *q == '/' ? 1 : 2; /* the '/' belongs to the run */
			}
			p = q;
		} else if (*p == '?') {
			t->kind = TOK_SET;
			memset(t->set, 0xff, sizeof(t->set));
			t->set['/' / 8] &= (uint8_t) ~(1u << ('/' % 8));
			p++;
		} else if (*p == '[') {
			t->kind = TOK_SET;
			p = parse_bracket(p, end, t, why);
			if (!p)
				return -EINVAL;
		} else {
			if (*p == '\\') {
				if (++p >= end) {
					*why = "trailing '\\' escapes nothing";
					return -EINVAL;
				}
			}
			t->kind = TOK_SET;
			set_add(t, (unsigned char)*p);
			p++;
		}
		g->ntok++;
		seen_wild = seen_wild || wild_here;
	}
	return 0;
}

int cfgfs_glob_compile(struct cfgfs_glob **out, const char *pattern, char *err,
		       size_t errlen)
{
	struct cfgfs_glob *g = NULL;
	const char *why = NULL;
	int rc;

	*out = NULL;
	size_t len = strlen(pattern);
	if (len > CFGFS_GLOB_MAX_PATTERN) {
		why = "too long";
		rc = -EINVAL;
		goto cleanup;
	}
	if (pattern[0] == '!') {
		why = "negation ('!') is not supported; write '\\!' for a literal '!'";
		rc = -EINVAL;
		goto cleanup;
	}
	len = trimmed_length(pattern, len);

	g = calloc(1, sizeof(*g) + (len + 1) * sizeof(struct tok));
	if (!g) {
		rc = -ENOMEM;
		goto cleanup;
	}
	g->pattern = strdup(pattern);
	if (!g->pattern) {
		rc = -ENOMEM;
		goto cleanup;
	}

	/* As git: one trailing '/' means "directories only"; any other '/'
	 * (escaped or not) anchors the pattern to the root. */
	const char *start = pattern, *end = pattern + len;
	if (end > start && end[-1] == '/') {
		g->dir_only = true;
		end--;
	}
	g->anchored = memchr(start, '/', (size_t)(end - start)) != NULL;
	if (g->anchored && *start == '/')
		start++;
	if (start == end) {
		why = "empty pattern";
		rc = -EINVAL;
		goto cleanup;
	}
	rc = tokenize(g, start, end, &why);
	if (rc < 0)
		goto cleanup;

	*out = g;
	g = NULL;
	rc = 0;
cleanup:
	if (rc == -ENOMEM)
		why = "out of memory";
	if (rc < 0)
		set_err(err, errlen, pattern, why);
	cfgfs_glob_free(g);
	return rc;
}

/*
 * Run the token program over TEXT[0..LEN); on return REACH[i] tells whether
 * the whole pattern matches TEXT[0..i). NEXT is scratch of the same size.
 */
static void simulate(const struct cfgfs_glob *g, const char *text, size_t len,
		     uint8_t *reach, uint8_t *next)
{
	memset(reach, 0, len + 1);
	reach[0] = 1;
	for (size_t k = 0; k < g->ntok; k++) {
		const struct tok *t = &g->tok[k];
		bool any = false, run = false;

		memset(next, 0, len + 1);
		for (size_t i = 0; i <= len; i++) {
			switch (t->kind) {
			case TOK_SET:
				if (reach[i] && i < len && set_has(t, (unsigned char)text[i]))
					next[i + 1] = 1;
				break;
			case TOK_STAR:
				run = run || reach[i];
				next[i] = run;
				if (i < len && text[i] == '/')
					run = false;
				break;
			case TOK_ANY_PATH:
				run = run || reach[i];
				next[i] = run;
				break;
			case TOK_DIRS:
				/* Zero segments, or anything ending in '/' after a start. */
				if (reach[i] || (i > 0 && text[i - 1] == '/' && run))
					next[i] = 1;
				run = run || reach[i];
				break;
			}
		}
		memcpy(reach, next, len + 1);
		for (size_t i = 0; i <= len && !any; i++)
			any = reach[i];
		if (!any)
			return;
	}
}

bool cfgfs_glob_match(const struct cfgfs_glob *g, const char *path, bool is_dir)
{
	uint8_t reach[CFGFS_GLOB_MAX_PATH + 1], next[CFGFS_GLOB_MAX_PATH + 1];
	size_t len = strlen(path);

	if (len == 0 || len > CFGFS_GLOB_MAX_PATH)
		return false;

	if (g->anchored) {
		simulate(g, path, len, reach, next);
		if (reach[len] && (is_dir || !g->dir_only))
			return true;
		/* An ancestor directory (every prefix ending before a '/'). */
		for (size_t i = 1; i < len; i++)
			if (path[i] == '/' && reach[i])
				return true;
		return false;
	}

	/* Unanchored: each component's name; all but the last are directories. */
	size_t a = 0;
	while (a < len) {
		size_t b = a;
		while (b < len && path[b] != '/')
			b++;
		bool comp_dir = b < len || is_dir;
		if (b > a) {
			simulate(g, path + a, b - a, reach, next);
			if (reach[b - a] && (comp_dir || !g->dir_only))
				return true;
		}
		a = b + 1;
	}
	return false;
}

const char *cfgfs_glob_pattern(const struct cfgfs_glob *g)
{
	return g->pattern;
}

void cfgfs_glob_free(struct cfgfs_glob *g)
{
	if (!g)
		return;
	free(g->pattern);
	free(g);
}
