/* verdict.c — see verdict.h. */
#include "backend/verdict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/check_run.h"
#include "mountopts/policy.h"

struct cfgfs_verdict {
	const struct cfgfs_policy *policy;
	struct cfgfs_limits limits;
};

int cfgfs_verdict_new(struct cfgfs_verdict **out, const struct cfgfs_policy *policy,
		      size_t max_size, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	struct cfgfs_verdict *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	struct cfgfs_limits lim = CFGFS_LIMITS_DEFAULT;
	lim.max_size = max_size;
	v->policy = policy;
	v->limits = lim;
	*out = v;
	return 0;
}

void cfgfs_verdict_free(struct cfgfs_verdict *v)
{
	free(v);
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
	int rc = cfgfs_validate(out, fmt, buf, len, &v->limits);
	if (rc < 0)
		return rc;
	const struct cfgfs_rule *rule = cfgfs_policy_rule_for(v->policy, path);
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
