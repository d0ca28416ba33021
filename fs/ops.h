/*
 * ops.h — the low-level operation table for a cfgfs session.
 */
#ifndef CFGFS_OPS_H
#define CFGFS_OPS_H

#include "fs/fs.h"

extern const struct fuse_lowlevel_ops cfgfs_fs_ops;

#endif
