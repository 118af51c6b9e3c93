// The data directory's lock, DIR/regularsd.lock. regularsd holds it for its whole life; the
// offline owner tools (rekey, import) take it for theirs, so the daemon cannot start halfway
// through, and they refuse to run while it does.
#pragma once

#include <string>

namespace regulars::daemon {

class DataDirLock {
 public:
  // Takes the lock, or throws std::runtime_error saying what to do ("stop regularsd first: ...")
  // when regularsd holds it.
  explicit DataDirLock(const std::string& data_dir);
  ~DataDirLock();  // closing the descriptor releases the lock
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace regulars::daemon
