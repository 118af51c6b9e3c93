/* An LD_PRELOAD library that stands between a process and the disk for two tests:
 *
 *  - power loss: every write to a file in a watched folder first saves the bytes it replaces
 *    (an undo log per file, kept in DISK_SHIM_UNDO_DIR), and every fsync/fdatasync marks what it
 *    made durable. After SIGKILL, power_loss.cpp undoes whatever no flush covered, which is what
 *    a power cut may do to the page cache. Names made, removed or renamed in a watched folder are
 *    undone the same way unless the folder itself was flushed afterwards;
 *  - disk full: while the file DISK_SHIM_FULL_FLAG exists, writes to files in a watched folder
 *    (and creating files there) fail with ENOSPC, as on a full file system.
 *
 * DISK_SHIM_WATCH: the watched folders, separated by ':' (absolute paths). Without it, or in a
 * process that sets neither mode, the shim only passes calls through. "-shm" files are left
 * alone: SQLite maps them, and rebuilds them after a crash.
 * Writes to watched files are serialised under one lock, so a flush can tell which writes it
 * covers: those logged before it started. The format is in disk_shim_format.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "disk_shim_format.h"

#define MAX_WATCH 8
#define MAX_FDS 16384
#define MAX_INODES 512

struct inode_log {
  dev_t dev;
  ino_t ino;
  int log_fd;      /* the undo log, O_APPEND */
  int read_fd;     /* the file itself, to read what a write replaces */
  uint64_t last_seq; /* newest undo record's seq */
  int used;
};

static struct {
  pthread_once_t once;
  pthread_mutex_t mu;
  char watch[MAX_WATCH][PATH_MAX];
  int nwatch;
  char undo_dir[PATH_MAX]; /* "" when power-loss undo is off */
  char full_flag[PATH_MAX]; /* "" when the disk-full switch is off */
  uint64_t seq;
  int dirs_fd;
  unsigned char fd_watched[MAX_FDS];
  struct inode_log inodes[MAX_INODES];
} g = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, "", "", 1, -1, {0}, {{0}}};

#define REAL(name) static __typeof__(&name) real_##name
REAL(open);
REAL(openat);
REAL(write);
REAL(pwrite);
REAL(writev);
REAL(pwritev);
REAL(ftruncate);
REAL(fallocate);
REAL(posix_fallocate);
REAL(fsync);
REAL(fdatasync);
REAL(close);
REAL(rename);
REAL(renameat);
REAL(unlink);
REAL(unlinkat);

static void load_real(void) {
#define LOAD(name) real_##name = (__typeof__(real_##name))dlsym(RTLD_NEXT, #name)
  LOAD(open); LOAD(openat); LOAD(write); LOAD(pwrite); LOAD(writev); LOAD(pwritev);
  LOAD(ftruncate); LOAD(fallocate); LOAD(posix_fallocate); LOAD(fsync); LOAD(fdatasync);
  LOAD(close); LOAD(rename); LOAD(renameat); LOAD(unlink); LOAD(unlinkat);
#undef LOAD
}

static void init(void) {
  load_real();
  const char* watch = getenv("DISK_SHIM_WATCH");
  const char* undo = getenv("DISK_SHIM_UNDO_DIR");
  const char* full = getenv("DISK_SHIM_FULL_FLAG");
  if (watch == NULL) return;
  for (const char* p = watch; *p != '\0' && g.nwatch < MAX_WATCH;) {
    const char* end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n > 0 && n < PATH_MAX) {
      memcpy(g.watch[g.nwatch], p, n);
      g.watch[g.nwatch][n] = '\0';
      ++g.nwatch;
    }
    p += n + (end ? 1 : 0);
  }
  if (undo != NULL && strlen(undo) < PATH_MAX - 64) {
    snprintf(g.undo_dir, sizeof g.undo_dir, "%s", undo);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dirs.log", undo);
    g.dirs_fd = real_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (g.dirs_fd < 0) {
      /* Without its log the shim could not undo anything: say so rather than pass a test. */
      fprintf(stderr, "disk shim: cannot open %s: %s\n", path, strerror(errno));
      abort();
    }
  }
  if (full != NULL && strlen(full) < PATH_MAX) snprintf(g.full_flag, sizeof g.full_flag, "%s", full);
}

