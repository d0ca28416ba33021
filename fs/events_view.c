/*
 * events_view.c — .cfgfs/events: each read returns whole JSON lines, one
 * per revision committed after the reader opened (or after the revision
 * number it first wrote), and waits when there is none yet.
 *
 * A waiting read does not hold a FUSE worker: its request is parked in a
 * list and answered from the thread that appends the next revision. A
 * reader is only a cursor into the event log, so a slow reader never slows
 * a save. poll(2) is supported. Lock: fs->ev_lock, never held while
 * replying to the kernel.
 */
#include "fs/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "backend/events.h"
#include "history/history.h"

#define EV_NUM_MAX 24

struct ev_wait {
	fuse_req_t req;
	struct handle *h;
	size_t size;
	struct ev_wait *next;
};

/* Hand H up to SIZE bytes: leftovers first, then new lines. 0 and *len 0
 * when there is nothing new. h->lock held by the caller. */
static int take(struct cfgfs_fs *fs, struct handle *h, size_t size, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!h->buf || h->off >= h->len) {
		free(h->buf);
		h->buf = NULL;
		h->len = h->off = 0;
		uint64_t next;
		int rc = cfgfs_events_read(cfgfs_live_events(fs->live), h->cursor, size, &h->buf,
					   &h->len, &next);
		if (rc < 0)
			return rc;
		h->cursor = next;
		if (!h->buf)
			return 0;
	}
	size_t n = h->len - h->off < size ? h->len - h->off : size;
	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, h->buf + h->off, n);
	h->off += n;
	*len = n;
	return 0;
}

static void answer(fuse_req_t req, struct cfgfs_fs *fs, struct handle *h, size_t size)
{
	char *buf;
	size_t len;
	pthread_mutex_lock(&h->lock);
	int rc = take(fs, h, size, &buf, &len);
	pthread_mutex_unlock(&h->lock);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, len);
	free(buf);
}

static bool has_data(struct cfgfs_fs *fs, struct handle *h)
{
	return (h->buf && h->off < h->len) ||
	       cfgfs_events_last(cfgfs_live_events(fs->live)) > h->cursor;
}

/* A new revision: answer every parked read, wake every poll. */
static void on_append(void *arg, uint64_t revision)
{
	struct cfgfs_fs *fs = arg;
	(void)revision;
	pthread_mutex_lock(&fs->ev_lock);
	struct ev_wait *w = fs->ev_waiters;
	fs->ev_waiters = NULL;
	for (struct handle *h = fs->ev_handles; h; h = h->ev_next)
		if (h->ph) {
			fuse_lowlevel_notify_poll(h->ph);
			fuse_pollhandle_destroy(h->ph);
			h->ph = NULL;
		}
	pthread_mutex_unlock(&fs->ev_lock);
	while (w) {
		struct ev_wait *next = w->next;
		answer(w->req, fs, w->h, w->size);
		free(w);
		w = next;
	}
}

/* Remove and return W's entry if it is still parked. ev_lock held. */
static struct ev_wait *unpark(struct cfgfs_fs *fs, fuse_req_t req)
{
	for (struct ev_wait **pp = &fs->ev_waiters; *pp; pp = &(*pp)->next)
		if ((*pp)->req == req) {
			struct ev_wait *w = *pp;
			*pp = w->next;
			return w;
		}
	return NULL;
}

static void on_interrupt(fuse_req_t req, void *arg)
{
	struct cfgfs_fs *fs = arg;
	pthread_mutex_lock(&fs->ev_lock);
	struct ev_wait *w = unpark(fs, req);
	pthread_mutex_unlock(&fs->ev_lock);
	if (w) {
		fuse_reply_err(req, EINTR);
		free(w);
	}
}

int fs_events_init(struct cfgfs_fs *fs)
{
	int rc = pthread_mutex_init(&fs->ev_lock, NULL);
	if (rc != 0)
		return -rc;
	cfgfs_events_on_append(cfgfs_live_events(fs->live), on_append, fs);
	return 0;
}

void fs_events_destroy(struct cfgfs_fs *fs)
{
	cfgfs_events_on_append(cfgfs_live_events(fs->live), NULL, NULL);
	pthread_mutex_lock(&fs->ev_lock);
	struct ev_wait *w = fs->ev_waiters;
	fs->ev_waiters = NULL;
	pthread_mutex_unlock(&fs->ev_lock);
	while (w) {
		struct ev_wait *next = w->next;
		fuse_reply_buf(w->req, NULL, 0); /* end of stream: unmounting */
		free(w);
		w = next;
	}
	pthread_mutex_destroy(&fs->ev_lock);
}

