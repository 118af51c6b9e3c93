#include "store/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace regulars::daemon {

DataDirLock::DataDirLock(const std::string& data_dir) {
  const std::string path = data_dir + "/regularsd.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  // Run as root on a directory whose daemon never started, the lock file is new: it must stay
  // openable by the daemon's own user (the owner of the directory).
  // Not fatal if that fails: the tool itself does not need it, and regularsd would say what is wrong.
  struct stat dir{}, lock{};
  if (::geteuid() == 0 && ::stat(data_dir.c_str(), &dir) == 0 && ::fstat(fd_, &lock) == 0 && lock.st_uid != dir.st_uid) {
    [[maybe_unused]] const int ignored = ::fchown(fd_, dir.st_uid, dir.st_gid);
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    if (err == EWOULDBLOCK)
      throw std::runtime_error("regularsd is running on " + data_dir +
                               " (it holds regularsd.lock); stop regularsd first: systemctl stop regularsd");
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(err));
  }
}

DataDirLock::~DataDirLock() { ::close(fd_); }

}  // namespace regulars::daemon
