/*
 * test_verdict.c — backend/verdict over a policy file written to a scratch
 * directory: syntax errors with line:col, schema violations at the
 * instance's line:col (YAML, JSON, every document of a stream, an empty
 * file as a null document), check commands (run only after the syntax
 * passed), size, ignored names, and schemas that fail to load.
 */
#include "core_test.h"

#include <regex.h>

#include "backend/verdict.h"
#include "mountopts/policy.h"

#define ERR_LEN 1024
#define MAX_SIZE 4096

static char g_dir[256];

static const char *const SCHEMA = "{\n"
				  "  \"type\": \"object\",\n"
				  "  \"required\": [\"name\"],\n"
				  "  \"properties\": {\n"
				  "    \"name\": {\"type\": \"string\"},\n"
				  "    \"port\": {\"type\": \"integer\", \"minimum\": 1}\n"
				  "  }\n"
				  "}\n";

static struct cfgfs_policy *load_policy(const char *name, const char *text)
{
	char path[512], err[ERR_LEN] = "";
	struct cfgfs_policy *p = NULL;
	CHECK_RC(c_write(g_dir, name, text, 0644), 0);
	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	int rc = cfgfs_policy_load(&p, path, err, sizeof(err));
	if (rc < 0)
		printf("FAIL %s:%d: policy %s: %d %s\n", __FILE__, __LINE__, name, rc, err);
	if (rc < 0)
		c_failures++;
	return p;
}

static int verdict(const struct cfgfs_verdict *v, const char *path, const char *text,
		   struct cfgfs_diag *d)
{
	return cfgfs_verdict_check(v, path, text, strlen(text), d);
}

#define CHECK_DIAG(d, want_reason, want_line, want_col)                                            \
	do {                                                                                       \
		const struct cfgfs_diag *d_ = &(d);                                                \
		if (!d_->reason || strcmp(d_->reason, (want_reason)) != 0 ||                       \
		    d_->line != (unsigned)(want_line) || d_->col != (unsigned)(want_col)) {        \
			printf("FAIL %s:%d: diag %s:%u:%u \"%s\", want %s:%d:%d\n", __FILE__,      \
			       __LINE__, d_->reason ? d_->reason : "(null)", d_->line, d_->col,    \
			       d_->message, (want_reason), (want_line), (want_col));               \
			c_failures++;                                                              \
		}                                                                                  \
	} while (0)

