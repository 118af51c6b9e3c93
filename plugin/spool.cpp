#include "spool.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

#include "platform/files.hpp"
#include "wire/crc32c.hpp"
#include "wire/random.hpp"
#include "wire/validate.hpp"

namespace regulars::plugin {
namespace {

constexpr char kMagic[4] = {'R', 'G', 'S', '1'};
constexpr std::size_t kHeader = 12;
constexpr std::string_view kSpoolPrefix = "spool-";
constexpr std::string_view kSpoolSuffix = ".rsp";

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
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

namespace {

// The payload length of the record at `pos`, when one starts there whole and intact.
std::optional<std::uint32_t> record_at(const std::string& bytes, std::size_t pos) {
  if (bytes.size() - pos < kHeader || std::memcmp(bytes.data() + pos, kMagic, 4) != 0) return std::nullopt;
  const std::uint32_t len = get_u32(bytes.data() + pos + 4);
  if (len > bytes.size() - pos - kHeader) return std::nullopt;
  if (wire::crc32c(bytes.data() + pos + kHeader, len) != get_u32(bytes.data() + pos + 8)) return std::nullopt;
  return len;
}

// Where the next intact record after `pos` starts, or the end of the bytes. A marker inside a
// payload cannot fool this: sealed payloads are ciphertext, and JSON ones escape the control
// bytes every length below 0x20202020 would need.
std::size_t resync(const std::string& bytes, std::size_t pos) {
  const std::string_view marker(kMagic, 4);
  for (auto at = bytes.find(marker, pos + 1); at != std::string::npos; at = bytes.find(marker, at + 1))
    if (record_at(bytes, at)) return at;
  return bytes.size();
}

std::size_t count_markers(const std::string& bytes, std::size_t from, std::size_t to) {
  const std::string_view marker(kMagic, 4);
  std::size_t n = 0;
  for (auto at = bytes.find(marker, from); at != std::string::npos && at < to; at = bytes.find(marker, at + 1)) ++n;
  return n;
}

}  // namespace

SpoolRecords parse_spool_records(const std::string& bytes, std::uint64_t offset, std::size_t max_records) {
  SpoolRecords out;
  out.end_offset = offset;
  std::size_t pos = static_cast<std::size_t>(std::min<std::uint64_t>(offset, bytes.size()));
  while (out.payloads.size() < max_records && pos < bytes.size()) {
    if (const auto len = record_at(bytes, pos)) {
      out.payloads.emplace_back(bytes.substr(pos + kHeader, *len));
      pos += kHeader + *len;
    } else {
      // Skip to the next intact record rather than stop: one bad byte must not cost the rest.
      const std::size_t next = resync(bytes, pos);
      out.damaged.push_back({pos, next - pos, count_markers(bytes, pos, next)});
      pos = next;
    }
    out.end_offset = pos;
  }
  return out;
}

std::string describe_damage(const SpoolDamage& d) {
  return std::to_string(d.bytes) + " bytes at offset " + std::to_string(d.offset) + " skipped (" +
         std::to_string(d.markers) + " record marker" + (d.markers == 1 ? "" : "s") +
         " in them), up to the next intact record: a damaged record, or the tail of an append cut short";
}

Spool::Spool(std::string dir, std::uint64_t max_bytes, FileSync sync)
    : dir_(std::move(dir)), max_bytes_(max_bytes), sync_(sync ? std::move(sync) : FileSync(files::sync_data)) {
  files::make_dirs(dir_);
  files::check_writable_dir(dir_);
  refresh_usage();
}

Spool::~Spool() {
  std::lock_guard lock(mu_);
  if (own_fd_ != files::kNoFile) {
    // An empty file is removed; one with undelivered records stays for the next client.
    if (own_size_ == 0 || replay_offset_ == own_size_) files::remove(own_path_);
    files::close(own_fd_);  // releases the lock
  }
}

bool Spool::open_own_file(std::string& why) {
  // The random part keeps two clients in one process, or a reused pid beside a file a crashed
  // process left, from wanting the same name. A host whose kernel refuses getrandom cannot give
  // the plugin event ids either: say so here rather than keep a fallback that only runs there.
  std::string path;
  try {
    path = dir_ + "/" + wire::random_id("spool-" + std::to_string(files::process_id()) + "-", 8) + ".rsp";
  } catch (const std::system_error& e) {
    why = "cannot name a spool file: no random bytes from the kernel (" + std::string(e.what()) + ")";
    return false;
  }
  std::string problem;
  const files::Handle fd = files::create_new(path, problem);
  if (fd == files::kNoFile) {
    why = "cannot create spool file in " + dir_ + ": " + problem;
    return false;
  }
  if (!files::try_lock(fd)) {
    why = "cannot lock spool file: " + files::last_error();
    files::close(fd);
    files::remove(path);
    return false;
  }
  files::sync_dir(dir_);
  own_fd_ = fd;
  own_path_ = std::move(path);
  own_size_ = 0;
  replay_offset_ = 0;
  quarantined_to_ = 0;
  return true;
}

regulars_status Spool::append(const std::string& payload, std::string& why) {
  return append_batch({payload}, why).front();
}

std::vector<regulars_status> Spool::append_batch(const std::vector<std::string>& payloads, std::string& why) {
  std::vector<regulars_status> out(payloads.size(), REGULARS_OK);
  std::string recs;
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const std::string rec = encode_spool_record(payloads[i]);
    if (own_size_ + others_bytes_ + recs.size() + rec.size() > max_bytes_) {
      why = "spool in " + dir_ + " holds " + std::to_string(own_size_ + others_bytes_ + recs.size()) +
            " bytes, its bound is " + std::to_string(max_bytes_) + "; start regularsd so it can drain";
      out[i] = REGULARS_SPOOL_FULL;
      continue;
    }
    recs += rec;
  }
  if (recs.empty()) return out;
  auto fail_all = [&](std::string message) {
    why = std::move(message);
    if (own_fd_ != files::kNoFile && !files::truncate(own_fd_, own_size_)) { /* the checksum hides the torn tail */ }
    for (auto& s : out)
      if (s == REGULARS_OK) s = REGULARS_IO;
    return out;
  };
  if (own_fd_ == files::kNoFile && !open_own_file(why)) return fail_all(why);
  if (std::string problem; !files::write_at(own_fd_, own_size_, recs, problem)) return fail_all("cannot write spool file: " + problem);
  // One flush for the whole batch: on a slow disk, records queued behind a flush share the next.
  if (sync_(own_fd_) != 0) return fail_all("cannot fsync spool file: " + files::last_error());
  own_size_ += recs.size();
  return out;
}

SpoolRecords Spool::own_pending(std::size_t max_records) {
  std::lock_guard lock(mu_);
  SpoolRecords out;
  out.end_offset = replay_offset_;
  if (own_fd_ == files::kNoFile || replay_offset_ >= own_size_) return out;
  std::string bytes;
  if (!files::read_all(own_fd_, bytes)) return out;
  bytes.resize(std::min<std::size_t>(bytes.size(), own_size_));
  SpoolRecords recs = parse_spool_records(bytes, replay_offset_, max_records);
  const std::string origin = own_path_.substr(own_path_.rfind('/') + 1);
  for (const SpoolDamage& d : recs.damaged) {
    if (d.offset < quarantined_to_) continue;
    std::string why;
    if (!quarantine(origin, std::string_view(bytes).substr(d.offset, d.bytes), describe_damage(d), why))
      return out;  // nothing goes past damage that is not kept somewhere: try again later
    quarantined_to_ = d.offset + d.bytes;
  }
  return recs;
}

void Spool::own_delivered(std::uint64_t end_offset) {
  std::lock_guard lock(mu_);
  if (own_fd_ == files::kNoFile) return;
  replay_offset_ = std::max(replay_offset_, end_offset);
  if (replay_offset_ >= own_size_) {
    // Everything delivered: start the file afresh so it does not grow without end.
    if (files::truncate(own_fd_, 0)) {
      sync_(own_fd_);
      own_size_ = 0;
      replay_offset_ = 0;
      quarantined_to_ = 0;
    }
  }
}

bool Spool::own_has_pending() {
  std::lock_guard lock(mu_);
  return own_fd_ != files::kNoFile && replay_offset_ < own_size_;
}

std::vector<std::string> Spool::orphan_files() const {
  std::vector<std::pair<std::int64_t, std::string>> found;
  std::string own;
  {
    std::lock_guard lock(mu_);
    own = own_path_;
  }
  for (auto& e : files::list(dir_, kSpoolPrefix, kSpoolSuffix)) {
    std::string path = dir_ + "/" + e.name;
    if (path != own) found.emplace_back(e.modified_ns, std::move(path));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [_, p] : found) out.push_back(std::move(p));
  return out;
}

std::unique_ptr<Spool::Claim> Spool::claim(const std::string& path) const {
  const files::Handle fd = files::open_existing(path);
  if (fd == files::kNoFile) return nullptr;
  std::string bytes;
  // Its client is alive or another replayer has it; or it was replayed and removed meanwhile.
  if (!files::try_lock(fd) || files::removed(fd) || !files::read_all(fd, bytes)) {
    files::close(fd);
    return nullptr;
  }
  auto recs = parse_spool_records(bytes, 0, SIZE_MAX);
  return std::make_unique<Claim>(*this, fd, path, std::move(bytes), std::move(recs));
}

Spool::Claim::~Claim() { files::close(fd_); }

bool Spool::Claim::finish() {
  const std::string origin = path_.substr(path_.rfind('/') + 1);
  for (const SpoolDamage& d : damaged_) {
    std::string why;
    if (!spool_.quarantine(origin, std::string_view(bytes_).substr(d.offset, d.bytes), describe_damage(d), why))
      return false;
  }
  damaged_.clear();  // a second finish() must not quarantine them twice
  files::remove(path_);
  files::sync_dir(path_.substr(0, path_.rfind('/')));
  return true;
}

bool Spool::quarantine(const std::string& origin, std::string_view bytes, const std::string& what, std::string& why) const {
  const std::string qdir = dir_ + "/quarantine";
  if (!files::make_dir(qdir, why)) return false;
  std::string name;
  try {
    name = wire::random_id(origin + ".", 4) + ".bad";
  } catch (const std::system_error& e) {
    why = "cannot name a quarantine file: " + std::string(e.what());
    return false;
  }
  const std::string path = qdir + "/" + name;
  std::string problem;
  const files::Handle fd = files::create_new(path, problem);
  if (fd == files::kNoFile) {
    why = "cannot create " + path + ": " + problem;
    return false;
  }
  const bool written = files::write_whole(fd, bytes) && files::sync_data(fd) == 0;
  if (!written) problem = files::last_error();
  files::close(fd);
  if (!written) {
    why = "cannot write " + path + ": " + problem;
    files::remove(path);
    return false;
  }
  files::sync_dir(qdir);
  // The log holds sizes and offsets only, never a byte of an event.
  const std::string line = wire::format_time_ms(wire::now_ms()) + " " + origin + ": " + what + "; kept in " + name + "\n";
  if (!files::append_line(qdir + "/quarantine.log", line)) { /* the bytes are safe in their file; the line is a courtesy */ }
  return true;
}

void Spool::refresh_usage() {
  std::uint64_t total = 0;
  std::string own;
  {
    std::lock_guard lock(mu_);
    own = own_path_;
  }
  for (const auto& e : files::list(dir_, kSpoolPrefix, kSpoolSuffix))
    if (dir_ + "/" + e.name != own) total += e.size;
  std::lock_guard lock(mu_);
  others_bytes_ = total;
}

std::uint64_t Spool::bytes_used() const {
  std::lock_guard lock(mu_);
  return own_size_ + others_bytes_;
}

}  // namespace regulars::plugin
