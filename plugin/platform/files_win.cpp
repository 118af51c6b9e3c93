// Win32 files. Paths are UTF-8 and go to the wide API as UTF-16. Spool files are opened with
// FILE_SHARE_DELETE, so a client can remove a file another handle still has open, as on Linux.
// The client's lock is a byte-range lock far past the end of the file: it excludes other
// lockers without blocking anyone's reads or writes of the records.
#include "platform/files.hpp"

// clang-format off
#include <windows.h>
#include <sddl.h>
// clang-format on

#include <cerrno>
#include <system_error>

namespace regulars::plugin::files {

namespace {

constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
constexpr DWORD kLockOffsetHigh = 0x7fffffff;  // the lock's range: beyond any real spool file

HANDLE raw(Handle h) { return reinterpret_cast<HANDLE>(h); }
Handle wrap(HANDLE h) { return h == INVALID_HANDLE_VALUE ? kNoFile : reinterpret_cast<Handle>(h); }

std::wstring wide(const std::string& utf8) {
  if (utf8.empty()) return {};
  const int n = ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

std::string narrow(const wchar_t* w) {
  const int n = ::WideCharToMultiByte(CP_UTF8, 0, w, -1, nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n > 0 ? n - 1 : 0), '\0');
  if (n > 1) ::WideCharToMultiByte(CP_UTF8, 0, w, -1, out.data(), n, nullptr, nullptr);
  return out;
}

std::string error_text(DWORD code) {
  char text[256] = {};
  const DWORD n = ::FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0, text, sizeof text, nullptr);
  std::string out(text, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) out.pop_back();
  return (out.empty() ? "Windows error" : out) + " (" + std::to_string(code) + ")";
}

thread_local DWORD g_last_error = 0;

bool failed() {
  g_last_error = ::GetLastError();
  errno = EIO;
  return false;
}

// What this plugin creates lets only its own user, SYSTEM and the Administrators in, and what is
// created inside inherits that: the spool is as private as mode 0700 makes it on Linux. An
// existing folder keeps the access it has, as on Linux it keeps its mode.
class PrivateAccess {
 public:
  PrivateAccess() {
    // The calling thread's user when it impersonates one (the files are theirs), else the process's.
    HANDLE token = nullptr;
    if (!::OpenThreadToken(::GetCurrentThread(), TOKEN_QUERY, TRUE, &token) &&
        !::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token))
      return;
    DWORD size = 0;
    ::GetTokenInformation(token, TokenUser, nullptr, 0, &size);
    std::string buf(size, '\0');
    wchar_t* sid = nullptr;
    if (size > 0 && ::GetTokenInformation(token, TokenUser, buf.data(), size, &size) &&
        ::ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid, &sid)) {
      const std::wstring sddl = std::wstring(L"D:P(A;OICI;FA;;;") + sid + L")(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
      ::LocalFree(sid);
      if (::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &descriptor_, nullptr)) {
        attributes_.nLength = sizeof attributes_;
        attributes_.lpSecurityDescriptor = descriptor_;
        attributes_.bInheritHandle = FALSE;
      }
    }
    ::CloseHandle(token);
  }
  ~PrivateAccess() { ::LocalFree(descriptor_); }
  PrivateAccess(const PrivateAccess&) = delete;
  PrivateAccess& operator=(const PrivateAccess&) = delete;
  // nullptr (the folder's defaults) when it could not be built.
  SECURITY_ATTRIBUTES* attributes() { return descriptor_ != nullptr ? &attributes_ : nullptr; }

 private:
  PSECURITY_DESCRIPTOR descriptor_ = nullptr;
  SECURITY_ATTRIBUTES attributes_{};
};

// Some network shares refuse a security descriptor at creation: then the folder's defaults
// apply, as when none could be built (nothing was created by the refused call).
bool refused_descriptor(DWORD error) {
  return error == ERROR_ACCESS_DENIED || error == ERROR_NOT_SUPPORTED || error == ERROR_INVALID_PARAMETER;
}

