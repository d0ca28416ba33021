/*
 * format.c — a file's format from its name.
 */
#include "backend/formats/format.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

struct suffix_format {
	const char *suffix;
	enum cfgfs_format fmt;
};

static const struct suffix_format SUFFIXES[] = {
    {".yaml", CFGFS_FORMAT_YAML},
    {".yml", CFGFS_FORMAT_YAML},
    {".json", CFGFS_FORMAT_JSON},
};

enum cfgfs_format cfgfs_format_from_name(const char *path)
{
	const char *base;
	size_t len, i;

	if (path == NULL)
		return CFGFS_FORMAT_NONE;
	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	len = strlen(base);
	for (i = 0; i < sizeof(SUFFIXES) / sizeof(SUFFIXES[0]); i++) {
		size_t slen = strlen(SUFFIXES[i].suffix);

		/* A bare ".yaml" is a hidden file with no stem, not a YAML file. */
		if (len > slen && strcasecmp(base + len - slen, SUFFIXES[i].suffix) == 0)
			return SUFFIXES[i].fmt;
	}
	return CFGFS_FORMAT_NONE;
}

const char *cfgfs_format_name(enum cfgfs_format fmt)
{
	switch (fmt) {
	case CFGFS_FORMAT_NONE:
		return "none";
	case CFGFS_FORMAT_TEXT:
		return "text";
	case CFGFS_FORMAT_YAML:
		return "yaml";
	case CFGFS_FORMAT_JSON:
		return "json";
	}
	return "none";
}
