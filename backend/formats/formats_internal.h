/*
 * formats_internal.h — shared plumbing of the formats module; not for callers
 * outside backend/formats/ (they use validate.h and doc.h).
 *
 * Owns: the arena every document node lives in, the open-addressing key set
 * used for duplicate keys and YAML anchors, position tracking that agrees
 * with libyaml's (1-based lines, columns counted in characters), and the two
 * front ends. Every function here is reentrant; nothing is global.
 */
#ifndef CFGFS_FORMATS_INTERNAL_H
#define CFGFS_FORMATS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/formats/doc.h"
#include "backend/formats/validate.h"

/* ---- arena: bump allocator owning a document's nodes and strings ---- */

struct cfgfs_arena *cfgfs_arena_new(void);
/* Zeroed, suitably aligned memory, or NULL when out of memory. */
void *cfgfs_arena_alloc(struct cfgfs_arena *arena, size_t size);
/* A NUL-terminated copy of S[0..LEN), or NULL. */
char *cfgfs_arena_strndup(struct cfgfs_arena *arena, const char *s, size_t len);
void cfgfs_arena_free(struct cfgfs_arena *arena);

/* ---- key set: hash -> (key, value) with caller-supplied equality ---- */

struct cfgfs_keyset_slot {
	uint64_t hash;
	const void *key; /* NULL: empty slot */
	void *value;
};

struct cfgfs_keyset {
	struct cfgfs_keyset_slot *slots;
	size_t cap, count;
	uint64_t seed; /* per parse, so colliding keys cannot be precomputed */
};

typedef bool (*cfgfs_keyset_eq_fn)(const void *a, const void *b);

void cfgfs_keyset_init(struct cfgfs_keyset *set, uint64_t seed);
void cfgfs_keyset_fini(struct cfgfs_keyset *set);
/*
 * Finds the entry equal to KEY (with hash HASH), inserting KEY with a NULL
 * value when absent. *OUT points at the entry's value slot. 0 or -ENOMEM.
 */
int cfgfs_keyset_slot(void ***out, struct cfgfs_keyset *set, uint64_t hash, const void *key,
                      cfgfs_keyset_eq_fn eq);
/* Read-only lookup: the value slot of KEY, or NULL when absent. */
void **cfgfs_keyset_find(struct cfgfs_keyset *set, uint64_t hash, const void *key,
                         cfgfs_keyset_eq_fn eq);

uint64_t cfgfs_hash_bytes(uint64_t h, const void *data, size_t len);
#define CFGFS_HASH_INIT UINT64_C(14695981039346656037)

/* Scalar key identity (type, tag, value) as YAML defines key equality. */
uint64_t cfgfs_doc_key_hash(const struct cfgfs_node *key);
bool cfgfs_doc_key_equal(const void *a, const void *b);

/* Fills S's type and values from its text by the YAML 1.2 core schema. */
void cfgfs_doc_resolve_core(struct cfgfs_scalar *s);

/* Writes S[0..LEN) quoted, escaped and shortened to fit CAP. */
void cfgfs_doc_quote(char *dst, size_t cap, const char *s, size_t len);

/* ---- positions ---- */

struct cfgfs_pos {
	size_t off;
	unsigned line, col;
};

#define CFGFS_POS_START ((struct cfgfs_pos){.off = 0, .line = 1, .col = 1})

/* Steps P over one byte of BUF. CR LF, LF and a lone CR each end a line. */
static inline void cfgfs_pos_step(struct cfgfs_pos *p, const char *buf, size_t len)
{
	unsigned char c = (unsigned char)buf[p->off++];

	if (c == '\n' || (c == '\r' && !(p->off < len && buf[p->off] == '\n'))) {
		p->line++;
		p->col = 1;
	} else if ((c & 0xC0) != 0x80) {
		p->col++;
	}
}

/* The position of byte offset OFF (scans from the start). */
struct cfgfs_pos cfgfs_pos_at(const char *buf, size_t len, size_t off);

/* ---- diagnostics ---- */

/* Fills D and returns -EINVAL. */
int cfgfs_diag_set(struct cfgfs_diag *d, const char *reason, unsigned line, unsigned col,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- front ends: fill DOC (already allocated with its arena) or D ---- */

int cfgfs_yaml_parse(struct cfgfs_doc *doc, struct cfgfs_diag *d, const char *buf, size_t len,
                     const struct cfgfs_limits *lim);
int cfgfs_json_parse(struct cfgfs_doc *doc, struct cfgfs_diag *d, const char *buf, size_t len,
                     const struct cfgfs_limits *lim);

#endif