HANDLE create_private_file(const std::wstring& path, DWORD access, DWORD share, DWORD disposition) {
  PrivateAccess a;
  HANDLE h = ::CreateFileW(path.c_str(), access, share, a.attributes(), disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE && a.attributes() != nullptr && refused_descriptor(::GetLastError()))
    h = ::CreateFileW(path.c_str(), access, share, nullptr, disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
  return h;
}

bool create_private_dir(const std::wstring& path) {
  PrivateAccess a;
  if (::CreateDirectoryW(path.c_str(), a.attributes())) return true;
  return a.attributes() != nullptr && refused_descriptor(::GetLastError()) && ::CreateDirectoryW(path.c_str(), nullptr);
}

bool is_dir(const std::string& path) {
  const DWORD a = ::GetFileAttributesW(wide(path).c_str());
  return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY) != 0;
}

}  // namespace

Handle create_new(const std::string& path, std::string& why) {
  const HANDLE h = create_private_file(wide(path), GENERIC_READ | GENERIC_WRITE, kShareAll, CREATE_NEW);
  if (h == INVALID_HANDLE_VALUE) why = error_text(::GetLastError());
  return wrap(h);
}

Handle open_existing(const std::string& path) {
  return wrap(::CreateFileW(wide(path).c_str(), GENERIC_READ | GENERIC_WRITE, kShareAll, nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
}

void close(Handle h) noexcept { ::CloseHandle(raw(h)); }

bool try_lock(Handle h) {
  OVERLAPPED at{};
  at.OffsetHigh = kLockOffsetHigh;
  return ::LockFileEx(raw(h), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at) != 0 || failed();
}

bool removed(Handle h) {
  FILE_STANDARD_INFO info{};
  if (!::GetFileInformationByHandleEx(raw(h), FileStandardInfo, &info, sizeof info)) return true;
  return info.DeletePending != 0 || info.NumberOfLinks == 0;
}

bool write_at(Handle h, std::uint64_t offset, std::string_view bytes, std::string& why) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    OVERLAPPED at{};
    const std::uint64_t pos = offset + off;
    at.Offset = static_cast<DWORD>(pos);
    at.OffsetHigh = static_cast<DWORD>(pos >> 32);
    DWORD n = 0;
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>(bytes.size() - off, 1u << 30));
    if (!::WriteFile(raw(h), bytes.data() + off, want, &n, &at) || n == 0) {
      failed();
      why = error_text(g_last_error);
      return false;
    }
    off += n;
  }
  return true;
}

bool write_whole(Handle h, std::string_view bytes) {
  LARGE_INTEGER end{};
  if (!::GetFileSizeEx(raw(h), &end)) return failed();
  std::string why;
  return write_at(h, static_cast<std::uint64_t>(end.QuadPart), bytes, why);
}

bool truncate(Handle h, std::uint64_t size) {
  FILE_END_OF_FILE_INFO eof{};
  eof.EndOfFile.QuadPart = static_cast<LONGLONG>(size);
  return ::SetFileInformationByHandle(raw(h), FileEndOfFileInfo, &eof, sizeof eof) != 0 || failed();
}

int sync_data(Handle h) { return ::FlushFileBuffers(raw(h)) != 0 || failed() ? 0 : -1; }

bool read_all(Handle h, std::string& out) {
  out.clear();
  char buf[64 * 1024];
  std::uint64_t pos = 0;
  for (;;) {
    OVERLAPPED at{};
    at.Offset = static_cast<DWORD>(pos);
    at.OffsetHigh = static_cast<DWORD>(pos >> 32);
    DWORD n = 0;
    if (!::ReadFile(raw(h), buf, sizeof buf, &n, &at)) return ::GetLastError() == ERROR_HANDLE_EOF || failed();
    if (n == 0) return true;
    out.append(buf, n);
    pos += n;
  }
}

// NTFS journals a directory's entries itself; there is no handle to flush them through.
void sync_dir(const std::string&) {}

void make_dirs(const std::string& dir) {
  for (std::size_t sep = dir.find_first_of("/\\", 1);; sep = dir.find_first_of("/\\", sep + 1)) {
    const std::string part = dir.substr(0, sep);
    // "C:" and "\\server\share" are there or not; only what is missing is created.
    if (!part.empty() && part.back() != ':' && !is_dir(part) && !create_private_dir(wide(part)) &&
        ::GetLastError() != ERROR_ALREADY_EXISTS)
      throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(), "cannot create spool directory " + part);
    if (sep == std::string::npos) return;
  }
}

