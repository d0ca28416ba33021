/* who.c — see who.h. */
#include "backend/who.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PASSWD_BUF 4096

void cfgfs_who_resolve(struct cfgfs_author *out, const struct cfgfs_who *who)
{
	struct passwd pw, *res = NULL;
	char buf[PASSWD_BUF];
	if (getpwuid_r(who->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out->name, sizeof(out->name), "%s", pw.pw_name);
	else
		snprintf(out->name, sizeof(out->name), "%u", who->uid);
	char host[CFGFS_WHO_HOST_MAX];
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out->email, sizeof(out->email), "%s@%s", out->name, host);

	if (who->program[0]) {
		snprintf(out->program, sizeof(out->program), "%s", who->program);
		return;
	}
	snprintf(out->program, sizeof(out->program), "?");
	if (who->pid <= 0)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", who->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out->program, sizeof(out->program) - 1);
	close(fd);
	if (n <= 0) {
		snprintf(out->program, sizeof(out->program), "?");
		return;
	}
	out->program[n] = '\0';
	out->program[strcspn(out->program, "\n")] = '\0';
}

void cfgfs_who_remember(struct cfgfs_who *who)
{
	struct cfgfs_author a;
	who->program[0] = '\0';
	cfgfs_who_resolve(&a, who);
	snprintf(who->program, sizeof(who->program), "%s", a.program);
}
