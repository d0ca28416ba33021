/*
 * test_validate.c — table of valid and invalid documents for every check,
 * asserting the exact return code, reason and "LINE:COL: message".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/formats/validate.h"

#define Y CFGFS_FORMAT_YAML
#define J CFGFS_FORMAT_JSON
#define EXPECT_MAX 600

struct vcase {
	const char *name;
	enum cfgfs_format fmt;
	const char *text;
	int rc;
	const char *reason;
	const char *expect; /* "LINE:COL: message"; NULL when valid */
};

static const struct vcase CASES[] = {
    /* ---- YAML accepted as people write it ---- */
    {"yaml empty file", Y, "", 0, NULL, NULL},
    {"yaml comments only", Y, "# nothing\n", 0, NULL, NULL},
    {"yaml empty documents", Y, "---\n---\n", 0, NULL, NULL},
    {"yaml multi-doc", Y, "a: 1\n---\nb: 2\n...\n---\nc: [1, 2]\n", 0, NULL, NULL},
    {"yaml anchors and aliases", Y, "x: &x {a: 1}\ny: *x\nz: [*x, *x]\n", 0, NULL, NULL},
    {"yaml merge key", Y, "base: &b {a: 1, b: 2}\nsvc:\n  <<: *b\n  a: 3\n", 0, NULL, NULL},
    {"yaml merge list", Y, "p: &p {a: 1}\nq: &q {b: 2}\nr:\n  <<: [*p, *q]\n  c: 3\n", 0, NULL,
     NULL},
    {"yaml explicit key equal to merged key", Y, "b: &b {a: 1}\nc:\n  a: 2\n  <<: *b\n", 0, NULL,
     NULL},
    {"yaml cloudformation tags", Y,
     "R:\n  V: !Ref Env\n  S: !Sub '${A}-x'\n  G: !GetAtt [Role, Arn]\n  J: !Join\n    - ''\n"
     "    - [a, b]\n",
     0, NULL, NULL},
    {"yaml quoted vs plain keys differ", Y, "1: a\n\"1\": b\n", 0, NULL, NULL},
    {"yaml same text different type", Y, "true: a\n'true': b\n", 0, NULL, NULL},
    {"yaml block scalars", Y, "a: |\n  line\n  line\nb: >-\n  folded\n", 0, NULL, NULL},
    {"yaml utf-8 text", Y, "name: \xc3\xa9t\xc3\xa9\n", 0, NULL, NULL},
    {"yaml bom", Y,
     "\xef\xbb\xbf"
     "a: 1\n",
     0, NULL, NULL},
    {"yaml yaml-1.1 booleans are strings", Y, "a: yes\nb: on\nc: 0755\n", 0, NULL, NULL},
    {"yaml depth 64 ok", Y,
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
     0, NULL, NULL},

    /* ---- YAML refused ---- */
    {"yaml syntax: unclosed flow", Y, "a: 1\nb: [1, 2\n", -EINVAL, "syntax",
     "3:1: did not find expected ',' or ']' (while parsing a flow sequence started at line 2, "
     "column 4)"},
    {"yaml syntax: bad indentation", Y, "a:\n  b: 1\n c: 2\n", -EINVAL, "syntax",
     "3:2: did not find expected key (while parsing a block mapping started at line 1, column "
     "1)"},
    {"yaml syntax: tab indent", Y, "a:\n\tb: 1\n", -EINVAL, "syntax",
     "2:1: found character that cannot start any token (while scanning for the next token "
     "started at line 2, column 1)"},
    {"yaml syntax: mapping value here", Y, "a: b: c\n", -EINVAL, "syntax",
     "1:5: mapping values are not allowed in this context"},
    {"yaml duplicate key", Y, "name: a\nport: 1\nname: b\n", -EINVAL, "duplicate",
     "3:1: duplicate key \"name\" (first at line 1)"},
    {"yaml duplicate nested, earlier one wins", Y, "a: 1\na: 2\nb:\n  c: 1\n  c: 2\n", -EINVAL,
     "duplicate", "2:1: duplicate key \"a\" (first at line 1)"},
    {"yaml duplicate in flow mapping", Y, "x: {k: 1, k: 2}\n", -EINVAL, "duplicate",
     "1:11: duplicate key \"k\" (first at line 1)"},
    {"yaml duplicate int keys 0x10 and 16", Y, "0x10: a\n16: b\n", -EINVAL, "duplicate",
     "2:1: duplicate key \"16\" (first at line 1)"},
    {"yaml duplicate null keys", Y, "~: a\nnull: b\n", -EINVAL, "duplicate",
     "2:1: duplicate key \"null\" (first at line 1)"},
    {"yaml duplicate in second document", Y, "a: 1\n---\nb: 1\nb: 2\n", -EINVAL, "duplicate",
     "4:1: duplicate key \"b\" (first at line 3)"},
    {"yaml duplicate tagged key", Y, "!Ref a: 1\n!Ref a: 2\n", -EINVAL, "duplicate",
     "2:1: duplicate key \"a\" (first at line 1)"},
    {"yaml merge of a scalar", Y, "a:\n  <<: 3\n", -EINVAL, "syntax",
     "2:7: merge key \"<<\" needs a mapping or a sequence of mappings"},
    {"yaml merge of a list of scalars", Y, "a:\n  <<: [1, 2]\n", -EINVAL, "syntax",
     "2:7: merge key \"<<\" needs a mapping or a sequence of mappings"},
    {"yaml undefined alias", Y, "a: *nope\n", -EINVAL, "syntax",
     "1:4: alias to undefined anchor \"nope\""},
    {"yaml anchors do not cross documents", Y, "a: &x 1\n---\nb: *x\n", -EINVAL, "syntax",
     "3:4: alias to undefined anchor \"x\""},
    {"yaml self-referencing alias", Y, "a: &a [*a]\n", -EINVAL, "syntax",
     "1:8: alias to undefined anchor \"a\""},
    {"yaml depth 65", Y,
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
     -EINVAL, "limit", "1:65: nesting deeper than 64 levels"},
    {"yaml block depth", Y,
     "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - "
     "- - - - - - - - - - - - - - - - - - - - - - x\n",
     -EINVAL, "limit", "1:129: nesting deeper than 64 levels"},
    {"yaml bad !!int", Y, "a: !!int abc\n", -EINVAL, "syntax", "1:4: \"abc\" is not a valid !!int"},
    {"yaml invalid utf-8", Y, "a: 1\nb: \"x\xc3\x28\"\n", -EINVAL, "encoding",
     "2:6: invalid UTF-8 byte 0xc3"},
    {"yaml overlong utf-8", Y, "a: \xc0\xaf\n", -EINVAL, "encoding",
     "1:4: invalid UTF-8 byte 0xc0"},
    {"yaml utf-8 surrogate", Y, "a: \xed\xa0\x80\n", -EINVAL, "encoding",
     "1:4: invalid UTF-8 byte 0xed"},
    {"yaml truncated utf-8 at end", Y, "a: \xe2\x82", -EINVAL, "encoding",
     "1:4: invalid UTF-8 byte 0xe2"},
    {"yaml control character", Y, "a: \x01\n", -EINVAL, "encoding",
     "1:4: control characters are not allowed (#x1)"},
    {"yaml column counts characters", Y, "\xc3\xa9\xc3\xa9: 1\n\xc3\xa9\xc3\xa9: 2\n", -EINVAL,
     "duplicate", "2:1: duplicate key \"\xc3\xa9\xc3\xa9\" (first at line 1)"},

    /* ---- JSON accepted ---- */
    {"json object", J, "{\"a\": 1, \"b\": [true, false, null, 1.5e3, -0, \"x\"]}", 0, NULL, NULL},
    {"json scalar root", J, "\"just a string\"\n", 0, NULL, NULL},
    {"json escapes", J, "{\"a\": \"\\u00e9\\ud83d\\ude00\\n\\\"\"}", 0, NULL, NULL},
    {"json bom", J, "\xef\xbb\xbf{}", 0, NULL, NULL},
    {"json same key in sibling objects", J, "[{\"a\": 1}, {\"a\": 2}]", 0, NULL, NULL},
    {"json whitespace around", J, " \r\n\t{}\n\n", 0, NULL, NULL},

    /* ---- JSON refused ---- */
    {"json empty file", J, "", -EINVAL, "syntax", "1:1: empty JSON document"},
    {"json whitespace only", J, "\n  \n", -EINVAL, "syntax", "3:1: empty JSON document"},
    {"json duplicate key", J, "{\n  \"name\": 1,\n  \"x\": 2,\n  \"name\": 3\n}\n", -EINVAL,
     "duplicate", "4:3: duplicate key \"name\" (first at line 2)"},
    {"json duplicate nested", J, "{\"a\": {\"b\": 1,\n  \"b\": 2}}", -EINVAL, "duplicate",
     "2:3: duplicate key \"b\" (first at line 1)"},
    {"json duplicate after escape decoding", J, "{\"\\u0061\": 1, \"a\": 2}", -EINVAL, "duplicate",
     "1:15: duplicate key \"a\" (first at line 1)"},
    {"json trailing garbage", J, "{\"a\": 1}\nx", -EINVAL, "syntax",
     "2:1: trailing data after the JSON value, found 'x'"},
    {"json two values", J, "{} {}", -EINVAL, "syntax",
     "1:4: trailing data after the JSON value, found '{'"},
    {"json trailing comma in object", J, "{\"a\": 1,}", -EINVAL, "syntax",
     "1:9: expected a string key, found '}'"},
    {"json trailing comma in array", J, "[1, 2,]", -EINVAL, "syntax",
     "1:7: expected a JSON value, found ']'"},
    {"json missing colon", J, "{\"a\" 1}", -EINVAL, "syntax",
     "1:6: expected ':' after object key, found '1'"},
    {"json missing comma", J, "{\"a\": 1\n \"b\": 2}", -EINVAL, "syntax",
     "2:2: expected ',' or '}' after object member, found '\"'"},
    {"json unquoted key", J, "{a: 1}", -EINVAL, "syntax",
     "1:2: expected a string key or '}', found 'a'"},
    {"json single quotes", J, "['a']", -EINVAL, "syntax", "1:2: expected a JSON value, found '''"},
    {"json unterminated string", J, "{\"a\": \"abc", -EINVAL, "syntax", "1:7: unterminated string"},
    {"json raw newline in string", J, "[\"a\nb\"]", -EINVAL, "syntax",
     "1:4: control character 0x0a in string"},
    {"json bad escape", J, "[\"\\q\"]", -EINVAL, "syntax", "1:3: invalid escape '\\q' in string"},
    {"json bad unicode escape", J, "[\"\\u12G4\"]", -EINVAL, "syntax",
     "1:3: invalid \\u escape in string"},
    {"json lone surrogate", J, "[\"\\udc00\"]", -EINVAL, "syntax",
     "1:3: unpaired surrogate in \\u escape"},
    {"json leading zero", J, "[01]", -EINVAL, "syntax", "1:2: invalid number"},
    {"json plus sign", J, "[+1]", -EINVAL, "syntax", "1:2: expected a JSON value, found '+'"},
    {"json bare dot", J, "[1.]", -EINVAL, "syntax", "1:2: invalid number"},
    {"json nan", J, "[NaN]", -EINVAL, "syntax", "1:2: expected a JSON value, found 'N'"},
    {"json bad literal", J, "[tru]", -EINVAL, "syntax", "1:2: invalid literal (expected true)"},
    {"json comment", J, "{} // c", -EINVAL, "syntax",
     "1:4: trailing data after the JSON value, found '/'"},
    {"json unclosed", J, "{\"a\": [1, 2", -EINVAL, "syntax",
     "1:12: expected ',' or ']' after array element, found end of input"},
    {"json depth 65", J,
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
     -EINVAL, "limit", "1:65: nesting deeper than 64 levels"},
    {"json invalid utf-8", J, "{\"a\": \"\xff\"}", -EINVAL, "encoding",
     "1:8: invalid UTF-8 byte 0xff"},
    {"json utf-16 is not utf-8", J, "\xff\xfe{\0}\0", -EINVAL, "encoding",
     "1:1: invalid UTF-8 byte 0xff"},
    {"json column counts characters", J, "{\"\xc3\xa9\": 1, \"\xc3\xa9\": 2}", -EINVAL, "duplicate",
     "1:10: duplicate key \"\xc3\xa9\" (first at line 1)"},
    {"json number too long for cJSON", J,
     "[1234567890123456789012345678901234567890123456789012345678901234567890]", -EINVAL, "limit",
     "1:2: number longer than 63 characters"},

    /* ---- formats that are never parsed ---- */
    {"none is never parsed", CFGFS_FORMAT_NONE, "{{{", 0, NULL, NULL},
    {"text is never parsed", CFGFS_FORMAT_TEXT, "\xff", 0, NULL, NULL},
};

