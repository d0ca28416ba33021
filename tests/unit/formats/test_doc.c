/*
 * test_doc.c — the document model a schema validator will walk: resolved
 * scalar types, merge keys, tags, positions, multi-document streams, and
 * parsing from many threads at once.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backend/formats/doc.h"
#include "backend/formats/validate.h"

#define THREADS 8
#define ROUNDS 200

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static struct cfgfs_doc *parse(enum cfgfs_format fmt, const char *text)
{
	struct cfgfs_doc *doc = NULL;
	struct cfgfs_diag d;
	int rc = cfgfs_doc_parse(&doc, &d, fmt, text, strlen(text), NULL);

	if (rc != 0) {
		printf("FAIL parse: %d %u:%u %s\n", rc, d.line, d.col, d.message);
		failures++;
		return NULL;
	}
	return doc;
}

static const struct cfgfs_node *get(const struct cfgfs_node *map, const char *key)
{
	return cfgfs_doc_lookup(map, key);
}

struct type_case {
	const char *text;
	enum cfgfs_scalar_type type;
};

static void test_core_schema(void)
{
	static const struct type_case cases[] = {
	    {"~", CFGFS_SCALAR_NULL},       {"null", CFGFS_SCALAR_NULL},
	    {"Null", CFGFS_SCALAR_NULL},    {"", CFGFS_SCALAR_NULL},
	    {"true", CFGFS_SCALAR_BOOL},    {"FALSE", CFGFS_SCALAR_BOOL},
	    {"yes", CFGFS_SCALAR_STRING},   {"on", CFGFS_SCALAR_STRING},
	    {"42", CFGFS_SCALAR_INT},       {"-7", CFGFS_SCALAR_INT},
	    {"0o17", CFGFS_SCALAR_INT},     {"0x1F", CFGFS_SCALAR_INT},
	    {"0755", CFGFS_SCALAR_INT},     {"1.5", CFGFS_SCALAR_FLOAT},
	    {"1e3", CFGFS_SCALAR_FLOAT},    {".5", CFGFS_SCALAR_FLOAT},
	    {"-.inf", CFGFS_SCALAR_FLOAT},  {".NaN", CFGFS_SCALAR_FLOAT},
	    {"1_000", CFGFS_SCALAR_STRING}, {"12:30", CFGFS_SCALAR_STRING},
	    {"v1.2", CFGFS_SCALAR_STRING},  {"0x", CFGFS_SCALAR_STRING},
	};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfgfs_doc *doc;
		const struct cfgfs_node *v;

		(void)snprintf(text, sizeof(text), "k: %s\n", cases[i].text);
		doc = parse(CFGFS_FORMAT_YAML, text);
		if (doc == NULL)
			continue;
		v = get(doc->roots[0], "k");
		if (v == NULL || v->kind != CFGFS_NODE_SCALAR || v->scalar.type != cases[i].type) {
			printf("FAIL core schema: %s resolved as %s\n", cases[i].text,
			       v ? cfgfs_doc_scalar_type_name(v->scalar.type) : "(missing)");
			failures++;
		}
		cfgfs_doc_free(doc);
	}
}

static void test_values(void)
{
	struct cfgfs_doc *doc = parse(CFGFS_FORMAT_YAML, "a: 0x1F\nb: -12\nc: 2.5\nd: 'true'\n"
	                                                 "e: 99999999999999999999\n");
	const struct cfgfs_node *r;

	if (doc == NULL)
		return;
	r = doc->roots[0];
	CHECK(get(r, "a")->scalar.int_exact && get(r, "a")->scalar.integer == 31);
	CHECK(get(r, "b")->scalar.integer == -12 && get(r, "b")->scalar.number == -12.0);
	CHECK(get(r, "c")->scalar.number == 2.5);
	CHECK(get(r, "d")->scalar.type == CFGFS_SCALAR_STRING);
	CHECK(get(r, "e")->scalar.type == CFGFS_SCALAR_INT && !get(r, "e")->scalar.int_exact &&
	      get(r, "e")->scalar.number > 9.9e19);
	cfgfs_doc_free(doc);
}

static void test_merge_and_tags(void)
{
	struct cfgfs_doc *doc = parse(CFGFS_FORMAT_YAML, "base: &b {image: x, port: 1}\n"
	                                                 "extra: &e {port: 2, debug: true}\n"
	                                                 "svc:\n"
	                                                 "  <<: [*b, *e]\n"
	                                                 "  image: y\n"
	                                                 "ref: !Ref Env\n"
	                                                 "att: !GetAtt [Role, Arn]\n"
	                                                 "str: !!str 12\n");
	const struct cfgfs_node *r, *svc;

	if (doc == NULL)
		return;
	r = doc->roots[0];
	svc = get(r, "svc");
	CHECK(svc != NULL && svc->kind == CFGFS_NODE_MAPPING && svc->mapping.count == 3);
	CHECK(strcmp(get(svc, "image")->scalar.text, "y") == 0); /* explicit key wins */
	CHECK(get(svc, "port")->scalar.integer == 1);            /* earlier source wins */
	CHECK(get(svc, "debug")->scalar.boolean);
	CHECK(get(svc, "<<") == NULL);
	CHECK(get(r, "ref")->tag != NULL && strcmp(get(r, "ref")->tag, "!Ref") == 0);
	CHECK(get(r, "ref")->scalar.type == CFGFS_SCALAR_STRING);
	CHECK(strcmp(get(r, "ref")->scalar.text, "Env") == 0);
	CHECK(get(r, "att")->kind == CFGFS_NODE_SEQUENCE && get(r, "att")->sequence.count == 2);
	CHECK(strcmp(get(r, "att")->tag, "!GetAtt") == 0);
	CHECK(get(r, "str")->tag == NULL && get(r, "str")->scalar.type == CFGFS_SCALAR_STRING);
	cfgfs_doc_free(doc);
}

