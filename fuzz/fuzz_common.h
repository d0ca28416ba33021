/*
 * fuzz_common.h — shared body of the libFuzzer targets for the formats
 * front ends: parse one input with small limits, check the result's
 * invariants (abort on a broken one, so libFuzzer records the input) and
 * walk every node of the model.
 */
#ifndef CFGFS_FUZZ_COMMON_H
#define CFGFS_FUZZ_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/formats/validate.h"

#define FUZZ_MAX_SIZE ((size_t)1024 * 1024)
#define FUZZ_MAX_DEPTH 64u
#define FUZZ_MAX_NODES ((size_t)20000)

static size_t fuzz_walk(const struct cfgfs_node *n, unsigned depth)
{
	size_t seen = 1, i;

	if (depth > FUZZ_MAX_DEPTH + 1 || n->line == 0 || n->col == 0)
		abort();
	switch (n->kind) {
	case CFGFS_NODE_SCALAR:
		if (n->scalar.text == NULL || n->scalar.text[n->scalar.len] != '\0')
			abort();
		break;
	case CFGFS_NODE_SEQUENCE:
		for (i = 0; i < n->sequence.count; i++)
			seen += fuzz_walk(n->sequence.items[i], depth + 1);
		break;
	case CFGFS_NODE_MAPPING:
		for (i = 0; i < n->mapping.count; i++) {
			seen += fuzz_walk(n->mapping.pairs[i].key, depth + 1);
			seen += fuzz_walk(n->mapping.pairs[i].value, depth + 1);
		}
		break;
	}
	return seen;
}

static int fuzz_one(enum cfgfs_format fmt, const uint8_t *data, size_t size)
{
	const struct cfgfs_limits lim = {
	    .max_size = FUZZ_MAX_SIZE,
	    .max_depth = FUZZ_MAX_DEPTH,
	    .max_nodes = FUZZ_MAX_NODES,
	};
	struct cfgfs_doc *doc = NULL;
	struct cfgfs_diag d;
	size_t i;
	int rc;

	rc = cfgfs_doc_parse(&doc, &d, fmt, (const char *)data, size, &lim);
	if (rc == 0) {
		if (doc == NULL || d.reason != NULL)
			abort();
		for (i = 0; i < doc->count; i++)
			(void)fuzz_walk(doc->roots[i], 1);
	} else if (rc == -EINVAL || rc == -EFBIG) {
		if (doc != NULL || d.reason == NULL || d.message[0] == '\0' ||
		    memchr(d.message, '\0', sizeof(d.message)) == NULL)
			abort();
		if (rc == -EINVAL && (d.line == 0 || d.col == 0))
			abort();
	} else if (rc != -ENOMEM) {
		abort();
	}
	cfgfs_doc_free(doc);
	return 0;
}

#endif
