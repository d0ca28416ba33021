/*
 * test_schema_messages.c — what a refused save tells its author: exact
 * LINE:COL and message for each kind of problem, load errors as
 * FILE:LINE:COL, recursion that must end, and many threads sharing one
 * compiled schema.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/formats/doc.h"
#include "backend/formats/validate.h"
#include "backend/schema/schema.h"

#define THREADS 8
#define ROUNDS 200
#define ERR_LEN 512

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

struct msg_case {
	const char *schema;   /* JSON */
	const char *instance; /* YAML */
	unsigned line, col;   /* 0: expected valid */
	const char *message;
};

static const char k8s_schema[] =
    "{\"type\": \"object\", \"required\": [\"name\"],\n"
    " \"properties\": {\n"
    "  \"name\": {\"type\": \"string\"},\n"
    "  \"kind\": {\"enum\": [\"Deployment\", \"StatefulSet\"]},\n"
    "  \"metadata\": {\"type\": \"object\", \"additionalProperties\": false,\n"
    "               \"properties\": {\"labels\": {\"type\": \"object\"}}},\n"
    "  \"spec\": {\"properties\": {\"replicas\": {\"type\": \"integer\", \"minimum\": 0}}}}}";

static const struct msg_case cases[] = {
    {k8s_schema, "name: web\nspec:\n  replicas: -1\n", 3, 13,
     "$.spec.replicas: -1 is less than the minimum of 0"},
    {k8s_schema, "name: web\nkind: Deploymnet\n", 2, 7,
     "$.kind: \"Deploymnet\" is not one of \"Deployment\", \"StatefulSet\""},
    {k8s_schema, "kind: Deployment\n", 1, 1, "$: missing required property \"name\""},
    {k8s_schema, "name: web\nmetadata:\n  lables: {}\n", 3, 3,
     "$.metadata: additional property \"lables\" is not allowed"},
    {k8s_schema, "name: web\nspec:\n  replicas: 2.5\n", 3, 13,
     "$.spec.replicas: 2.5 is not of type \"integer\""},
    {k8s_schema, "name: web\nspec:\n  replicas: 3.0\n", 0, 0, NULL},
    {k8s_schema, "name: 42\n", 1, 7, "$.name: 42 is not of type \"string\""},
    /* YAML 1.2: "yes" is a string, "0755" an int, keys are names. */
    {"{\"properties\": {\"on\": {\"type\": \"string\"}, \"mode\": {\"type\": \"integer\"}}}",
     "on: yes\nmode: 0755\n", 0, 0, NULL},
    {"{\"properties\": {\"1\": {\"type\": \"string\"}}}", "1: 2\n", 1, 4,
     "$['1']: 2 is not of type \"string\""},
    {"{\"type\": [\"string\", \"null\"]}", "[1]\n", 1, 1,
     "$: an array is not of type \"string\" or \"null\""},
    {"{\"maximum\": 10, \"exclusiveMinimum\": 0}", "0\n", 1, 1,
     "$: 0 is less than or equal to the exclusive minimum of 0"},
    {"{\"maximum\": 10}", "11\n", 1, 1, "$: 11 is greater than the maximum of 10"},
    {"{\"multipleOf\": 0.5}", "1.25\n", 1, 1, "$: 1.25 is not a multiple of 0.5"},
    {"{\"minLength\": 3}", "\"h\\u00e9\"\n", 1, 1, "$: \"hé\" is shorter than 3 characters"},
    {"{\"maxLength\": 2}", "héé\n", 1, 1, "$: \"héé\" is longer than 2 characters"},
    {"{\"pattern\": \"^\\\\d+$\"}", "12a\n", 1, 1,
     "$: \"12a\" does not match the pattern \"^\\\\d+$\""},
    {"{\"pattern\": \"b\"}", "abc\n", 0, 0, NULL},
    {"{\"items\": {\"type\": \"integer\"}}", "- 1\n- two\n", 2, 3,
     "$[1]: \"two\" is not of type \"integer\""},
    {"{\"uniqueItems\": true}", "- {a: 1}\n- {a: 1.0}\n", 2, 3,
     "$: items 0 and 1 are equal, but items must be unique"},
    {"{\"minItems\": 2}", "[1]\n", 1, 1, "$: array has 1 item, fewer than the minimum of 2"},
    {"{\"contains\": {\"const\": 3}}", "[1, 2]\n", 1, 1,
     "$: no item matches the \"contains\" schema"},
    {"{\"const\": {\"a\": [1, true]}}", "a: [1.0, true]\n", 0, 0, NULL},
    {"{\"const\": 2}", "3\n", 1, 1, "$: 3 is not the constant 2"},
    {"{\"dependencies\": {\"tls\": [\"cert\"]}}", "tls: true\n", 1, 1,
     "$: property \"tls\" requires property \"cert\""},
    {"{\"propertyNames\": {\"pattern\": \"^[a-z]+$\"}}", "ok: 1\nBad: 2\n", 2, 1,
     "$: property name \"Bad\" is invalid: \"Bad\" does not match the pattern \"^[a-z]+$\""},
    {"{\"additionalProperties\": {\"type\": \"string\"}}", "x:\n  - 1\n", 2, 3,
     "$.x: an array is not of type \"string\""},
    {"{\"properties\": {\"a b\": {\"type\": \"string\"}}}", "\"a b\": 1\n", 1, 8,
     "$['a b']: 1 is not of type \"string\""},
    {"{\"not\": {\"type\": \"string\"}}", "x\n", 1, 1,
     "$: \"x\" must not be valid under the \"not\" schema"},
    {"{\"if\": {\"properties\": {\"kind\": {\"const\": \"tls\"}}}, \"then\": {\"required\": "
     "[\"cert\"]}}",
     "kind: tls\n", 1, 1, "$: missing required property \"cert\""},
    /* anyOf: the branch whose type fits explains the failure. */
    {"{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"object\", \"required\": [\"url\"]}]}",
     "name: x\n", 1, 1, "$: missing required property \"url\""},
    {"{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "3\n", 1, 1,
     "$: 3 is valid under more than one of the schemas in \"oneOf\" (0 and 1); exactly one is "
     "allowed"},
    {"{\"oneOf\": [{\"type\": \"integer\"}, {\"type\": \"boolean\"}]}", "x\n", 1, 1,
     "$: \"x\" is not valid under any of the schemas in \"oneOf\""},
    {"{\"definitions\": {\"port\": {\"type\": \"integer\", \"maximum\": 65535}},\n"
     " \"properties\": {\"ports\": {\"items\": {\"$ref\": \"#/definitions/port\"}}}}",
     "ports: [80, 70000]\n", 1, 13, "$.ports[1]: 70000 is greater than the maximum of 65535"},
    {"{\"$defs\": {\"n\": {\"type\": \"integer\"}}, \"$ref\": \"#/$defs/n\"}", "x\n", 1, 1,
     "$: \"x\" is not of type \"integer\""},
    {"{\"properties\": {\"x\": false}}", "x: 1\n", 1, 4,
     "$.x: no value is allowed here (the schema is false)"},
    {"{\"items\": [{\"type\": \"string\"}], \"additionalItems\": false}", "[a, b]\n", 1, 5,
     "$[1]: additional item is not allowed (\"items\" lists 1)"},
    /* A recursive schema over a recursive instance: fine. */
    {"{\"properties\": {\"child\": {\"$ref\": \"#\"}, \"n\": {\"type\": \"integer\"}}}",
     "child:\n  child:\n    n: x\n", 3, 8, "$.child.child.n: \"x\" is not of type \"integer\""},
    /* Recursion that never descends into the instance ends, with a message. */
    {"{\"allOf\": [{\"$ref\": \"#\"}]}", "1\n", 1, 1,
     "$: schema nesting deeper than 256 levels (a recursive $ref?)"},
};