static void test_rules(void)
{
	char marker[512], policy[4096];
	snprintf(marker, sizeof(marker), "%s/check-ran", g_dir);
	CHECK_RC(c_write(g_dir, "svc.schema.json", SCHEMA, 0644), 0);
	snprintf(policy, sizeof(policy),
		 "rules:\n"
		 "  - match: \"svc/*.yaml\"\n"
		 "    schema: svc.schema.json\n"
		 "  - match: \"svc/*.json\"\n"
		 "    schema: svc.schema.json\n"
		 "  - match: \"checked/*.conf\"\n"
		 "    format: text\n"
		 "    check: [\"/bin/sh\", \"-c\", \"grep -q ok {} || { echo 'no ok line'; exit 2; }\"]\n"
		 "    timeout: 5s\n"
		 "  - match: \"checked/*.yaml\"\n"
		 "    check: [\"/bin/sh\", \"-c\", \"touch '%s'\"]\n"
		 "  - match: \"slow/*\"\n"
		 "    format: text\n"
		 "    check: [\"/bin/sh\", \"-c\", \"sleep 30\"]\n"
		 "    timeout: 300ms\n"
		 "ignore: [\"*.bak\", \"tmp/\"]\n",
		 marker);
	struct cfgfs_policy *p = load_policy("policy.yaml", policy);
	if (!p)
		return;
	struct cfgfs_verdict *v = NULL;
	char err[ERR_LEN] = "";
	CHECK_RC(cfgfs_verdict_new(&v, p, MAX_SIZE, err, sizeof(err)), 0);
	if (!v) {
		printf("  verdict_new: %s\n", err);
		cfgfs_policy_free(p);
		return;
	}
	struct cfgfs_diag d;

	/* valid files pass, with the diag cleared */
	CHECK_RC(verdict(v, "plain.yaml", "a: 1\nb: [1, 2]\n", &d), 0);
	CHECK(d.reason == NULL);
	CHECK_RC(verdict(v, "svc/web.yaml", "name: web\nport: 80\n", &d), 0);
	CHECK_RC(verdict(v, "svc/web.json", "{\"name\": \"web\"}", &d), 0);
	CHECK_RC(verdict(v, "notes.txt", "{{{ not yaml", &d), 0);

	/* syntax, with line:col; under a schema rule too */
	CHECK_RC(verdict(v, "plain.yaml", "a: 1\nb: [1, 2\n", &d), -EINVAL);
	CHECK_STR(d.reason, "syntax");
	CHECK(d.line >= 2 && d.col >= 1);
	CHECK(d.message[0] != '\0');
	CHECK_RC(verdict(v, "svc/web.yaml", "name: web\n  port: : 80\n", &d), -EINVAL);
	CHECK_STR(d.reason, "syntax");
	CHECK(d.line == 2 && d.col >= 1);
	CHECK_RC(verdict(v, "x.json", "{\"a\": 1,}", &d), -EINVAL);
	CHECK_STR(d.reason, "syntax");
	CHECK(d.line == 1 && d.col >= 1);
	CHECK_RC(verdict(v, "svc/web.json", "{\"name\": }", &d), -EINVAL);
	CHECK_STR(d.reason, "syntax");
	CHECK_RC(verdict(v, "dup.yaml", "a: 1\na: 2\n", &d), -EINVAL);
	CHECK_DIAG(d, "duplicate", 2, 1);

	/* schema: the reason, and the instance's line:col */
	CHECK_RC(verdict(v, "svc/web.yaml", "name: web\nport: 0\n", &d), -EINVAL);
	CHECK_DIAG(d, "schema", 2, 7);
	CHECK_HAS(d.message, "$.port");
	CHECK_RC(verdict(v, "svc/web.yaml", "# comment\nname: 5\n", &d), -EINVAL);
	CHECK_DIAG(d, "schema", 2, 7);
	CHECK_HAS(d.message, "$.name");
	CHECK_RC(verdict(v, "svc/web.yaml", "port: 8\n", &d), -EINVAL);
	CHECK_STR(d.reason, "schema");
	CHECK_HAS(d.message, "name");
	CHECK_RC(verdict(v, "svc/web.json", "{\n  \"name\": \"web\",\n  \"port\": \"80\"\n}\n",
			 &d),
		 -EINVAL);
	CHECK_DIAG(d, "schema", 3, 11);
	/* every document of a stream */
	CHECK_RC(verdict(v, "svc/web.yaml", "name: a\n---\nname: b\nport: -1\n", &d), -EINVAL);
	CHECK_DIAG(d, "schema", 4, 7);
	/* an empty file is one null document: not an object */
	CHECK_RC(verdict(v, "svc/web.yaml", "", &d), -EINVAL);
	CHECK_STR(d.reason, "schema");
	CHECK_RC(verdict(v, "svc/web.yaml", "# only a comment\n", &d), -EINVAL);
	CHECK_STR(d.reason, "schema");
	/* ... but fine where no schema applies */
	CHECK_RC(verdict(v, "plain.yaml", "", &d), 0);
	/* a path outside the rule's glob is not held to the schema */
	CHECK_RC(verdict(v, "svc/sub/web.yaml", "port: 0\n", &d), 0);

	/* check command */
	CHECK_RC(verdict(v, "checked/nginx.conf", "server ok;\n", &d), 0);
	CHECK_RC(verdict(v, "checked/nginx.conf", "server;\n", &d), -EINVAL);
	CHECK_DIAG(d, "check", 0, 0);
	CHECK_HAS(d.message, "no ok line");
	CHECK_HAS(d.message, "exit 2");
	/* the check runs only once the syntax passed */
	unlink(marker);
	CHECK_RC(verdict(v, "checked/a.yaml", "a: [\n", &d), -EINVAL);
	CHECK_STR(d.reason, "syntax");
	CHECK(access(marker, F_OK) != 0);
	CHECK_RC(verdict(v, "checked/a.yaml", "a: 1\n", &d), 0);
	CHECK(access(marker, F_OK) == 0);
	unlink(marker);
	/* a check past its timeout refuses */
	CHECK_RC(verdict(v, "slow/x", "x", &d), -EINVAL);
	CHECK_STR(d.reason, "check");
	CHECK_HAS(d.message, "timed out");

	/* size */
	char big[MAX_SIZE + 16];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* formatted files; text files are size-checked by the callers (live.c
	 * by fstat before reading, mountopts/check.c before the verdict) */
	CHECK_RC(verdict(v, "big.yaml", big, &d), -EFBIG);
	CHECK_STR(d.reason, "size");
	CHECK_RC(verdict(v, "svc/big.yaml", big, &d), -EFBIG);
	CHECK_STR(d.reason, "size");
	CHECK_RC(verdict(v, "big.json", big, &d), -EFBIG);
	CHECK_STR(d.reason, "size");

	/* ignored names: built-in scratch names and the policy's globs */
	CHECK(cfgfs_verdict_ignored(v, ".x.yaml.swp"));
	CHECK(cfgfs_verdict_ignored(v, "svc/.web.yaml.swp"));
	CHECK(cfgfs_verdict_ignored(v, "x.yaml~"));
	CHECK(cfgfs_verdict_ignored(v, "x.bak"));
	CHECK(cfgfs_verdict_ignored(v, "deep/dir/y.yaml.bak"));
	CHECK(cfgfs_verdict_ignored(v, "tmp/anything.yaml"));
	CHECK(!cfgfs_verdict_ignored(v, "x.yaml"));
	CHECK(!cfgfs_verdict_ignored(v, "svc/web.yaml"));
	CHECK(!cfgfs_verdict_ignored(v, "bak"));

	cfgfs_verdict_free(v);
	cfgfs_policy_free(p);
}

