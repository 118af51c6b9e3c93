/* What the disk shim (disk_shim.c) writes to its undo directory, read back by power_loss.cpp
 * when the test cuts the power. Native byte order: both sides run on the same machine.
 *
 * <dev>-<ino>.log, one per file written since its last flush: records
 *   undo record: kind DISK_SHIM_UNDO, the bytes at [offset, offset+saved) before a write or a
 *                truncation, and the file's size before it (restore: put the bytes back, then
 *                truncate to old_size);
 *   flush mark:  kind DISK_SHIM_FLUSHED, seq S: every undo record with seq < S is on the disk.
 *   The inode is found by walking the watched folders (renames are undone first).
 * dirs.log: names made, removed or moved in a watched folder, and the folders' flushes:
 *   DISK_SHIM_CREATE (path), DISK_SHIM_UNLINK (path, copy of the file as it was),
 *   DISK_SHIM_RENAME (path -> path2, copy of what path2 named before or ""),
 *   DISK_SHIM_DIR_FLUSHED (dev/ino of the folder, seq S: its earlier name changes are on the disk).
 *   An operation's folder is dir_dev/dir_ino (for a rename, both folders must be flushed).
 * Every record is one write(2), so a SIGKILL leaves whole records (a torn tail is ignored). */
#ifndef REGULARS_DISK_SHIM_FORMAT_H
#define REGULARS_DISK_SHIM_FORMAT_H

#include <stdint.h>

#define DISK_SHIM_MAGIC 0x52474453u /* "RGDS" */

enum disk_shim_kind {
  DISK_SHIM_UNDO = 1,
  DISK_SHIM_FLUSHED = 2,
  DISK_SHIM_CREATE = 10,
  DISK_SHIM_UNLINK = 11,
  DISK_SHIM_RENAME = 12,
  DISK_SHIM_DIR_FLUSHED = 13
};

struct disk_shim_undo {
  uint32_t magic;
  uint32_t kind;
  uint64_t seq;
  uint64_t offset;
  uint64_t old_size;
  uint64_t saved; /* bytes that follow */
};

struct disk_shim_dir_op {
  uint32_t magic;
  uint32_t kind;
  uint64_t seq;
  uint64_t dir_dev, dir_ino;   /* the folder of path */
  uint64_t dir2_dev, dir2_ino; /* the folder of path2 (rename) */
  uint32_t path_len, path2_len, copy_len; /* the three strings follow, without their NULs */
  uint32_t pad;
};

#endif