static struct cfgfs_doc *parse(enum cfgfs_format fmt, const char *text)
{
	struct cfgfs_doc *doc = NULL;
	struct cfgfs_diag d;
	int rc = cfgfs_doc_parse(&doc, &d, fmt, text, strlen(text), NULL);

	if (rc != 0) {
		printf("FAIL parse %s: %d %u:%u %s\n", text, rc, d.line, d.col, d.message);
		failures++;
		return NULL;
	}
	return doc;
}

static void test_messages(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct msg_case *c = &cases[i];
		struct cfgfs_doc *sdoc = parse(CFGFS_FORMAT_JSON, c->schema);
		struct cfgfs_doc *idoc = parse(CFGFS_FORMAT_YAML, c->instance);
		struct cfgfs_schema *s = NULL;
		struct cfgfs_diag d;
		char err[ERR_LEN];
		int rc;

		if (sdoc == NULL || idoc == NULL)
			goto next;
		rc = cfgfs_schema_compile(&s, sdoc->roots[0], "t.json", NULL, err, sizeof(err));
		if (rc != 0) {
			printf("FAIL case %zu: compile %d %s\n", i, rc, err);
			failures++;
			goto next;
		}
		rc = cfgfs_schema_validate(s, idoc->roots[0], &d);
		if (c->message == NULL) {
			if (rc != 0) {
				printf("FAIL case %zu: expected valid, got %d %u:%u %s\n", i, rc, d.line,
				       d.col, d.message);
				failures++;
			}
			goto next;
		}
		if (rc != -EINVAL || d.line != c->line || d.col != c->col ||
		    strcmp(d.message, c->message) != 0 || d.reason == NULL ||
		    strcmp(d.reason, CFGFS_REASON_SCHEMA) != 0) {
			printf("FAIL case %zu:\n  want %u:%u %s\n  got  %d %u:%u %s\n", i, c->line,
			       c->col, c->message, rc, d.line, d.col, d.message);
			failures++;
		}
	next:
		cfgfs_schema_free(s);
		cfgfs_doc_free(sdoc);
		cfgfs_doc_free(idoc);
	}
}

