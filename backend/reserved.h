/*
 * reserved.h — names cfgfs keeps for itself inside SOURCE and the store.
 *
 * Every name starting with CFGFS_RESERVED_PREFIX is invisible through the
 * mount and cannot be created there: staging files of saves in flight live in
 * SOURCE under CFGFS_STAGE_PREFIX, and every stored directory holds a meta
 * blob (meta.h). Pure functions.
 */
#ifndef CFGFS_RESERVED_H
#define CFGFS_RESERVED_H

#include <stdbool.h>
#include <string.h>

#define CFGFS_RESERVED_PREFIX ".cfgfs-"
#define CFGFS_STAGE_PREFIX ".cfgfs-stage."
/* A staged save between its commit and its publish: the name encodes the
 * target path ('%' -> "%25", '/' -> "%2F"), so a crash in between can be
 * rolled forward at the next mount. */
#define CFGFS_PUBLISH_PREFIX ".cfgfs-publish."

static inline bool cfgfs_reserved_name(const char *name)
{
	return strncmp(name, CFGFS_RESERVED_PREFIX, sizeof(CFGFS_RESERVED_PREFIX) - 1) == 0;
}

static inline bool cfgfs_stage_name(const char *name)
{
	return strncmp(name, CFGFS_STAGE_PREFIX, sizeof(CFGFS_STAGE_PREFIX) - 1) == 0;
}

static inline bool cfgfs_publish_name(const char *name)
{
	return strncmp(name, CFGFS_PUBLISH_PREFIX, sizeof(CFGFS_PUBLISH_PREFIX) - 1) == 0;
}

#endif
