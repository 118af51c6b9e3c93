#include "power_cut.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <utility>

#include "disk_shim_format.h"

namespace regulars::test {
namespace {

namespace fs = std::filesystem;

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), {}};
}

struct DirOp {
  disk_shim_dir_op head{};
  std::string path, path2, copy;
};

// Whole records only: a SIGKILL cannot tear one (one write(2) each), but a test may.
std::vector<DirOp> read_dir_ops(const fs::path& log) {
  std::vector<DirOp> ops;
  if (!fs::exists(log)) return ops;
  const std::string bytes = read_whole(log);
  for (std::size_t at = 0; at + sizeof(disk_shim_dir_op) <= bytes.size();) {
    DirOp op;
    std::memcpy(&op.head, bytes.data() + at, sizeof op.head);
    if (op.head.magic != DISK_SHIM_MAGIC) throw std::runtime_error("damaged shim log " + log.string());
    const std::size_t strings = std::size_t{op.head.path_len} + op.head.path2_len + op.head.copy_len;
    at += sizeof op.head;
    if (at + strings > bytes.size()) break;
    op.path = bytes.substr(at, op.head.path_len);
    op.path2 = bytes.substr(at + op.head.path_len, op.head.path2_len);
    op.copy = bytes.substr(at + op.head.path_len + op.head.path2_len, op.head.copy_len);
    at += strings;
    ops.push_back(std::move(op));
  }
  return ops;
}

bool folder_flushed_after(const std::vector<DirOp>& ops, std::uint64_t dev, std::uint64_t ino, std::uint64_t seq) {
  return std::any_of(ops.begin(), ops.end(), [&](const DirOp& f) {
    return f.head.kind == DISK_SHIM_DIR_FLUSHED && f.head.dir_dev == dev && f.head.dir_ino == ino && f.head.seq > seq;
  });
}

void undo_names(const fs::path& undo_dir, PowerCut& cut) {
  const std::vector<DirOp> ops = read_dir_ops(undo_dir / "dirs.log");
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    const disk_shim_dir_op& h = it->head;
    if (h.kind == DISK_SHIM_DIR_FLUSHED) continue;
    bool durable = folder_flushed_after(ops, h.dir_dev, h.dir_ino, h.seq);
    if (h.kind == DISK_SHIM_RENAME) durable = durable && folder_flushed_after(ops, h.dir2_dev, h.dir2_ino, h.seq);
    if (durable) continue;
    std::error_code ec;
    if (h.kind == DISK_SHIM_CREATE) {
      fs::remove(it->path, ec);
    } else if (h.kind == DISK_SHIM_UNLINK) {
      if (!it->copy.empty()) fs::copy_file(it->copy, it->path, fs::copy_options::overwrite_existing);
    } else if (h.kind == DISK_SHIM_RENAME) {
      fs::rename(it->path2, it->path, ec);
      if (!it->copy.empty()) fs::copy_file(it->copy, it->path2, fs::copy_options::overwrite_existing);
    }
    if (std::getenv("POWER_CUT_VERBOSE")) std::fprintf(stderr, "undo %u %s %s\n", h.kind, it->path.c_str(), it->path2.c_str());
    ++cut.names_undone;
  }
}

std::map<std::pair<std::uint64_t, std::uint64_t>, fs::path> files_by_inode(const std::vector<std::string>& watched) {
  std::map<std::pair<std::uint64_t, std::uint64_t>, fs::path> out;
  for (const auto& dir : watched) {
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      struct stat st{};
      if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0)
        out[{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)}] = e.path();
    }
  }
  return out;
}

struct Undo {
  disk_shim_undo head{};
  std::string saved;
};

void undo_file(const fs::path& log, const fs::path& file, PowerCut& cut) {
  const std::string bytes = read_whole(log);
  std::vector<Undo> undos;
  std::uint64_t durable_below = 0;
  for (std::size_t at = 0; at + sizeof(disk_shim_undo) <= bytes.size();) {
    Undo u;
    std::memcpy(&u.head, bytes.data() + at, sizeof u.head);
    if (u.head.magic != DISK_SHIM_MAGIC) throw std::runtime_error("damaged shim log " + log.string());
    at += sizeof u.head;
    if (at + u.head.saved > bytes.size()) break;
    u.saved = bytes.substr(at, u.head.saved);
    at += u.head.saved;
    if (u.head.kind == DISK_SHIM_FLUSHED) durable_below = std::max(durable_below, u.head.seq);
    else undos.push_back(std::move(u));
  }
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + file.string() + " to undo its writes");
  for (auto it = undos.rbegin(); it != undos.rend(); ++it) {
    if (it->head.seq < durable_below) continue;
    const bool ok = ::pwrite(fd, it->saved.data(), it->saved.size(), static_cast<off_t>(it->head.offset)) ==
                        static_cast<ssize_t>(it->saved.size()) &&
                    ::ftruncate(fd, static_cast<off_t>(it->head.old_size)) == 0;
    if (!ok) {
      ::close(fd);
      throw std::runtime_error("cannot undo a write to " + file.string());
    }
    ++cut.writes_undone;
    cut.bytes_restored += static_cast<long long>(it->saved.size());
  }
  ::close(fd);
}

}  // namespace

PowerCut cut_power(const std::string& undo_dir, const std::vector<std::string>& watched) {
  PowerCut cut;
  if (!fs::exists(undo_dir)) return cut;
  // Names first: a file renamed after its writes is found by inode wherever its name now is.
  undo_names(undo_dir, cut);
  const auto files = files_by_inode(watched);
  for (const auto& e : fs::directory_iterator(undo_dir)) {
    if (e.path().extension() != ".log" || e.path().filename() == "dirs.log") continue;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(e.path().filename().c_str(), "%llu-%llu.log", &dev, &ino) != 2) continue;
    const auto file = files.find({dev, ino});
    if (file == files.end()) continue;  // removed, and the removal reached the disk
    undo_file(e.path(), file->second, cut);
  }
  fs::remove_all(undo_dir);
  return cut;
}

std::vector<std::string> disk_shim_env(const std::vector<std::string>& watched, const std::string& undo_dir,
                                       const std::string& full_flag) {
  std::string watch;
  for (const auto& w : watched) watch += (watch.empty() ? "" : ":") + w;
  std::vector<std::string> env = {std::string("LD_PRELOAD=") + DISK_SHIM_PATH, "DISK_SHIM_WATCH=" + watch};
  if (!undo_dir.empty()) {
    fs::create_directories(undo_dir);
    env.push_back("DISK_SHIM_UNDO_DIR=" + undo_dir);
  }
  if (!full_flag.empty()) env.push_back("DISK_SHIM_FULL_FLAG=" + full_flag);
#ifdef REGULARS_UNDER_SANITIZER
  // A sanitized program wants its runtime first among the preloaded libraries.
  const char* asan = std::getenv("ASAN_OPTIONS");
  env.push_back(std::string("ASAN_OPTIONS=verify_asan_link_order=0") + (asan != nullptr && *asan ? std::string(":") + asan : ""));
#endif
  return env;
}

}  // namespace regulars::test
