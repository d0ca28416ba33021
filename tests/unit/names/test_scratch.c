/*
 * Unit tests for backend/names/scratch: names real tools create must be
 * scratch, names real configuration files have must not be.
 */
#include "backend/names/scratch.h"

#include <stdio.h>

static const char *const SCRATCH[] = {
	/* vim (names seen with strace) */
	".app.yaml.swp", ".app.yaml.swx", ".app.yaml.swo", ".app.yaml.swa",
	".bashrc.swp", "4913", "5036", "5159", "1234913", /* 4913 + 123 * 10000 */
	/* backups */
	"app.yaml~", "app.yaml.~1~",
	/* emacs, systemd */
	".#app.yaml", "#app.yaml#", ".#override.conf3f2a9c0d1b2e4f5a",
	/* JetBrains */
	"app.yaml___jb_tmp___", "app.yaml___jb_old___",
	/* GNU sed -i (seen: sedn3mshd) */
	"sedn3mshd", "sedA1b2C3",
	/* rsync (seen: .app.yaml.NnmG7L, .hosts.qSeuoc) */
	".app.yaml.NnmG7L", ".hosts.qSeuoc", ".app.yaml.abcdef",
	/* Ansible */
	".ansible_tmpk2j3h4g5app.yaml", ".ansible_tmp",
	/* Python tempfile (seen: tmplcsp7k4a, tmpizhwm8sj.yaml) */
	"tmplcsp7k4a", "tmpizhwm8sj.yaml", "tmp_a_b_c_d",
	/* dpkg, ucf */
	"nginx.conf.dpkg-new", "nginx.conf.dpkg-tmp", "nginx.conf.dpkg-old",
	"nginx.conf.dpkg-dist", "sshd_config.ucf-dist",
	/* others */
	".~lock.app.yaml#", "sudoers.tmp", "app.yaml.vsctmp", ".app.yaml.kate-swp",
	".goutputstream-ABC123", "passwd+",
	/* a path: only its last component counts */
	"dir/sub/.app.yaml.swp",
};

static const char *const NOT_SCRATCH[] = {
	"app.yaml", "app.yml", "config.json", "tmpfiles.conf", "tmp", "tmp.conf",
	"tmpabcdefg", "tmpabcdefghi", "tmpABCDEFGH", "tmpabcdefgh-x", "sed",
	"sedrules", "sed.conf", "sedabcde", "sedabcdefg", ".env.sample",
	".env.backup", ".env", ".gitignore", ".swp.yaml", "app.swp", "x.svg",
	".x.svg", ".app.yaml.swy", "4912", "4914", "5035", "04913", "1234",
	"~", "#", "##", ".#", "#x", "x#", ".tmp", "~app.yaml", "app~.yaml",
	"nginx.conf.dpkg", ".dpkg-new", "passwd-", "+", "a+b", "c++.conf",
	"jb_tmp", "___jb_tmp___", ".~lock.#", "ansible_tmp", ".goutputstream-",
	"hosts", "sshd_config", "nginx.conf", "10-default.conf", "123456789",
	"dir/app.yaml", "sub.d/", "",
};

int main(void)
{
	int failures = 0;

	for (size_t i = 0; i < sizeof(SCRATCH) / sizeof(SCRATCH[0]); i++)
		if (!cfgfs_scratch_match(SCRATCH[i])) {
			fprintf(stderr, "FAIL not scratch: '%s'\n", SCRATCH[i]);
			failures++;
		}
	for (size_t i = 0; i < sizeof(NOT_SCRATCH) / sizeof(NOT_SCRATCH[0]); i++) {
		const struct cfgfs_scratch_kind *k = cfgfs_scratch_which(NOT_SCRATCH[i]);
		if (k) {
			fprintf(stderr, "FAIL scratch (%s): '%s'\n", k->tool, NOT_SCRATCH[i]);
			failures++;
		}
	}
	size_t n = cfgfs_scratch_count();
	if (n == 0 || cfgfs_scratch_at(n) != NULL) {
		fprintf(stderr, "FAIL table listing\n");
		failures++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cfgfs_scratch_kind *k = cfgfs_scratch_at(i);
		if (!k || !k->tool || !k->pattern || !k->note) {
			fprintf(stderr, "FAIL row %zu incomplete\n", i);
			failures++;
		}
	}
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
