/*
 * Unit tests for mountopts/policy: valid files load with the right values
 * and defaults; every kind of mistake is refused with its exact
 * FILE:LINE:COL. Policy files are written into the working directory
 * (meson runs this test in its build directory).
 */
#include "mountopts/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ERR_LEN 512
#define POLICY_FILE "test-policy.yaml"

static int failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, \
				#cond);                                      \
			failures++;                                          \
		}                                                            \
	} while (0)

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t len = strlen(text);
	int rc = fwrite(text, 1, len, f) == len ? 0 : -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Load TEXT as the policy; the loader's return code, message in ERR. */
static int load(const char *text, struct cfgfs_policy **p, char *err)
{
	*p = NULL;
	if (write_file(POLICY_FILE, text) != 0) {
		fprintf(stderr, "cannot write %s\n", POLICY_FILE);
		exit(2);
	}
	return cfgfs_policy_load(p, POLICY_FILE, err, ERR_LEN);
}

static bool argv_is(const char *const *argv, const char *const *want)
{
	size_t i = 0;
	for (; want[i]; i++)
		if (!argv || !argv[i] || strcmp(argv[i], want[i]) != 0)
			return false;
	return argv[i] == NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char SPEC_EXAMPLE[] =
	"rules:                        # first match wins\n"
	"  - match: \"nginx/**/*.conf\"\n"
	"    format: text\n"
	"    check: [\"nginx\", \"-t\", \"-c\", \"{}\"]\n"
	"    timeout: 5s\n"
	"  - match: \"**/*.yaml\"\n"
	"    schema: schemas/service.schema.json\n"
	"ignore: [\"*.bak\"]\n"
	"hooks:\n"
	"  - match: \"nginx/**\"\n"
	"    run: [\"systemctl\", \"reload\", \"nginx\"]\n"
	"    debounce: 200ms\n"
	"    timeout: 30s\n"
	"    retries: 5\n"
	"    backoff: {initial: 100ms, max: 10s}\n"
	"    on_failure: revert\n";

static void test_spec_example(void)
{
	struct cfgfs_policy *p = NULL;
	char err[ERR_LEN];

	CHECK(mkdir("schemas", 0755) == 0 || errno == EEXIST);
	CHECK(write_file("schemas/service.schema.json", "{}\n") == 0);
	int rc = load(SPEC_EXAMPLE, &p, err);
	CHECK(rc == 0);
	if (rc != 0) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK(cfgfs_policy_file(p)[0] == '/');
	CHECK(ends_with(cfgfs_policy_file(p), "/" POLICY_FILE));
	CHECK(cfgfs_policy_rule_count(p) == 2);
	const struct cfgfs_rule *r = cfgfs_policy_rule(p, 0);
	CHECK(strcmp(r->match, "nginx/**/*.conf") == 0);
	CHECK(r->format == CFGFS_FORMAT_TEXT);
	CHECK(argv_is(r->check, (const char *const[]){ "nginx", "-t", "-c", "{}", NULL }));
	CHECK(r->timeout_ms == 5000);
	CHECK(r->schema == NULL);
	CHECK(r->line == 2);
	r = cfgfs_policy_rule(p, 1);
	CHECK(r->format == CFGFS_FORMAT_NONE);
	CHECK(r->check == NULL);
	CHECK(r->timeout_ms == CFGFS_POLICY_CHECK_TIMEOUT_MS);
	CHECK(r->schema && r->schema[0] == '/' &&
	      ends_with(r->schema, "/schemas/service.schema.json"));
	CHECK(cfgfs_policy_rule(p, 2) == NULL);

	CHECK(cfgfs_policy_ignore_count(p) == 1);
	CHECK(strcmp(cfgfs_glob_pattern(cfgfs_policy_ignore(p, 0)), "*.bak") == 0);

	CHECK(cfgfs_policy_hook_count(p) == 1);
	const struct cfgfs_hook *h = cfgfs_policy_hook(p, 0);
	CHECK(strcmp(h->match, "nginx/**") == 0);
	CHECK(argv_is(h->run, (const char *const[]){ "systemctl", "reload", "nginx", NULL }));
	CHECK(h->debounce_ms == 200 && h->timeout_ms == 30000 && h->retries == 5);
	CHECK(h->backoff_initial_ms == 100 && h->backoff_max_ms == 10000);
	CHECK(h->on_failure == CFGFS_HOOK_REVERT);
	CHECK(h->line == 10);
	CHECK(cfgfs_policy_hook(p, 1) == NULL);

	/* queries */
	CHECK(cfgfs_policy_rule_for(p, "nginx/sites/a.conf") == cfgfs_policy_rule(p, 0));
	CHECK(cfgfs_policy_rule_for(p, "nginx/a.conf") == cfgfs_policy_rule(p, 0));
	CHECK(cfgfs_policy_rule_for(p, "app.yaml") == cfgfs_policy_rule(p, 1));
	CHECK(cfgfs_policy_rule_for(p, "a/b/app.yaml") == cfgfs_policy_rule(p, 1));
	CHECK(cfgfs_policy_rule_for(p, "app.json") == NULL);
	CHECK(cfgfs_policy_format_for(p, "nginx/x.conf") == CFGFS_FORMAT_TEXT);
	CHECK(cfgfs_policy_format_for(p, "a/app.yaml") == CFGFS_FORMAT_YAML);
	CHECK(cfgfs_policy_format_for(p, "app.json") == CFGFS_FORMAT_JSON);
	CHECK(cfgfs_policy_format_for(p, "README") == CFGFS_FORMAT_NONE);
	CHECK(cfgfs_policy_ignored(p, "x/old.bak", false));
	CHECK(cfgfs_policy_ignored(p, "x/.app.yaml.swp", false));
	CHECK(cfgfs_policy_ignored(p, "4913", false));
	CHECK(!cfgfs_policy_ignored(p, "app.yaml", false));
	CHECK(!cfgfs_policy_ignored(p, "tmpfiles.conf", false));
	cfgfs_policy_free(p);
}

static void test_defaults_and_forms(void)
{
	struct cfgfs_policy *p = NULL;
	char err[ERR_LEN];

	/* empty file, empty sections */
	CHECK(load("", &p, err) == 0);
	CHECK(p && cfgfs_policy_rule_count(p) == 0 && cfgfs_policy_hook_count(p) == 0);
	cfgfs_policy_free(p);
	CHECK(load("# nothing yet\nrules:\nignore: ~\nhooks: []\n", &p, err) == 0);
	CHECK(p && cfgfs_policy_rule_count(p) == 0 && cfgfs_policy_ignore_count(p) == 0);
	cfgfs_policy_free(p);

	/* hook defaults; durations in every unit; flow style */
	int rc = load("hooks:\n"
		      "  - {match: '*.yaml', run: [true]}\n"
		      "  - match: a/\n"
		      "    run: [sleep, 5]\n"
		      "    debounce: 0\n"
		      "    timeout: 1h\n"
		      "    retries: 100\n"
		      "    backoff: {initial: 2m}\n"
		      "    on_failure: keep\n"
		      "rules:\n"
		      "  - match: conf/*.json\n"
		      "    format: yaml\n"
		      "    timeout: 250ms\n",
		      &p, err);
	CHECK(rc == 0);
	if (rc != 0) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	const struct cfgfs_hook *h = cfgfs_policy_hook(p, 0);
	CHECK(h->debounce_ms == CFGFS_POLICY_HOOK_DEBOUNCE_MS);
	CHECK(h->timeout_ms == CFGFS_POLICY_HOOK_TIMEOUT_MS);
	CHECK(h->retries == 0);
	CHECK(h->backoff_initial_ms == CFGFS_POLICY_BACKOFF_INITIAL_MS);
	CHECK(h->backoff_max_ms == CFGFS_POLICY_BACKOFF_MAX_MS);
	CHECK(h->on_failure == CFGFS_HOOK_KEEP);
	CHECK(h->line == 2 && argv_is(h->run, (const char *const[]){ "true", NULL }));
	h = cfgfs_policy_hook(p, 1);
	CHECK(argv_is(h->run, (const char *const[]){ "sleep", "5", NULL }));
	CHECK(h->debounce_ms == 0 && h->timeout_ms == 3600000 && h->retries == 100);
	CHECK(h->backoff_initial_ms == 120000 && h->backoff_max_ms == 120000);
	const struct cfgfs_rule *r = cfgfs_policy_rule(p, 0);
	CHECK(r->timeout_ms == 250 && r->format == CFGFS_FORMAT_YAML);
	CHECK(cfgfs_policy_format_for(p, "conf/a.json") == CFGFS_FORMAT_YAML);
	CHECK(cfgfs_policy_format_for(p, "other/a.json") == CFGFS_FORMAT_JSON);
	cfgfs_policy_free(p);

	p = cfgfs_policy_default();
	CHECK(p != NULL);
	if (p) {
		CHECK(cfgfs_policy_file(p) == NULL);
		CHECK(cfgfs_policy_rule_for(p, "app.yaml") == NULL);
		CHECK(cfgfs_policy_format_for(p, "app.yaml") == CFGFS_FORMAT_YAML);
		CHECK(cfgfs_policy_ignored(p, "a/app.yaml~", false));
		CHECK(!cfgfs_policy_ignored(p, "a/app.yaml", false));
	}
	cfgfs_policy_free(p);
}

struct error_case {
	const char *text;
	const char *want; /* what follows "FILE:" */
};

static const struct error_case ERROR_CASES[] = {
	{ "rules: []\nhook: []\n",
	  "2:1: unknown key 'hook' in the policy (expected rules, ignore, hooks)" },
	{ "rules:\n  - match: a\n    formt: yaml\n",
	  "3:5: unknown key 'formt' in rule" },
	{ "rules: nope\n", "1:8: 'rules' must be a list, found a scalar" },
	{ "- a\n", "1:1: the policy must be a mapping, found a list" },
	{ "rules:\n  - match: \"[a\"\n", "2:12: glob '[a': unterminated '['" },
	{ "ignore: ['ok', '!x']\n", "1:16: glob '!x': negation" },
	{ "rules:\n  - match: a\n    timeout: 5x\n",
	  "3:14: timeout '5x' is not a duration like 250ms, 5s, 2m or 1h" },
	{ "rules:\n  - match: a\n    timeout: 5\n", "3:14: timeout '5' is not a duration" },
	{ "rules:\n  - match: a\n    timeout: 0\n", "3:14: timeout must be more than 0" },
	{ "rules:\n  - match: a\n    timeout: 25h\n", "3:14: timeout '25h' is longer than 24h" },
	{ "rules:\n  - match: a\n    timeout: 99999999999999999999ms\n",
	  "3:14: timeout '99999999999999999999ms' is longer than 24h" },
	{ "rules:\n  - format: yaml\n", "2:5: rule is missing required key 'match'" },
	{ "rules:\n  - match:\n", "2:11: a glob must be a string, found null" },
	{ "rules:\n  - match: [a]\n", "2:12: a glob must be a string, found a list" },
	{ "rules:\n  - match: a\n    format: xml\n", "3:13: format must be yaml, json or text" },
	{ "rules:\n  - match: a\n    check: nginx -t\n",
	  "3:12: check must be a list of strings (argv, no shell), found a scalar" },
	{ "rules:\n  - match: a\n    check: []\n", "3:12: check must not be empty" },
	{ "rules:\n  - match: a\n    check: [a, {b: c}]\n",
	  "3:16: an argument must be a string, found a mapping" },
	{ "rules:\n  - match: a\n    schema: missing.json\n", "3:13: schema '/" },
	{ "rules:\n  - match: a\n    format: text\n    schema: s.json\n",
	  "4:13: a schema applies to yaml and json, not text" },
	{ "hooks:\n  - match: a\n", "2:5: hook is missing required key 'run'" },
	{ "hooks:\n  - run: [x]\n", "2:5: hook is missing required key 'match'" },
	{ "hooks:\n  - match: a\n    run: []\n", "3:10: run must not be empty" },
	{ "hooks:\n  - match: a\n    run: [x]\n    retries: -1\n",
	  "4:14: retries must be a whole number from 0 to 100" },
	{ "hooks:\n  - match: a\n    run: [x]\n    retries: '3'\n",
	  "4:14: retries must be a whole number" },
	{ "hooks:\n  - match: a\n    run: [x]\n    retries: 101\n",
	  "4:14: retries must be at most 100" },
	{ "hooks:\n  - match: a\n    run: [x]\n    on_failure: retry\n",
	  "4:17: on_failure must be keep or revert" },
	{ "hooks:\n  - match: a\n    run: [x]\n    backoff: {initial: 1s, max: 500ms}\n",
	  "4:33: backoff max (500ms) is below initial (1000ms)" },
	{ "hooks:\n  - match: a\n    run: [x]\n    backoff: {start: 1s}\n",
	  "4:15: unknown key 'start' in backoff (expected initial, max)" },
	{ "hooks:\n  - match: a\n    run: [x]\n    backoff: 1s\n",
	  "4:14: backoff must be a mapping, found a scalar" },
	{ "hooks:\n  - match: a\n    run: [x]\n    debounce: fast\n",
	  "4:15: debounce 'fast' is not a duration" },
	{ "hooks:\n  - match: a\n    run: [x]\n    match: b\n",
	  "4:5: duplicate key 'match' in hook (first at 2:5)" },
	{ "hooks:\n  - x\n", "2:5: hook must be a mapping, found a scalar" },
	{ "rules:\n  - match: a\n   format: yaml\n", "3:4: " }, /* libyaml's own words */
	{ "rules: [a\n", "2:1: " },
	{ "x: &a [1]\nrules: *a\n", "2:8: aliases ('*a') are not supported" },
	{ "rules: []\n---\nhooks: []\n", "2:1: the policy must be a single YAML document" },
	{ "ignore: [\"a\\0b\"]\n", "1:10: a glob contains a NUL byte" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(ERROR_CASES) / sizeof(ERROR_CASES[0]); i++) {
		const struct error_case *c = &ERROR_CASES[i];
		struct cfgfs_policy *p = NULL;
		char err[ERR_LEN] = "";
		char want[ERR_LEN];
		snprintf(want, sizeof(want), "%s:%s", POLICY_FILE, c->want);
		int rc = load(c->text, &p, err);
		if (rc != -EINVAL || p != NULL || strncmp(err, want, strlen(want)) != 0) {
			fprintf(stderr, "FAIL case %zu: rc %d\n  got  '%s'\n  want '%s...'\n", i,
				rc, err, want);
			failures++;
		}
		cfgfs_policy_free(p);
	}
}

static void test_file_errors(void)
{
	struct cfgfs_policy *p = NULL;
	char err[ERR_LEN];

	int rc = cfgfs_policy_load(&p, "no-such-policy.yaml", err, sizeof(err));
	CHECK(rc == -ENOENT && p == NULL);
	CHECK(strcmp(err, "no-such-policy.yaml: No such file or directory") == 0);
	rc = cfgfs_policy_load(&p, ".", err, sizeof(err));
	CHECK(rc == -EINVAL && strcmp(err, ".: not a regular file") == 0);

	char *big = malloc(CFGFS_POLICY_MAX_BYTES + 2);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, '#', CFGFS_POLICY_MAX_BYTES + 1);
	big[CFGFS_POLICY_MAX_BYTES + 1] = '\0';
	rc = load(big, &p, err);
	free(big);
	CHECK(rc == -EFBIG && p == NULL);

	/* deep nesting is refused, not recursed into */
	char deep[4 * CFGFS_POLICY_MAX_DEPTH + 16];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof(deep), "rules: ");
	for (int i = 0; i < CFGFS_POLICY_MAX_DEPTH + 1; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	rc = load(deep, &p, err);
	CHECK(rc == -EINVAL && strstr(err, "nested deeper than") != NULL);
}

int main(void)
{
	test_spec_example();
	test_defaults_and_forms();
	test_errors();
	test_file_errors();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
