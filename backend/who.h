/*
 * who.h — the person and program behind a request, as commit metadata.
 *
 * Turns a (uid, gid, pid) triple from the kernel into an author name (the
 * passwd name, or the uid number when unknown), an email-like
 * "name@hostname", and the program's name from /proc. Reentrant; no locks.
 */
#ifndef CFGFS_WHO_H
#define CFGFS_WHO_H

#include <stdint.h>
#include <sys/types.h>

#define CFGFS_WHO_NAME_MAX 64
#define CFGFS_WHO_PROG_MAX 32
#define CFGFS_WHO_HOST_MAX 128

struct cfgfs_who {
	uint32_t uid;
	uint32_t gid;
	int32_t pid;
	char program[CFGFS_WHO_PROG_MAX]; /* "" = look it up from pid when needed */
};

/* Fill who->program from /proc now, for a change committed later (when the
 * process may be gone). */
void cfgfs_who_remember(struct cfgfs_who *who);

struct cfgfs_author {
	char name[CFGFS_WHO_NAME_MAX];
	char email[CFGFS_WHO_NAME_MAX + CFGFS_WHO_HOST_MAX + 1];
	char program[CFGFS_WHO_PROG_MAX]; /* "vim", or "?" once the process is gone */
};

void cfgfs_who_resolve(struct cfgfs_author *out, const struct cfgfs_who *who);

#endif