bool make_dir(const std::string& dir, std::string& why) {
  if (create_private_dir(wide(dir)) || ::GetLastError() == ERROR_ALREADY_EXISTS) return true;
  why = "cannot create " + dir + ": " + error_text(::GetLastError());
  return false;
}

void check_writable_dir(const std::string& dir) {
  if (!is_dir(dir)) throw std::system_error(ENOTDIR, std::generic_category(), "spool_dir " + dir + " is not a directory");
  // Windows says whether a folder is writable only by writing in it.
  const std::string probe = dir + "/.regulars-write-check-" + std::to_string(process_id()) + "-" +
                            std::to_string(::GetCurrentThreadId()) + "-" + std::to_string(::GetTickCount64());
  const HANDLE h = ::CreateFileW(wide(probe).c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                                 FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, nullptr);
  if (h == INVALID_HANDLE_VALUE)
    throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(), "spool directory " + dir + " is not writable");
  ::CloseHandle(h);
}

void remove(const std::string& path) noexcept { ::DeleteFileW(wide(path).c_str()); }

std::vector<Entry> list(const std::string& dir, std::string_view prefix, std::string_view suffix) {
  std::vector<Entry> out;
  WIN32_FIND_DATAW found{};
  const HANDLE h = ::FindFirstFileW(wide(dir + "/*").c_str(), &found);
  if (h == INVALID_HANDLE_VALUE) return out;
  do {
    if ((found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) continue;
    std::string name = narrow(found.cFileName);
    const std::string_view n = name;
    if (n.size() < prefix.size() + suffix.size() || !n.starts_with(prefix) || !n.ends_with(suffix)) continue;
    // The listing's sizes lag for files open elsewhere (a live client's spool): ask each file.
    WIN32_FILE_ATTRIBUTE_DATA now{};
    if (!::GetFileAttributesExW(wide(dir + "/" + name).c_str(), GetFileExInfoStandard, &now)) continue;
    const std::uint64_t size = (std::uint64_t{now.nFileSizeHigh} << 32) | now.nFileSizeLow;
    // FILETIME counts 100 ns steps; only the order matters here.
    const std::int64_t modified =
        static_cast<std::int64_t>((std::uint64_t{now.ftLastWriteTime.dwHighDateTime} << 32) | now.ftLastWriteTime.dwLowDateTime) * 100;
    out.push_back({std::move(name), size, modified});
  } while (::FindNextFileW(h, &found));
  ::FindClose(h);
  return out;
}

bool read_small_file(const std::string& path, std::string& out) {
  const HANDLE h = ::CreateFileW(wide(path).c_str(), GENERIC_READ, kShareAll, nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return failed();
  out.clear();
  char buf[64 * 1024];
  DWORD n = 0;
  bool ok = true;
  while (ok && out.size() <= (1u << 20) && (ok = ::ReadFile(h, buf, sizeof buf, &n, nullptr) != 0) && n > 0) out.append(buf, n);
  ::CloseHandle(h);
  return ok && out.size() <= (1u << 20);
}

bool replace_file(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(process_id());
  const HANDLE h = create_private_file(wide(tmp), GENERIC_WRITE, 0, CREATE_ALWAYS);
  if (h == INVALID_HANDLE_VALUE) return failed();
  DWORD n = 0;
  const bool ok = ::WriteFile(h, bytes.data(), static_cast<DWORD>(bytes.size()), &n, nullptr) && n == bytes.size() && ::FlushFileBuffers(h);
  ::CloseHandle(h);
  if (!ok || !::MoveFileExW(wide(tmp).c_str(), wide(path).c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    ::DeleteFileW(wide(tmp).c_str());
    return failed();
  }
  return true;
}

bool append_line(const std::string& path, std::string_view line) {
  const HANDLE h = create_private_file(wide(path), FILE_APPEND_DATA, kShareAll, OPEN_ALWAYS);
  if (h == INVALID_HANDLE_VALUE) return failed();
  DWORD n = 0;
  const bool ok = ::WriteFile(h, line.data(), static_cast<DWORD>(line.size()), &n, nullptr) && n == line.size();
  ::CloseHandle(h);
  return ok;
}

std::string last_error() { return error_text(g_last_error != 0 ? g_last_error : ::GetLastError()); }

int process_id() { return static_cast<int>(::GetCurrentProcessId()); }

}  // namespace regulars::plugin::files
