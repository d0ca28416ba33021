/*
 * scratch.c — SCRATCH_TABLE and its predicates.
 *
 * Each shape was checked against the program that makes it where the
 * program is installed on the build machine (strace of vim 9, GNU sed 4.9,
 * rsync 3.2, CPython 3.11 tempfile); the others follow the tools' sources
 * or documentation, as each row's note says.
 *
 * The guiding rule is "no false positives on real configuration names":
 * a real file that matched would silently never be versioned, which is
 * worse than an occasional temporary reaching history. Hence the shapes
 * are as tight as the tools allow (exact lengths, exact alphabets).
 */
#include "backend/names/scratch.h"

#include <stdint.h>
#include <string.h>

/* vim's write probe: 4913, then +123 until a free name is found. */
#define VIM_PROBE_FIRST 4913u
#define VIM_PROBE_STEP 123u
/* Longest probe number believed: vim would need ~8 million probes first. */
#define VIM_PROBE_MAX_DIGITS 9
/* mkstemp() "XXXXXX" and CPython's tempfile random part. */
#define MKSTEMP_RANDOM_LEN 6
#define PYTEMP_RANDOM_LEN 8

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* S ends with SUFFIX and has at least MIN_STEM bytes before it. */
static bool has_suffix(const char *s, const char *suffix, size_t min_stem)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m + min_stem && memcmp(s + n - m, suffix, m) == 0;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* CPython tempfile._RandomNameSequence.characters */
static bool is_pytemp_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool all_of(const char *s, size_t n, bool (*pred)(char))
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !pred(s[i]))
			return false;
	return true;
}

static bool vim_swap(const char *b)
{
	/* ".NAME.swp", then .swo ... .swa on collisions; .swx is vim's probe
	 * that the directory accepts a swap file. Always dot-prefixed. */
	size_t n = strlen(b);
	if (n < 4 || b[0] != '.')
		return false;
	const char *s = b + n - 4;
	if (s[0] != '.' || s[1] != 's' || s[2] != 'w')
		return false;
	return (s[3] >= 'a' && s[3] <= 'p') || s[3] == 'x';
}

