/*
 * upkeep.h — background store upkeep: libgit2 has no gc, so loose objects
 * pile up at a few per save. A thread wakes every CFGFS_UPKEEP_INTERVAL_S
 * and, when more than CFGFS_UPKEEP_LOOSE_MAX loose objects are there, packs
 * them (cfgfs_history_repack, which never blocks saves or reads).
 *
 * Owns its thread, a mutex and a condition variable; stop wakes and joins it.
 */
#ifndef CFGFS_UPKEEP_H
#define CFGFS_UPKEEP_H

#include "history/history.h"
#include "backend/log.h"

#define CFGFS_UPKEEP_INTERVAL_S 60
#define CFGFS_UPKEEP_LOOSE_MAX 2000

struct cfgfs_upkeep;

/* 0, or -errno when the thread cannot start. */
int cfgfs_upkeep_start(struct cfgfs_upkeep **out, struct cfgfs_history *h, struct cfgfs_log *log);
/* NULL is allowed. Waits for a repack in progress to finish. */
void cfgfs_upkeep_stop(struct cfgfs_upkeep *u);

#endif
