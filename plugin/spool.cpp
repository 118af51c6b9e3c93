#include "spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "wire/crc32c.hpp"
#include "wire/random.hpp"

namespace regulars::plugin {
namespace {

constexpr char kMagic[4] = {'R', 'G', 'S', '1'};
constexpr std::size_t kHeader = 12;

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

bool read_all(int fd, std::string& out) {
  out.clear();
  char buf[64 * 1024];
  off_t off = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
}

bool is_spool_name(const char* name) {
  const std::size_t n = std::strlen(name);
  return n > 10 && std::strncmp(name, "spool-", 6) == 0 && std::strcmp(name + n - 4, ".rsp") == 0;
}

}  // namespace

std::string encode_spool_record(const std::string& payload) {
  std::string rec(kHeader, '\0');
  std::memcpy(rec.data(), kMagic, 4);
  put_u32(rec.data() + 4, static_cast<std::uint32_t>(payload.size()));
  put_u32(rec.data() + 8, wire::crc32c(payload.data(), payload.size()));
  rec += payload;
  return rec;
}

SpoolRecords parse_spool_records(const std::string& bytes, std::uint64_t offset, std::size_t max_records) {
  SpoolRecords out;
  out.end_offset = offset;
  std::size_t pos = static_cast<std::size_t>(offset);
  while (out.payloads.size() < max_records && pos + kHeader <= bytes.size()) {
    if (std::memcmp(bytes.data() + pos, kMagic, 4) != 0) break;
    const std::uint32_t len = get_u32(bytes.data() + pos + 4);
    const std::uint32_t crc = get_u32(bytes.data() + pos + 8);
    if (len > bytes.size() - pos - kHeader) break;  // torn tail
    if (wire::crc32c(bytes.data() + pos + kHeader, len) != crc) break;
    out.payloads.emplace_back(bytes.substr(pos + kHeader, len));
    pos += kHeader + len;
    out.end_offset = pos;
  }
  return out;
}

Spool::Spool(std::string dir, std::uint64_t max_bytes, FileSync sync)
    : dir_(std::move(dir)), max_bytes_(max_bytes), sync_(sync ? std::move(sync) : FileSync(::fdatasync)) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::system_error(errno, std::generic_category(), "cannot create spool directory " + dir_);
  struct stat st{};
  if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::system_error(ENOTDIR, std::generic_category(), "spool_dir " + dir_ + " is not a directory");
  if (::access(dir_.c_str(), R_OK | W_OK | X_OK) != 0)
    throw std::system_error(errno, std::generic_category(), "spool directory " + dir_ + " is not writable");
  refresh_usage();
}

Spool::~Spool() {
  std::lock_guard lock(mu_);
  if (own_fd_ >= 0) {
    // An empty file is removed; one with undelivered records stays for the next client.
    if (own_size_ == 0 || replay_offset_ == own_size_) ::unlink(own_path_.c_str());
    ::close(own_fd_);  // releases the lock
  }
}

bool Spool::open_own_file(std::string& why) {
  // The random part keeps two clients in one process, or a reused pid beside a file a crashed
  // process left, from wanting the same name. A host whose kernel refuses getrandom cannot give
  // the plugin event ids either: say so here rather than keep a fallback that only runs there.
  std::string path;
  try {
    path = dir_ + "/" + wire::random_id("spool-" + std::to_string(::getpid()) + "-", 8) + ".rsp";
  } catch (const std::system_error& e) {
    why = "cannot name a spool file: no random bytes from the kernel (" + std::string(e.what()) + ")";
    return false;
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    why = "cannot create spool file in " + dir_ + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    why = "cannot lock spool file: " + std::string(std::strerror(errno));
    ::close(fd);
    ::unlink(path.c_str());
    return false;
  }
  fsync_dir(dir_);
  own_fd_ = fd;
  own_path_ = std::move(path);
  own_size_ = 0;
  replay_offset_ = 0;
  return true;
}