/* ERR looks like "FILE:LINE:COL: message" for FILE. */
static void check_located(const char *err, const char *file)
{
	char pattern[1024];
	snprintf(pattern, sizeof(pattern), "^%s:[1-9][0-9]*:[1-9][0-9]*: .", file);
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
		CHECK(!"regcomp");
		return;
	}
	if (regexec(&re, err, 0, NULL, 0) != 0) {
		printf("FAIL %s:%d: error \"%s\" is not %s:LINE:COL: message\n", __FILE__,
		       __LINE__, err, file);
		c_failures++;
	}
	regfree(&re);
}

static void expect_bad_schema(const char *name, const char *schema)
{
	char policy[1024], pname[300], spath[600], err[ERR_LEN] = "";
	CHECK_RC(c_write(g_dir, name, schema, 0644), 0);
	snprintf(spath, sizeof(spath), "%s/%s", g_dir, name);
	snprintf(pname, sizeof(pname), "policy-%s.yaml", name);
	snprintf(policy, sizeof(policy),
		 "rules:\n  - match: \"*.yaml\"\n    schema: %s\n", name);
	struct cfgfs_policy *p = load_policy(pname, policy);
	if (!p)
		return;
	struct cfgfs_verdict *v = (struct cfgfs_verdict *)&err;
	int rc = cfgfs_verdict_new(&v, p, MAX_SIZE, err, sizeof(err));
	if (rc != -EINVAL) {
		printf("FAIL %s:%d: verdict_new with %s = %d, want -EINVAL\n", __FILE__, __LINE__,
		       name, rc);
		c_failures++;
		if (rc == 0)
			cfgfs_verdict_free(v);
	} else {
		check_located(err, spath);
	}
	cfgfs_policy_free(p);
}

static void test_bad_schemas(void)
{
	expect_bad_schema("syntax.schema.json", "{\n  \"type\": \"object\",\n  \"properties\": [}\n");
	expect_bad_schema("keyword.schema.json", "{\n  \"type\": \"object\",\n  \"minimum\": \"x\"\n}\n");
	expect_bad_schema("type.schema.json", "{\"type\": 5}\n");
	expect_bad_schema("ref.schema.json", "{\n  \"$ref\": \"#/definitions/missing\"\n}\n");
	expect_bad_schema("regex.schema.json", "{\"pattern\": \"(unclosed\"}\n");
	/* a schema that goes away after the policy loaded: an error, not a crash */
	char policy[1024], err[ERR_LEN] = "", spath[600];
	CHECK_RC(c_write(g_dir, "gone.schema.json", SCHEMA, 0644), 0);
	snprintf(policy, sizeof(policy), "rules:\n  - match: \"*.yaml\"\n    schema: gone.schema.json\n");
	struct cfgfs_policy *p = load_policy("policy-gone.yaml", policy);
	snprintf(spath, sizeof(spath), "%s/gone.schema.json", g_dir);
	unlink(spath);
	if (p) {
		struct cfgfs_verdict *v = NULL;
		int rc = cfgfs_verdict_new(&v, p, MAX_SIZE, err, sizeof(err));
		CHECK(rc < 0);
		CHECK_HAS(err, "gone.schema.json");
		if (rc == 0)
			cfgfs_verdict_free(v);
		cfgfs_policy_free(p);
	}
}

static void test_default_policy(void)
{
	struct cfgfs_policy *p = cfgfs_policy_default();
	CHECK(p != NULL);
	if (!p)
		return;
	struct cfgfs_verdict *v = NULL;
	char err[ERR_LEN] = "";
	CHECK_RC(cfgfs_verdict_new(&v, p, MAX_SIZE, err, sizeof(err)), 0);
	if (v) {
		struct cfgfs_diag d;
		CHECK_RC(verdict(v, "a.yaml", "a: 1\n", &d), 0);
		CHECK_RC(verdict(v, "a.yaml", "a: [\n", &d), -EINVAL);
		CHECK_STR(d.reason, "syntax");
		CHECK_RC(verdict(v, "a.json", "", &d), -EINVAL);
		CHECK_RC(verdict(v, "a.conf", "anything", &d), 0);
		CHECK(cfgfs_verdict_ignored(v, ".a.yaml.swp"));
		CHECK(!cfgfs_verdict_ignored(v, "a.bak"));
		cfgfs_verdict_free(v);
	}
	cfgfs_policy_free(p);
}

int main(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/cfgfs-core-verdict-XXXXXX");
	if (!mkdtemp(g_dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_rules();
	test_bad_schemas();
	test_default_policy();
	if (c_failures == 0)
		c_sh("rm -rf '%s'", g_dir);
	else
		printf("scratch directory kept: %s\n", g_dir);
	return c_done("test_verdict");
}
