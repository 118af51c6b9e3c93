#include "platform/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace regulars::plugin::files {

Handle create_new(const std::string& path, std::string& why) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) why = std::strerror(errno);
  return fd;
}

Handle open_existing(const std::string& path) { return ::open(path.c_str(), O_RDWR | O_CLOEXEC); }

void close(Handle h) noexcept { ::close(h); }

bool try_lock(Handle h) { return ::flock(h, LOCK_EX | LOCK_NB) == 0; }

bool removed(Handle h) {
  struct stat st{};
  return ::fstat(h, &st) != 0 || st.st_nlink == 0;
}

bool write_at(Handle h, std::uint64_t offset, std::string_view bytes, std::string& why) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::pwrite(h, bytes.data() + off, bytes.size() - off, static_cast<off_t>(offset + off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = std::strerror(n < 0 ? errno : EIO);
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_whole(Handle h, std::string_view bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(h, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool truncate(Handle h, std::uint64_t size) { return ::ftruncate(h, static_cast<off_t>(size)) == 0; }

int sync_data(Handle h) { return ::fdatasync(h); }

bool read_all(Handle h, std::string& out) {
  out.clear();
  char buf[64 * 1024];
  off_t off = 0;
  for (;;) {
    const ssize_t n = ::pread(h, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
}

void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void make_dirs(const std::string& dir) {
  for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string part = dir.substr(0, slash);
    struct stat st{};
    if (!part.empty() && ::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST &&
        !(::stat(part.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))  // e.g. EROFS for a parent that is there
      throw std::system_error(errno, std::generic_category(), "cannot create spool directory " + part);
    if (slash == std::string::npos) return;
  }
}

bool make_dir(const std::string& dir, std::string& why) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return true;
  why = "cannot create " + dir + ": " + std::strerror(errno);
  return false;
}

void check_writable_dir(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::system_error(ENOTDIR, std::generic_category(), "spool_dir " + dir + " is not a directory");
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0)
    throw std::system_error(errno, std::generic_category(), "spool directory " + dir + " is not writable");
}

void remove(const std::string& path) noexcept { ::unlink(path.c_str()); }

std::vector<Entry> list(const std::string& dir, std::string_view prefix, std::string_view suffix) {
  std::vector<Entry> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.size() < prefix.size() + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) continue;
    struct stat st{};
    if (::stat((dir + "/" + e->d_name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({e->d_name, static_cast<std::uint64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec});
  }
  ::closedir(d);
  return out;
}

bool read_small_file(const std::string& path, std::string& out) {
  // Non-blocking: a FIFO named by mistake fails rather than waits.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  out.clear();
  char buf[64 * 1024];
  ssize_t n = 0;
  while (out.size() <= (1u << 20) && ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return n >= 0 && out.size() <= (1u << 20);
}

bool replace_file(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = write_whole(fd, bytes) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool append_line(const std::string& path, std::string_view line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = write_whole(fd, line);
  ::close(fd);
  return ok;
}

std::string last_error() { return std::strerror(errno); }

int process_id() { return static_cast<int>(::getpid()); }

}  // namespace regulars::plugin::files