regulars_status Spool::append(const std::string& payload, std::string& why) {
  const std::string rec = encode_spool_record(payload);
  std::lock_guard lock(mu_);
  if (own_size_ + others_bytes_ + rec.size() > max_bytes_) {
    why = "spool in " + dir_ + " holds " + std::to_string(own_size_ + others_bytes_) +
          " bytes, its bound is " + std::to_string(max_bytes_) + "; start regularsd so it can drain";
    return REGULARS_SPOOL_FULL;
  }
  if (own_fd_ < 0 && !open_own_file(why)) return REGULARS_IO;
  std::size_t off = 0;
  while (off < rec.size()) {
    const ssize_t n = ::pwrite(own_fd_, rec.data() + off, rec.size() - off, static_cast<off_t>(own_size_ + off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = "cannot write spool file: " + std::string(std::strerror(errno));
      if (::ftruncate(own_fd_, static_cast<off_t>(own_size_)) != 0) { /* the checksum hides the torn tail */ }
      return REGULARS_IO;
    }
    off += static_cast<std::size_t>(n);
  }
  if (sync_(own_fd_) != 0) {
    why = "cannot fsync spool file: " + std::string(std::strerror(errno));
    if (::ftruncate(own_fd_, static_cast<off_t>(own_size_)) != 0) { /* see above */ }
    return REGULARS_IO;
  }
  own_size_ += rec.size();
  return REGULARS_OK;
}

SpoolRecords Spool::own_pending(std::size_t max_records) {
  std::lock_guard lock(mu_);
  SpoolRecords out;
  out.end_offset = replay_offset_;
  if (own_fd_ < 0 || replay_offset_ >= own_size_) return out;
  std::string bytes;
  if (!read_all(own_fd_, bytes)) return out;
  bytes.resize(std::min<std::size_t>(bytes.size(), own_size_));
  return parse_spool_records(bytes, replay_offset_, max_records);
}

void Spool::own_delivered(std::uint64_t end_offset) {
  std::lock_guard lock(mu_);
  if (own_fd_ < 0) return;
  replay_offset_ = std::max(replay_offset_, end_offset);
  if (replay_offset_ >= own_size_) {
    // Everything delivered: start the file afresh so it does not grow without end.
    if (::ftruncate(own_fd_, 0) == 0) {
      sync_(own_fd_);
      own_size_ = 0;
      replay_offset_ = 0;
    }
  }
}

bool Spool::own_has_pending() {
  std::lock_guard lock(mu_);
  return own_fd_ >= 0 && replay_offset_ < own_size_;
}

std::vector<std::string> Spool::orphan_files() const {
  std::vector<std::pair<std::int64_t, std::string>> found;
  std::string own;
  {
    std::lock_guard lock(mu_);
    own = own_path_;
  }
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return {};
  while (const dirent* e = ::readdir(d)) {
    if (!is_spool_name(e->d_name)) continue;
    std::string path = dir_ + "/" + e->d_name;
    if (path == own) continue;
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) continue;
    found.emplace_back(static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                       std::move(path));
  }
  ::closedir(d);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [_, p] : found) out.push_back(std::move(p));
  return out;
}

std::unique_ptr<Spool::Claim> Spool::claim(const std::string& path) const {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // its client is alive, or another replayer has it
    ::close(fd);
    return nullptr;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_nlink == 0) {  // replayed and removed while we waited
    ::close(fd);
    return nullptr;
  }
  std::string bytes;
  if (!read_all(fd, bytes)) {
    ::close(fd);
    return nullptr;
  }
  auto recs = parse_spool_records(bytes, 0, SIZE_MAX);
  return std::make_unique<Claim>(fd, path, std::move(recs.payloads));
}

Spool::Claim::~Claim() { ::close(fd_); }

void Spool::Claim::finish() {
  ::unlink(path_.c_str());
  fsync_dir(path_.substr(0, path_.rfind('/')));
}

void Spool::refresh_usage() {
  std::uint64_t total = 0;
  std::string own;
  {
    std::lock_guard lock(mu_);
    own = own_path_;
  }
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (!is_spool_name(e->d_name)) continue;
      const std::string path = dir_ + "/" + e->d_name;
      if (path == own) continue;
      struct stat st{};
      if (::stat(path.c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_size);
    }
    ::closedir(d);
  }
  std::lock_guard lock(mu_);
  others_bytes_ = total;
}

std::uint64_t Spool::bytes_used() const {
  std::lock_guard lock(mu_);
  return own_size_ + others_bytes_;
}

}  // namespace regulars::plugin
