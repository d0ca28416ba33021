/*
 * ops.c — the table of low-level operations handed to libfuse, and the
 * session-level init: the capabilities cfgfs wants from the kernel.
 */
#include "fs/ops.h"

static void fs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* No atomic O_TRUNC: with it the kernel zeroes the inode's one size
	 * and drops its page cache for every reader the moment a writer opens.
	 * Without it, open(O_TRUNC) arrives as OPEN and then a truncate from
	 * the same thread, which fs_op_setattr gives to that fresh handle's
	 * staged copy while readers keep the live size. */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* the daemon must see every write before it is acknowledged */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* a writer's direct writes move the kernel's one size per inode;
	 * re-check attributes on read so other readers see the live size */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
}

const struct fuse_lowlevel_ops cfgfs_fs_ops = {
	.init = fs_op_init,
	.lookup = fs_op_lookup,
	.forget = fs_op_forget,
	.forget_multi = fs_op_forget_multi,
	.getattr = fs_op_getattr,
	.setattr = fs_op_setattr,
	.readlink = fs_op_readlink,
	.mknod = fs_op_mknod,
	.mkdir = fs_op_mkdir,
	.unlink = fs_op_unlink,
	.rmdir = fs_op_rmdir,
	.symlink = fs_op_symlink,
	.rename = fs_op_rename,
	.link = fs_op_link,
	.open = fs_op_open,
	.read = fs_op_read,
	.write = fs_op_write,
	.flush = fs_op_flush,
	.release = fs_op_release,
	.fsync = fs_op_fsync,
	.opendir = fs_op_opendir,
	.readdir = fs_op_readdir,
	.readdirplus = fs_op_readdirplus,
	.releasedir = fs_op_releasedir,
	.statfs = fs_op_statfs,
	.create = fs_op_create,
	.poll = fs_op_poll,
	/* no xattr handlers: libfuse answers ENOSYS, and the kernel stops
	 * asking for security.capability before every write */
};