int fs_events_open(struct cfgfs_fs *fs, struct handle *h, struct fuse_file_info *fi)
{
	if ((h->flags & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	h->cursor = cfgfs_events_last(cfgfs_live_events(fs->live));
	pthread_mutex_lock(&fs->ev_lock);
	h->ev_next = fs->ev_handles;
	fs->ev_handles = h;
	fs->ev_readers++;
	pthread_mutex_unlock(&fs->ev_lock);
	return 0;
}

void fs_events_read(fuse_req_t req, struct cfgfs_fs *fs, struct handle *h, size_t size)
{
	pthread_mutex_lock(&fs->ev_lock);
	bool ready = has_data(fs, h);
	struct ev_wait *w = NULL;
	if (!ready && !(h->flags & O_NONBLOCK)) {
		w = calloc(1, sizeof(*w));
		if (w) {
			*w = (struct ev_wait){req, h, size, fs->ev_waiters};
			fs->ev_waiters = w;
		}
	}
	pthread_mutex_unlock(&fs->ev_lock);
	if (ready) {
		answer(req, fs, h, size);
	} else if (h->flags & O_NONBLOCK) {
		fuse_reply_err(req, EAGAIN);
	} else if (!w) {
		fuse_reply_err(req, ENOMEM);
	} else {
		fuse_req_interrupt_func(req, on_interrupt, fs);
		/* a revision may have landed before the request was parked */
		pthread_mutex_lock(&fs->ev_lock);
		struct ev_wait *mine = has_data(fs, h) ? unpark(fs, req) : NULL;
		pthread_mutex_unlock(&fs->ev_lock);
		if (mine) {
			answer(req, fs, h, size);
			free(mine);
		}
	}
}

int fs_events_write(struct cfgfs_fs *fs, struct handle *h, const char *buf, size_t size)
{
	char text[EV_NUM_MAX];
	size_t len = size;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (len == 0 || len >= sizeof(text))
		return -EINVAL;
	memcpy(text, buf, len);
	text[len] = '\0';
	uint64_t n = 0;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(*c - '0');
	}
	if (n > cfgfs_events_last(cfgfs_live_events(fs->live)))
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	h->cursor = n;
	free(h->buf);
	h->buf = NULL;
	h->len = h->off = 0;
	pthread_mutex_unlock(&h->lock);
	on_append(fs, n); /* parked reads of this stream now have data */
	return 0;
}

void fs_events_release(struct cfgfs_fs *fs, struct handle *h)
{
	pthread_mutex_lock(&fs->ev_lock);
	for (struct handle **pp = &fs->ev_handles; *pp; pp = &(*pp)->ev_next)
		if (*pp == h) {
			*pp = h->ev_next;
			break;
		}
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	h->ph = NULL;
	fs->ev_readers--;
	pthread_mutex_unlock(&fs->ev_lock);
}

void fs_op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		struct fuse_pollhandle *ph)
{
	struct cfgfs_fs *fs = fuse_req_userdata(req);
	struct node *n = fs_node(fs, ino);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	if (n->kind != NODE_CTL || n->ctl != CTL_EVENTS) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLOUT);
		return;
	}
	pthread_mutex_lock(&fs->ev_lock);
	bool ready = has_data(fs, h);
	if (ph) {
		if (h->ph)
			fuse_pollhandle_destroy(h->ph);
		h->ph = ph;
	}
	pthread_mutex_unlock(&fs->ev_lock);
	fuse_reply_poll(req, ready ? POLLIN | POLLRDNORM : 0);
}

int fs_events_changes(void *arg, uint64_t revision, struct cfgfs_event_path **out, size_t *n)
{
	struct cfgfs_history *hs = arg;
	struct cfgfs_hist_change *v = NULL;
	size_t count = 0;
	int rc = cfgfs_history_refresh(hs);
	if (rc == 0)
		rc = cfgfs_history_changes(hs, revision, &v, &count);
	if (rc < 0)
		return rc;
	struct cfgfs_event_path *p = calloc(count ? count : 1, sizeof(*p));
	if (!p) {
		cfgfs_hist_changes_free(v, count);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		/* hand the strings over */
		p[i].path = v[i].path;
		p[i].from = v[i].from;
		p[i].op = v[i].op;
		v[i].path = v[i].from = NULL;
	}
	cfgfs_hist_changes_free(v, count);
	*out = p;
	*n = count;
	return 0;
}