struct load_case {
	const char *suffix;
	const char *text;
	const char *error; /* after "FILE:" */
};

static const struct load_case load_cases[] = {
    {".json", "{\"type\": \"strin\"}", "1:10: \"type\" must be a type name or an array of them"},
    {".json", "{\n  \"properties\": {\"a\": {\"minimum\": \"0\"}}}",
     "2:35: \"minimum\" must be a number"},
    {".json", "{\"pattern\": \"(ab\"}",
     "1:13: invalid regular expression in \"pattern\" at offset 3: missing closing parenthesis"},
    {".json", "{\"patternProperties\": {\"[a-\": {}}}",
     "1:24: invalid regular expression in \"patternProperties\" at offset 3: missing terminating "
     "] for character class"},
    {".json", "{\"$ref\": \"#/definitions/nope\"}",
     "1:10: cannot resolve $ref \"#/definitions/nope\": no such location"},
    {".json", "{\"$ref\": \"other.json#/x\"}",
     "1:10: cannot resolve $ref \"other.json#/x\": \"cfgfs:///other.json\" is not this schema "
     "(remote references are not supported)"},
    {".json", "{\"definitions\": {\"a\": {\"$ref\": \"#/definitions/b\"}, \"b\": {\"$ref\": "
              "\"#/definitions/a\"}}, \"$ref\": \"#/definitions/a\"}",
     "1:95: $ref \"#/definitions/a\" never reaches a schema: its chain of $ref loops"},
    {".json", "{\"items\": 3}", "1:11: a schema must be an object or a boolean"},
    {".json", "{\"required\": \"name\"}", "1:14: \"required\" must be an array of strings"},
    {".json", "{\"type\": \"object\",}", "1:19: expected a string key, found '}'"},
    {".yaml", "type: object\nproperties:\n  port: {maximum: high}\n",
     "3:19: \"maximum\" must be a number"},
};