static void ensure_init(void) { pthread_once(&g.once, init); }

/* The absolute form of a path given relative to dirfd (no normalisation: the tests give
 * absolute paths). */
static int absolute(int dirfd, const char* path, char* out) {
  if (path[0] == '/') return snprintf(out, PATH_MAX, "%s", path) < PATH_MAX ? 0 : -1;
  char base[PATH_MAX];
  if (dirfd == AT_FDCWD) {
    if (getcwd(base, sizeof base) == NULL) return -1;
  } else {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(link, base, sizeof base - 1);
    if (n < 0) return -1;
    base[n] = '\0';
  }
  return snprintf(out, PATH_MAX, "%s/%s", base, path) < PATH_MAX ? 0 : -1;
}

static int is_watched(const char* abs) {
  size_t len = strlen(abs);
  if (len >= 4 && strcmp(abs + len - 4, "-shm") == 0) return 0;
  for (int i = 0; i < g.nwatch; ++i) {
    size_t n = strlen(g.watch[i]);
    if (strncmp(abs, g.watch[i], n) == 0 && abs[n] == '/') return 1;
  }
  return 0;
}

static int watched_at(int dirfd, const char* path, char* abs) {
  if (g.nwatch == 0 || path == NULL || absolute(dirfd, path, abs) != 0) return 0;
  return is_watched(abs);
}

static int disk_full(void) { return g.full_flag[0] != '\0' && access(g.full_flag, F_OK) == 0; }

static int fd_is_watched(int fd) { return fd >= 0 && fd < MAX_FDS && g.fd_watched[fd]; }

static void parent_of(const char* abs, uint64_t* dev, uint64_t* ino) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", abs);
  char* slash = strrchr(dir, '/');
  if (slash != NULL) *(slash == dir ? slash + 1 : slash) = '\0';
  struct stat st;
  if (stat(dir, &st) == 0) {
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
  }
}

/* Under g.mu. The inode's undo log, opened (and the file kept open for reading) on first use. */
static struct inode_log* inode_for(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
  struct inode_log* free_slot = NULL;
  for (int i = 0; i < MAX_INODES; ++i) {
    struct inode_log* l = &g.inodes[i];
    if (l->used && l->dev == st.st_dev && l->ino == st.st_ino) return l;
    if (!l->used && free_slot == NULL) free_slot = l;
  }
  if (free_slot == NULL) abort(); /* more files than a test writes: fail loudly, never silently */
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  free_slot->read_fd = real_open(link, O_RDONLY | O_CLOEXEC, 0);
  snprintf(path, sizeof path, "%s/%llu-%llu.log", g.undo_dir, (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino);
  free_slot->log_fd = real_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (free_slot->read_fd < 0 || free_slot->log_fd < 0) abort();
  free_slot->dev = st.st_dev;
  free_slot->ino = st.st_ino;
  free_slot->last_seq = 0;
  free_slot->used = 1;
  return free_slot;
}

/* Under g.mu: saves what a change of [offset, offset+len) (len 0: a size change) replaces. */
static void save_undo(int fd, uint64_t offset, uint64_t len) {
  struct inode_log* l = inode_for(fd);
  if (l == NULL) return;
  struct stat st;
  if (fstat(l->read_fd, &st) != 0) abort();
  uint64_t size = (uint64_t)st.st_size;
  uint64_t saved = offset < size ? (len < size - offset ? len : size - offset) : 0;
  char* bytes = saved ? malloc(saved) : NULL;
  if (saved && (bytes == NULL || pread(l->read_fd, bytes, saved, (off_t)offset) != (ssize_t)saved)) abort();
  struct disk_shim_undo rec = {DISK_SHIM_MAGIC, DISK_SHIM_UNDO, g.seq++, offset, size, saved};
  struct iovec iov[2] = {{&rec, sizeof rec}, {bytes, saved}};
  if (writev(l->log_fd, iov, saved ? 2 : 1) != (ssize_t)(sizeof rec + saved)) abort();
  l->last_seq = rec.seq;
  free(bytes);
}

static void append_dir_op(uint32_t kind, const char* path, const char* path2, const char* copy) {
  struct disk_shim_dir_op rec;
  memset(&rec, 0, sizeof rec);
  rec.magic = DISK_SHIM_MAGIC;
  rec.kind = kind;
  rec.seq = g.seq++;
  parent_of(path, &rec.dir_dev, &rec.dir_ino);
  if (path2 != NULL) parent_of(path2, &rec.dir2_dev, &rec.dir2_ino);
  rec.path_len = (uint32_t)strlen(path);
  rec.path2_len = path2 ? (uint32_t)strlen(path2) : 0;
  rec.copy_len = copy ? (uint32_t)strlen(copy) : 0;
  struct iovec iov[4] = {{&rec, sizeof rec}, {(void*)path, rec.path_len}, {(void*)path2, rec.path2_len},
                         {(void*)copy, rec.copy_len}};
  ssize_t want = (ssize_t)(sizeof rec + rec.path_len + rec.path2_len + rec.copy_len);
  if (writev(g.dirs_fd, iov, 4) != want) abort();
}

/* Under g.mu: a copy of the file at abs in the undo folder (its name in `copy`), or "" when
 * there is no such file. */
static void copy_file(const char* abs, char* copy) {
  copy[0] = '\0';
  int in = real_open(abs, O_RDONLY | O_CLOEXEC, 0);
  if (in < 0) return;
  snprintf(copy, PATH_MAX, "%s/copy-%llu", g.undo_dir, (unsigned long long)g.seq);
  int out = real_open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) abort();
  char buf[65536];
  for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;)
    if (real_write(out, buf, (size_t)n) != n) abort();
  real_close(in);
  real_close(out);
}

