/* verdict.c — see verdict.h. */
#include "backend/verdict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/check_run.h"
#include "backend/formats/doc.h"
#include "backend/schema/schema.h"
#include "mountopts/policy.h"

struct cfgfs_verdict {
	const struct cfgfs_policy *policy;
	struct cfgfs_limits limits;
	struct cfgfs_schema **schemas; /* per rule, NULL without `schema:` */
	size_t nrules;
};

int cfgfs_verdict_new(struct cfgfs_verdict **out, const struct cfgfs_policy *policy,
		      size_t max_size, char *err, size_t errlen)
{
	struct cfgfs_verdict *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	struct cfgfs_limits lim = CFGFS_LIMITS_DEFAULT;
	lim.max_size = max_size;
	v->policy = policy;
	v->limits = lim;
	v->nrules = cfgfs_policy_rule_count(policy);
	v->schemas = calloc(v->nrules ? v->nrules : 1, sizeof(*v->schemas));
	if (!v->schemas) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < v->nrules; i++) {
		const struct cfgfs_rule *r = cfgfs_policy_rule(policy, i);
		if (!r->schema)
			continue;
		int rc = cfgfs_schema_load(&v->schemas[i], r->schema, err, errlen);
		if (rc < 0) {
			cfgfs_verdict_free(v);
			return rc;
		}
	}
	*out = v;
	return 0;
}

void cfgfs_verdict_free(struct cfgfs_verdict *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nrules; i++)
		cfgfs_schema_free(v->schemas[i]);
	free(v->schemas);
	free(v);
}

static const struct cfgfs_schema *schema_for(const struct cfgfs_verdict *v,
					     const struct cfgfs_rule *rule)
{
	for (size_t i = 0; rule && i < v->nrules; i++)
		if (cfgfs_policy_rule(v->policy, i) == rule)
			return v->schemas[i];
	return NULL;
}

/* Every document of the stream against the schema; an empty stream is one
 * null document, as an empty file means nothing to a program reading it. */
static int check_schema(const struct cfgfs_verdict *v, const struct cfgfs_schema *schema,
			enum cfgfs_format fmt, const char *buf, size_t len,
			struct cfgfs_diag *out)
{
	struct cfgfs_doc *doc = NULL;
	int rc = cfgfs_doc_parse(&doc, out, fmt, buf, len, &v->limits);
	if (rc < 0)
		return rc;
	if (doc && doc->count == 0) {
		struct cfgfs_node null_doc = {.kind = CFGFS_NODE_SCALAR, .line = 1, .col = 1};
		null_doc.scalar.type = CFGFS_SCALAR_NULL;
		null_doc.scalar.text = "";
		rc = cfgfs_schema_validate(schema, &null_doc, out);
	}
	for (size_t i = 0; rc == 0 && doc && i < doc->count; i++)
		rc = cfgfs_schema_validate(schema, doc->roots[i], out);
	cfgfs_doc_free(doc);
	return rc;
}

bool cfgfs_verdict_ignored(const struct cfgfs_verdict *v, const char *path)
{
	return cfgfs_policy_ignored(v->policy, path, false);
}

int cfgfs_verdict_check(const struct cfgfs_verdict *v, const char *path, const char *buf,
			size_t len, struct cfgfs_diag *out)
{
	memset(out, 0, sizeof(*out));
	enum cfgfs_format fmt = cfgfs_policy_format_for(v->policy, path);
	const struct cfgfs_rule *rule = cfgfs_policy_rule_for(v->policy, path);
	const struct cfgfs_schema *schema = schema_for(v, rule);
	int rc = schema && (fmt == CFGFS_FORMAT_YAML || fmt == CFGFS_FORMAT_JSON)
			 ? check_schema(v, schema, fmt, buf, len, out)
			 : cfgfs_validate(out, fmt, buf, len, &v->limits);
	if (rc < 0)
		return rc;
	if (rule && rule->check) {
		char msg[sizeof(out->message)];
		rc = cfgfs_check_run(rule->check, rule->timeout_ms, path, buf, len, msg,
				     sizeof(msg));
		if (rc < 0) {
			out->line = out->col = 0;
			out->reason = "check";
			snprintf(out->message, sizeof(out->message), "%s", msg);
			return rc == -ENOMEM ? rc : -EINVAL;
		}
	}
	return 0;
}