/* Texts with embedded NULs or sizes strlen cannot give. */
static size_t case_len(const struct vcase *c)
{
	if (strcmp(c->name, "json utf-16 is not utf-8") == 0)
		return 6;
	return strlen(c->text);
}

static int run_case(const struct vcase *c)
{
	struct cfgfs_diag d;
	char got[EXPECT_MAX];
	int rc;

	rc = cfgfs_validate(&d, c->fmt, c->text, case_len(c), NULL);
	if (rc == 0)
		(void)snprintf(got, sizeof(got), "(valid)");
	else
		(void)snprintf(got, sizeof(got), "%u:%u: %s", d.line, d.col, d.message);
	if (rc != c->rc || (c->expect != NULL && strcmp(got, c->expect) != 0) ||
	    (c->reason != NULL && (d.reason == NULL || strcmp(d.reason, c->reason) != 0)) ||
	    (c->reason == NULL && rc == 0 && d.reason != NULL)) {
		printf("FAIL %s\n  want rc=%d %s [%s]\n  got  rc=%d %s [%s]\n", c->name, c->rc,
		       c->expect != NULL ? c->expect : "(valid)", c->reason ? c->reason : "-", rc,
		       got, d.reason ? d.reason : "-");
		return 1;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Builds the classic billion-laughs document. */
static char *alias_bomb(void)
{
	size_t cap = 4096, o = 0;
	char *b = malloc(cap);
	int level, i;

	if (b == NULL)
		return NULL;
	o += (size_t)snprintf(b + o, cap - o, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (level = 1; level < 10; level++) {
		o += (size_t)snprintf(b + o, cap - o, "a%d: &a%d [", level, level);
		for (i = 0; i < 9; i++)
			o += (size_t)snprintf(b + o, cap - o, "%s*a%d", i ? ", " : "", level - 1);
		o += (size_t)snprintf(b + o, cap - o, "]\n");
	}
	return b;
}

/* Deep, bomb and oversize inputs must be refused fast with the right reason. */
static int run_limits(void)
{
	const size_t deep = 10000;
	struct cfgfs_limits small = CFGFS_LIMITS_DEFAULT;
	struct cfgfs_diag d;
	char *buf = NULL, *bomb = NULL;
	int failures = 0, rc;
	double t0, ms;
	size_t i;

	buf = malloc(2 * deep + 1);
	bomb = alias_bomb();
	if (buf == NULL || bomb == NULL) {
		printf("FAIL limits: out of memory\n");
		failures++;
		goto cleanup;
	}
	for (i = 0; i < deep; i++) {
		buf[i] = '[';
		buf[deep + i] = ']';
	}
	buf[2 * deep] = '\0';

	t0 = now_ms();
	rc = cfgfs_validate(&d, Y, buf, 2 * deep, NULL);
	ms = now_ms() - t0;
	if (rc != -EINVAL || strcmp(d.reason, "limit") != 0) {
		printf("FAIL yaml 10000 deep: rc=%d %.1f ms\n", rc, ms);
		failures++;
	}
	t0 = now_ms();
	rc = cfgfs_validate(&d, J, buf, 2 * deep, NULL);
	ms = now_ms() - t0;
	if (rc != -EINVAL || strcmp(d.reason, "limit") != 0) {
		printf("FAIL json 10000 deep: rc=%d %.1f ms\n", rc, ms);
		failures++;
	}

	t0 = now_ms();
	rc = cfgfs_validate(&d, Y, bomb, strlen(bomb), NULL);
	ms = now_ms() - t0;
	if (rc != -EINVAL || strcmp(d.reason, "limit") != 0 ||
	    strcmp(d.message, "document has more than 100000 nodes (aliases expanded)") != 0 ||
	    d.line != 6 || d.col != 10) {
		printf("FAIL alias bomb: rc=%d %u:%u %s %.1f ms\n", rc, d.line, d.col, d.message,
		       ms);
		failures++;
	}

	small.max_size = 10;
	rc = cfgfs_validate(&d, J, "[1, 2, 3, 4, 5]", 15, &small);
	if (rc != -EFBIG || strcmp(d.reason, "size") != 0 || d.line != 0 ||
	    strcmp(d.message, "file is larger than the limit of 10 bytes") != 0) {
		printf("FAIL size: rc=%d %s\n", rc, d.message);
		failures++;
	}
	rc = cfgfs_validate(&d, Y, "a: 1\n", 5, &small);
	if (rc != 0) {
		printf("FAIL size: a small file was refused\n");
		failures++;
	}
	/* The size check comes before any parsing: bad bytes over the limit say "size". */
	rc = cfgfs_validate(&d, Y, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11, &small);
	if (rc != -EFBIG) {
		printf("FAIL size before encoding: rc=%d\n", rc);
		failures++;
	}
	small = (struct cfgfs_limits)CFGFS_LIMITS_DEFAULT;
	small.max_nodes = 5;
	rc = cfgfs_validate(&d, J, "[1, 2, 3, 4, 5]", 15, &small);
	if (rc != -EINVAL || strcmp(d.message, "document has more than 5 nodes") != 0 ||
	    d.col != 14) {
		printf("FAIL json node limit: rc=%d %u:%u %s\n", rc, d.line, d.col, d.message);
		failures++;
	}
	small.max_depth = 2;
	small.max_nodes = CFGFS_LIMIT_MAX_NODES;
	/* An alias adds its anchor's height to the depth where it is used. */
	rc = cfgfs_validate(&d, Y, "a: &a [1]\nb: [*a]\n", 18, &small);
	if (rc != -EINVAL || d.line != 2 || d.col != 5 ||
	    strcmp(d.message, "nesting deeper than 2 levels") != 0) {
		printf("FAIL alias depth: rc=%d %u:%u %s\n", rc, d.line, d.col, d.message);
		failures++;
	}

cleanup:
	free(buf);
	free(bomb);
	return failures;
}

int main(void)
{
	size_t i, n = sizeof(CASES) / sizeof(CASES[0]);
	int failures = 0;

	for (i = 0; i < n; i++)
		failures += run_case(&CASES[i]);
	failures += run_limits();
	printf("%zu table cases, %d failures\n", n, failures);
	return failures == 0 ? 0 : 1;
}