static void test_load_errors(void)
{
	char dir[] = "/tmp/cfgfs-schema-test-XXXXXX";
	size_t i;

	if (mkdtemp(dir) == NULL) {
		printf("FAIL mkdtemp: %s\n", strerror(errno));
		failures++;
		return;
	}
	for (i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		const struct load_case *c = &load_cases[i];
		struct cfgfs_schema *s = NULL;
		char path[256], want[ERR_LEN], err[ERR_LEN];
		FILE *f;
		int rc;

		(void)snprintf(path, sizeof(path), "%s/s%zu%s", dir, i, c->suffix);
		f = fopen(path, "w");
		if (f == NULL || fputs(c->text, f) < 0 || fclose(f) != 0) {
			printf("FAIL write %s\n", path);
			failures++;
			continue;
		}
		rc = cfgfs_schema_load(&s, path, err, sizeof(err));
		(void)snprintf(want, sizeof(want), "%s:%s", path, c->error);
		if (rc != -EINVAL || s != NULL || strcmp(err, want) != 0) {
			printf("FAIL load case %zu:\n  want %s\n  got  %d %s\n", i, want, rc, err);
			failures++;
		}
		cfgfs_schema_free(s);
		CHECK(unlink(path) == 0);
	}
	{
		struct cfgfs_schema *s = NULL;
		char err[ERR_LEN];

		CHECK(cfgfs_schema_load(&s, "/nonexistent/schema.json", err, sizeof(err)) ==
		      -ENOENT);
		CHECK(s == NULL);
	}
	CHECK(rmdir(dir) == 0);
}

struct shared {
	const struct cfgfs_schema *s;
	const struct cfgfs_node *good, *bad;
	int errors;
};

static void *worker(void *arg)
{
	struct shared *sh = arg;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		struct cfgfs_diag d;

		if (cfgfs_schema_validate(sh->s, sh->good, &d) != 0 ||
		    cfgfs_schema_validate(sh->s, sh->bad, &d) != -EINVAL ||
		    strcmp(d.message, "$.spec.replicas: -1 is less than the minimum of 0") != 0)
			__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_threads(void)
{
	struct cfgfs_doc *sdoc = parse(CFGFS_FORMAT_JSON, k8s_schema);
	struct cfgfs_doc *good = parse(CFGFS_FORMAT_YAML, "name: a\nspec: {replicas: 1}\n");
	struct cfgfs_doc *bad = parse(CFGFS_FORMAT_YAML, "name: a\nspec: {replicas: -1}\n");
	struct cfgfs_schema *s = NULL;
	struct shared sh = {0};
	pthread_t t[THREADS];
	char err[ERR_LEN];
	int i, started = 0;

	if (sdoc == NULL || good == NULL || bad == NULL)
		goto cleanup;
	if (cfgfs_schema_compile(&s, sdoc->roots[0], "k8s", NULL, err, sizeof(err)) != 0) {
		printf("FAIL compile: %s\n", err);
		failures++;
		goto cleanup;
	}
	sh = (struct shared){.s = s, .good = good->roots[0], .bad = bad->roots[0]};
	for (i = 0; i < THREADS; i++) {
		if (pthread_create(&t[i], NULL, worker, &sh) != 0)
			break;
		started++;
	}
	CHECK(started == THREADS);
	for (i = 0; i < started; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	CHECK(sh.errors == 0);

cleanup:
	cfgfs_schema_free(s);
	cfgfs_doc_free(sdoc);
	cfgfs_doc_free(good);
	cfgfs_doc_free(bad);
}

/* Multi-document YAML: the caller validates each root; positions stay per file. */
static void test_stream(void)
{
	struct cfgfs_doc *sdoc = parse(CFGFS_FORMAT_JSON, k8s_schema);
	struct cfgfs_doc *idoc = parse(CFGFS_FORMAT_YAML, "name: a\n---\nname: b\nkind: Job\n");
	struct cfgfs_schema *s = NULL;
	struct cfgfs_diag d;
	char err[ERR_LEN];

	if (sdoc == NULL || idoc == NULL)
		goto cleanup;
	CHECK(cfgfs_schema_compile(&s, sdoc->roots[0], "k8s", NULL, err, sizeof(err)) == 0);
	if (s == NULL)
		goto cleanup;
	CHECK(idoc->count == 2);
	CHECK(cfgfs_schema_validate(s, idoc->roots[0], &d) == 0);
	CHECK(cfgfs_schema_validate(s, idoc->roots[1], &d) == -EINVAL);
	CHECK(d.line == 4 && d.col == 7);

cleanup:
	cfgfs_schema_free(s);
	cfgfs_doc_free(sdoc);
	cfgfs_doc_free(idoc);
}

int main(void)
{
	test_messages();
	test_load_errors();
	test_threads();
	test_stream();
	if (failures != 0) {
		printf("%d failure(s)\n", failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