/* ---- opening and closing ---- */

static int open_common(int dirfd, const char* path, int flags, mode_t mode) {
  ensure_init();
  char abs[PATH_MAX];
  if (!watched_at(dirfd, path, abs)) return real_openat(dirfd, path, flags, mode);
  pthread_mutex_lock(&g.mu);
  struct stat st;
  const int existed = stat(abs, &st) == 0;
  int fd;
  if (!existed && (flags & O_CREAT) && disk_full()) {
    errno = ENOSPC;
    fd = -1;
  } else {
    /* O_TRUNC is done here, after its undo record. */
    fd = real_openat(dirfd, path, flags & ~O_TRUNC, mode);
  }
  if (fd >= 0 && fd < MAX_FDS) {
    g.fd_watched[fd] = 1;
    if (g.undo_dir[0] && !existed) append_dir_op(DISK_SHIM_CREATE, abs, NULL, NULL);
    if ((flags & O_TRUNC) && existed && S_ISREG(st.st_mode)) {
      if (g.undo_dir[0]) save_undo(fd, 0, (uint64_t)st.st_size);
      if (real_ftruncate(fd, 0) != 0) {
        int e = errno;
        real_close(fd);
        g.fd_watched[fd] = 0;
        errno = e;
        fd = -1;
      }
    }
  }
  pthread_mutex_unlock(&g.mu);
  return fd;
}