static void test_positions_and_streams(void)
{
	struct cfgfs_doc *doc =
	    parse(CFGFS_FORMAT_YAML, "a: 1\n---\nlist:\n  - x\n  - {k: v}\n---\n");
	const struct cfgfs_node *list;

	if (doc != NULL) {
		CHECK(doc->count == 3);
		list = get(doc->roots[1], "list");
		CHECK(list->line == 4 && list->col == 3);
		CHECK(list->sequence.items[1]->line == 5 && list->sequence.items[1]->col == 5);
		CHECK(doc->roots[1]->mapping.pairs[0].key->line == 3);
		CHECK(doc->roots[2]->kind == CFGFS_NODE_SCALAR &&
		      doc->roots[2]->scalar.type == CFGFS_SCALAR_NULL);
		cfgfs_doc_free(doc);
	}
	doc = parse(CFGFS_FORMAT_YAML, "");
	if (doc != NULL) {
		CHECK(doc->count == 0);
		cfgfs_doc_free(doc);
	}
	doc = parse(CFGFS_FORMAT_JSON, "{\n  \"a\": [1, 2.5, \"s\"],\n  \"b\": {\"c\": null}\n}");
	if (doc != NULL) {
		const struct cfgfs_node *r = doc->roots[0], *a = get(r, "a");

		CHECK(doc->count == 1);
		CHECK(r->line == 1 && r->col == 1);
		CHECK(r->mapping.pairs[0].key->line == 2 && r->mapping.pairs[0].key->col == 3);
		CHECK(a->line == 2 && a->col == 8);
		CHECK(a->sequence.items[1]->col == 12 &&
		      a->sequence.items[1]->scalar.number == 2.5);
		CHECK(a->sequence.items[1]->scalar.type == CFGFS_SCALAR_FLOAT);
		CHECK(strcmp(a->sequence.items[1]->scalar.text, "2.5") == 0);
		CHECK(a->sequence.items[0]->scalar.type == CFGFS_SCALAR_INT);
		CHECK(a->sequence.items[2]->col == 17);
		CHECK(get(get(r, "b"), "c")->scalar.type == CFGFS_SCALAR_NULL);
		CHECK(get(get(r, "b"), "c")->line == 3 && get(get(r, "b"), "c")->col == 14);
		cfgfs_doc_free(doc);
	}
}

struct thread_arg {
	int failures;
};

static void *hammer(void *p)
{
	struct thread_arg *arg = p;
	static const char *const yaml_bad = "a: 1\nb: [\n";
	static const char *const json_bad = "{\"a\": 1, \"a\": 2}";
	struct cfgfs_diag d;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		struct cfgfs_doc *doc = NULL;

		if (cfgfs_validate(&d, CFGFS_FORMAT_YAML, yaml_bad, strlen(yaml_bad), NULL) !=
		        -EINVAL ||
		    d.line != 3)
			arg->failures++;
		if (cfgfs_validate(&d, CFGFS_FORMAT_JSON, json_bad, strlen(json_bad), NULL) !=
		        -EINVAL ||
		    d.col != 10)
			arg->failures++;
		if (cfgfs_doc_parse(&doc, &d, CFGFS_FORMAT_JSON, "[1, {\"x\": true}]", 16, NULL) !=
		        0 ||
		    doc->roots[0]->sequence.count != 2)
			arg->failures++;
		cfgfs_doc_free(doc);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[THREADS];
	struct thread_arg args[THREADS] = {{0}};
	int i, started = 0;

	for (i = 0; i < THREADS; i++) {
		if (pthread_create(&t[i], NULL, hammer, &args[i]) != 0) {
			printf("FAIL pthread_create\n");
			failures++;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		if (pthread_join(t[i], NULL) != 0)
			failures++;
		failures += args[i].failures;
	}
}

int main(void)
{
	test_core_schema();
	test_values();
	test_merge_and_tags();
	test_positions_and_streams();
	test_threads();
	printf("doc model: %d failures\n", failures);
	return failures == 0 ? 0 : 1;
}