static bool vim_probe(const char *b)
{
	size_t n = strlen(b);
	if (n < 4 || n > VIM_PROBE_MAX_DIGITS || b[0] == '0')
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (b[i] < '0' || b[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(b[i] - '0');
	}
	return v >= VIM_PROBE_FIRST && (v - VIM_PROBE_FIRST) % VIM_PROBE_STEP == 0;
}

static bool tilde_backup(const char *b)
{
	return has_suffix(b, "~", 1);
}

static bool emacs_lock(const char *b)
{
	return has_prefix(b, ".#") && b[2] != '\0';
}

static bool emacs_autosave(const char *b)
{
	size_t n = strlen(b);
	return n >= 3 && b[0] == '#' && b[n - 1] == '#';
}

static bool jetbrains(const char *b)
{
	return has_suffix(b, "___jb_tmp___", 1) || has_suffix(b, "___jb_old___", 1);
}

static bool sed_temp(const char *b)
{
	return strlen(b) == 3 + MKSTEMP_RANDOM_LEN && has_prefix(b, "sed") &&
	       all_of(b + 3, MKSTEMP_RANDOM_LEN, is_alnum);
}

static bool rsync_temp(const char *b)
{
	/* ".NAME.XXXXXX". A hidden file with a six-letter extension
	 * (".env.sample") has the same shape, so demand what rsync's names
	 * nearly always have: NAME with an extension of its own, or a random
	 * part that is not all lower-case letters. */
	size_t n = strlen(b);
	if (n < 2 + 1 + MKSTEMP_RANDOM_LEN || b[0] != '.')
		return false;
	const char *rnd = b + n - MKSTEMP_RANDOM_LEN;
	if (rnd[-1] != '.' || !all_of(rnd, MKSTEMP_RANDOM_LEN, is_alnum))
		return false;
	size_t name_len = (size_t)(rnd - 1 - (b + 1));
	if (name_len == 0)
		return false;
	if (memchr(b + 1, '.', name_len))
		return true;
	for (size_t i = 0; i < MKSTEMP_RANDOM_LEN; i++)
		if (!(rnd[i] >= 'a' && rnd[i] <= 'z'))
			return true;
	return false;
}

static bool ansible_temp(const char *b)
{
	return has_prefix(b, ".ansible_tmp");
}

static bool python_temp(const char *b)
{
	/* "tmp" + 8 random, then the caller's suffix if any: only a suffix
	 * starting with '.' is believed ("tmpab_cd123.yaml"), so "tmpfiles.conf"
	 * and "tmp_settings" stay real files. */
	if (!has_prefix(b, "tmp") || !all_of(b + 3, PYTEMP_RANDOM_LEN, is_pytemp_char))
		return false;
	char after = b[3 + PYTEMP_RANDOM_LEN];
	return after == '\0' || after == '.';
}

static bool dpkg_ucf(const char *b)
{
	static const char *const suffixes[] = {
		".dpkg-new", ".dpkg-tmp", ".dpkg-old", ".dpkg-dist", ".dpkg-bak",
		".dpkg-remove", ".ucf-new", ".ucf-old", ".ucf-dist",
	};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (has_suffix(b, suffixes[i], 1))
			return true;
	return false;
}

static bool libreoffice_lock(const char *b)
{
	return has_prefix(b, ".~lock.") && has_suffix(b, "#", strlen(".~lock.") + 1);
}

static bool dot_tmp(const char *b)
{
	return has_suffix(b, ".tmp", 1);
}

static bool vscode_temp(const char *b)
{
	return has_suffix(b, ".vsctmp", 1);
}

static bool kate_swap(const char *b)
{
	return has_suffix(b, ".kate-swp", 1);
}

static bool gio_temp(const char *b)
{
	return has_prefix(b, ".goutputstream-") && b[strlen(".goutputstream-")] != '\0';
}

static bool shadow_temp(const char *b)
{
	return has_suffix(b, "+", 1);
}

struct scratch_entry {
	struct cfgfs_scratch_kind kind;
	bool (*match)(const char *basename);
};

/*
 * SCRATCH_TABLE — every name shape cfgfs treats as scratch without being
 * told. Order only decides which row cfgfs_scratch_which reports.
 */
static const struct scratch_entry SCRATCH_TABLE[] = {
	{ { "vim, nano --locking", ".NAME.swp (.swo ... .swa, .swx)",
	    "swap file; .swx is vim's probe while picking one; dot-prefixed only" },
	  vim_swap },
	{ { "vim", "4913, 5036, 5159, ... (4913 + 123k)",
	    "probe that the directory is writable before a save" },
	  vim_probe },
	{ { "vim, emacs, cp/mv --backup", "NAME~ (also NAME.~N~)",
	    "backup made during or after a save" },
	  tilde_backup },
	{ { "emacs, systemd (systemctl edit)", ".#NAME",
	    "emacs lock symlink; systemd's temporary before rename" },
	  emacs_lock },
	{ { "emacs", "#NAME#", "auto-save file" }, emacs_autosave },
	{ { "JetBrains IDEs", "NAME___jb_tmp___, NAME___jb_old___",
	    "safe-write temporary and the moved-aside original" },
	  jetbrains },
	{ { "GNU sed -i", "sedXXXXXX (6 of [A-Za-z0-9])",
	    "mkstemp temporary renamed over the file" },
	  sed_temp },
	{ { "rsync", ".NAME.XXXXXX (6 of [A-Za-z0-9])",
	    "receiver's temporary; not when NAME has no '.' and XXXXXX is all "
	    "lower-case (so .env.sample stays a real file)" },
	  rsync_temp },
	{ { "Ansible", ".ansible_tmp*", "atomic_move temporary (keeps NAME as suffix)" },
	  ansible_temp },
	{ { "Python tempfile (and tools built on it)", "tmpXXXXXXXX, tmpXXXXXXXX.SUFFIX",
	    "8 of [a-z0-9_]; with suffix= only a suffix starting with '.'" },
	  python_temp },
	{ { "dpkg, ucf", "NAME.dpkg-{new,tmp,old,dist,bak,remove}, NAME.ucf-{new,old,dist}",
	    "package manager conffile handling" },
	  dpkg_ucf },
	{ { "LibreOffice", ".~lock.NAME#", "document lock file" }, libreoffice_lock },
	{ { "visudo, atomic-write helpers", "NAME.tmp",
	    "conventional temporary (sudoers.tmp); nobody names a config .tmp" },
	  dot_tmp },
	{ { "VS Code", "NAME.vsctmp", "atomic-save temporary" }, vscode_temp },
	{ { "Kate / KDE editors", "NAME.kate-swp", "swap file" }, kate_swap },
	{ { "GIO (gedit, GNOME apps)", ".goutputstream-XXXXXX",
	    "g_file_replace temporary renamed over the file" },
	  gio_temp },
	{ { "shadow-utils (vipw, useradd, passwd)", "NAME+",
	    "new passwd/group/shadow written before rename" },
	  shadow_temp },
};

#define SCRATCH_TABLE_LEN (sizeof(SCRATCH_TABLE) / sizeof(SCRATCH_TABLE[0]))

const struct cfgfs_scratch_kind *cfgfs_scratch_which(const char *basename)
{
	const char *slash = strrchr(basename, '/');
	if (slash)
		basename = slash + 1;
	if (basename[0] == '\0')
		return NULL;
	for (size_t i = 0; i < SCRATCH_TABLE_LEN; i++)
		if (SCRATCH_TABLE[i].match(basename))
			return &SCRATCH_TABLE[i].kind;
	return NULL;
}

bool cfgfs_scratch_match(const char *basename)
{
	return cfgfs_scratch_which(basename) != NULL;
}

size_t cfgfs_scratch_count(void)
{
	return SCRATCH_TABLE_LEN;
}

const struct cfgfs_scratch_kind *cfgfs_scratch_at(size_t i)
{
	return i < SCRATCH_TABLE_LEN ? &SCRATCH_TABLE[i].kind : NULL;
}
