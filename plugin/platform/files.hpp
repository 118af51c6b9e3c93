// The few file operations the spool needs, the same on Linux (files_posix.cpp) and Windows
// (files_win.cpp, UTF-8 paths taken as UTF-16): exclusive creation, an advisory lock held while
// a client lives, positioned writes flushed to the disk, whole-file reads and directory listings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regulars::plugin::files {

#ifdef _WIN32
using Handle = std::intptr_t;  // HANDLE
#else
using Handle = int;
#endif
inline constexpr Handle kNoFile = -1;

// A new file (it must not exist), readable and writable by this user only. kNoFile with `why`.
Handle create_new(const std::string& path, std::string& why);
// An existing file, for reading and writing; kNoFile when it cannot be opened.
Handle open_existing(const std::string& path);
void close(Handle h) noexcept;

// Takes the file's lock without waiting: false when another handle holds it. Released when the
// handle is closed, also by a crash.
bool try_lock(Handle h);
// The file was removed (by a client that replayed it) after `h` was opened.
bool removed(Handle h);

bool write_at(Handle h, std::uint64_t offset, std::string_view bytes, std::string& why);
// Appends `bytes` at the current end (quarantine files and their log).
bool write_whole(Handle h, std::string_view bytes);
bool truncate(Handle h, std::uint64_t size);
// Flushes the file's data to the disk: 0, or -1 with errno set.
int sync_data(Handle h);
// The file's whole contents.
bool read_all(Handle h, std::string& out);

// Makes the file's creation or removal in `dir` durable, where the system needs it.
void sync_dir(const std::string& dir);
// mkdir -p, with mode 0700 for what it creates. Throws std::system_error when it cannot.
void make_dirs(const std::string& dir);
// Creates `dir` (not its parents) if missing; false with `why` when it cannot.
bool make_dir(const std::string& dir, std::string& why);
// Throws std::system_error unless `dir` is a directory this process may write in.
void check_writable_dir(const std::string& dir);
void remove(const std::string& path) noexcept;

struct Entry {
  std::string name;
  std::uint64_t size = 0;
  std::int64_t modified_ns = 0;
};
// The regular files of `dir` whose names start with `prefix` and end with `suffix`.
std::vector<Entry> list(const std::string& dir, std::string_view prefix, std::string_view suffix);

// A small file's whole contents; false when it cannot be read or holds more than 1 MiB (read no
// further). Paths are UTF-8
// on every system (std::ifstream would take them in the ANSI code page on Windows).
bool read_small_file(const std::string& path, std::string& out);
// Writes `path` whole through a temporary file, flushed and renamed over it.
bool replace_file(const std::string& path, std::string_view bytes);
// Appends one line to `path`, created with mode 0600 if missing.
bool append_line(const std::string& path, std::string_view line);

// What the last failed call said (errno, or GetLastError on Windows).
std::string last_error();
int process_id();

}  // namespace regulars::plugin::files