static mode_t mode_arg(int flags, va_list ap) {
  return ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_common(AT_FDCWD, path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_common(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_common(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_common(dirfd, path, flags, mode);
}

int __open_2(const char* path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
int __open64_2(const char* path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
int creat(const char* path, mode_t mode) { return open_common(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode); }

int close(int fd) {
  ensure_init();
  if (fd_is_watched(fd)) {
    pthread_mutex_lock(&g.mu);
    g.fd_watched[fd] = 0;
    int rc = real_close(fd);
    pthread_mutex_unlock(&g.mu);
    return rc;
  }
  return real_close(fd);
}

/* ---- writing ---- */

/* Starts a change of a watched file: takes the lock, refuses it on a full disk, saves what it
 * replaces. Returns 0 to go on (lock held), -1 with errno set (lock released). */
static int begin_change(int fd, uint64_t offset, uint64_t len) {
  pthread_mutex_lock(&g.mu);
  if (disk_full()) {
    pthread_mutex_unlock(&g.mu);
    errno = ENOSPC;
    return -1;
  }
  if (g.undo_dir[0]) save_undo(fd, offset, len);
  return 0;
}

static uint64_t current_offset(int fd) {
  if (fcntl(fd, F_GETFL) & O_APPEND) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
  }
  off_t at = lseek(fd, 0, SEEK_CUR);
  return at < 0 ? 0 : (uint64_t)at;
}

static uint64_t iov_bytes(const struct iovec* iov, int n) {
  uint64_t total = 0;
  for (int i = 0; i < n; ++i) total += iov[i].iov_len;
  return total;
}

ssize_t write(int fd, const void* buf, size_t n) {
  ensure_init();
  if (!fd_is_watched(fd)) return real_write(fd, buf, n);
  if (begin_change(fd, current_offset(fd), n) != 0) return -1;
  ssize_t rc = real_write(fd, buf, n);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

static ssize_t pwrite_common(int fd, const void* buf, size_t n, off_t offset) {
  ensure_init();
  if (!fd_is_watched(fd)) return real_pwrite(fd, buf, n, offset);
  if (begin_change(fd, (uint64_t)offset, n) != 0) return -1;
  ssize_t rc = real_pwrite(fd, buf, n, offset);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) { return pwrite_common(fd, buf, n, offset); }
ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) { return pwrite_common(fd, buf, n, offset); }

ssize_t writev(int fd, const struct iovec* iov, int n) {
  ensure_init();
  if (!fd_is_watched(fd)) return real_writev(fd, iov, n);
  if (begin_change(fd, current_offset(fd), iov_bytes(iov, n)) != 0) return -1;
  ssize_t rc = real_writev(fd, iov, n);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

static ssize_t pwritev_common(int fd, const struct iovec* iov, int n, off_t offset) {
  ensure_init();
  if (!fd_is_watched(fd)) return real_pwritev(fd, iov, n, offset);
  if (begin_change(fd, (uint64_t)offset, iov_bytes(iov, n)) != 0) return -1;
  ssize_t rc = real_pwritev(fd, iov, n, offset);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

ssize_t pwritev(int fd, const struct iovec* iov, int n, off_t offset) { return pwritev_common(fd, iov, n, offset); }
ssize_t pwritev64(int fd, const struct iovec* iov, int n, off_t offset) { return pwritev_common(fd, iov, n, offset); }

static int ftruncate_common(int fd, off_t length) {
  ensure_init();
  if (!fd_is_watched(fd)) return real_ftruncate(fd, length);
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  /* Shrinking never needs space; growing does. Either way the old tail is saved. */
  pthread_mutex_lock(&g.mu);
  if (length > st.st_size && disk_full()) {
    pthread_mutex_unlock(&g.mu);
    errno = ENOSPC;
    return -1;
  }
  if (g.undo_dir[0])
    save_undo(fd, (uint64_t)length, length < st.st_size ? (uint64_t)(st.st_size - length) : 0);
  int rc = real_ftruncate(fd, length);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

int ftruncate(int fd, off_t length) { return ftruncate_common(fd, length); }
int ftruncate64(int fd, off_t length) { return ftruncate_common(fd, length); }

static int fallocate_common(int fd, int mode, off_t offset, off_t len) {
  ensure_init();
  if (!fd_is_watched(fd)) return real_fallocate(fd, mode, offset, len);
  if (begin_change(fd, (uint64_t)(offset + len), 0) != 0) return -1;
  int rc = real_fallocate(fd, mode, offset, len);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

int fallocate(int fd, int mode, off_t offset, off_t len) { return fallocate_common(fd, mode, offset, len); }
int fallocate64(int fd, int mode, off_t offset, off_t len) { return fallocate_common(fd, mode, offset, len); }

static int posix_fallocate_common(int fd, off_t offset, off_t len) {
  ensure_init();
  if (!fd_is_watched(fd)) return real_posix_fallocate(fd, offset, len);
  if (begin_change(fd, (uint64_t)(offset + len), 0) != 0) return errno;
  int rc = real_posix_fallocate(fd, offset, len);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

int posix_fallocate(int fd, off_t offset, off_t len) { return posix_fallocate_common(fd, offset, len); }
int posix_fallocate64(int fd, off_t offset, off_t len) { return posix_fallocate_common(fd, offset, len); }

/* ---- flushing ---- */

/* After a successful flush of fd that began at seq `from`: marks what it covered as durable. */
static void mark_flushed(int fd, uint64_t from) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  pthread_mutex_lock(&g.mu);
  if (S_ISDIR(st.st_mode)) {
    struct disk_shim_dir_op rec;
    memset(&rec, 0, sizeof rec);
    rec.magic = DISK_SHIM_MAGIC;
    rec.kind = DISK_SHIM_DIR_FLUSHED;
    rec.seq = from;
    rec.dir_dev = (uint64_t)st.st_dev;
    rec.dir_ino = (uint64_t)st.st_ino;
    if (real_write(g.dirs_fd, &rec, sizeof rec) != (ssize_t)sizeof rec) abort();
  } else {
    for (int i = 0; i < MAX_INODES; ++i) {
      struct inode_log* l = &g.inodes[i];
      if (!l->used || l->dev != st.st_dev || l->ino != st.st_ino) continue;
      struct disk_shim_undo rec = {DISK_SHIM_MAGIC, DISK_SHIM_FLUSHED, from, 0, 0, 0};
      if (real_write(l->log_fd, &rec, sizeof rec) != (ssize_t)sizeof rec) abort();
      /* Nothing written since the flush began: the log can start over (after the mark, so a
       * SIGKILL between the two still finds every record covered). */
      if (l->last_seq < from && real_ftruncate(l->log_fd, 0) != 0) abort();
    }
  }
  pthread_mutex_unlock(&g.mu);
}

static int flush_common(int fd, int data_only) {
  ensure_init();
  if (!g.undo_dir[0]) return data_only ? real_fdatasync(fd) : real_fsync(fd);
  pthread_mutex_lock(&g.mu);
  const uint64_t from = g.seq;
  pthread_mutex_unlock(&g.mu);
  int rc = data_only ? real_fdatasync(fd) : real_fsync(fd);
  if (rc == 0) mark_flushed(fd, from);
  return rc;
}

int fsync(int fd) { return flush_common(fd, 0); }
int fdatasync(int fd) { return flush_common(fd, 1); }

/* ---- names ---- */

static int unlink_common(int dirfd, const char* path, int flags) {
  ensure_init();
  char abs[PATH_MAX];
  if (!g.undo_dir[0] || (flags & AT_REMOVEDIR) || !watched_at(dirfd, path, abs))
    return real_unlinkat(dirfd, path, flags);
  struct stat st;
  if (lstat(abs, &st) != 0 || !S_ISREG(st.st_mode)) return real_unlinkat(dirfd, path, flags); /* a socket */
  pthread_mutex_lock(&g.mu);
  char copy[PATH_MAX];
  copy_file(abs, copy);
  int rc = real_unlinkat(dirfd, path, flags);
  if (rc == 0) append_dir_op(DISK_SHIM_UNLINK, abs, NULL, copy);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

int unlink(const char* path) { return unlink_common(AT_FDCWD, path, 0); }
int unlinkat(int dirfd, const char* path, int flags) { return unlink_common(dirfd, path, flags); }

static int rename_common(int olddirfd, const char* from, int newdirfd, const char* to) {
  ensure_init();
  char abs_from[PATH_MAX], abs_to[PATH_MAX];
  const int watched = watched_at(olddirfd, from, abs_from) | watched_at(newdirfd, to, abs_to);
  if (!g.undo_dir[0] || !watched) return real_renameat(olddirfd, from, newdirfd, to);
  pthread_mutex_lock(&g.mu);
  char copy[PATH_MAX];
  copy_file(abs_to, copy);
  int rc = real_renameat(olddirfd, from, newdirfd, to);
  if (rc == 0) append_dir_op(DISK_SHIM_RENAME, abs_from, abs_to, copy);
  pthread_mutex_unlock(&g.mu);
  return rc;
}

int rename(const char* from, const char* to) { return rename_common(AT_FDCWD, from, AT_FDCWD, to); }
int renameat(int olddirfd, const char* from, int newdirfd, const char* to) {
  return rename_common(olddirfd, from, newdirfd, to);
}
