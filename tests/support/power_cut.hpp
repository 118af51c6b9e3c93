// A power cut, after the fact: undoes what the disk shim (disk_shim.c) logged and no flush
// covered, in the files and folder entries of the watched folders. Run it once the processes
// that wrote under the shim are dead (SIGKILL).
#pragma once

#include <string>
#include <vector>

namespace regulars::test {

struct PowerCut {
  long long writes_undone = 0;   // writes and truncations rolled back
  long long bytes_restored = 0;  // old bytes put back
  long long names_undone = 0;    // files created, removed or renamed without a folder flush
};

// Reads the shim's logs in `undo_dir`, finds the files they name among `watched` (by inode),
// undoes every change no flush covered, and empties `undo_dir`. Throws std::runtime_error when
// a log cannot be read or a file cannot be put back. POWER_CUT_VERBOSE=1 lists on stderr the
// name changes it undoes (which files a program renames or creates without flushing the folder).
PowerCut cut_power(const std::string& undo_dir, const std::vector<std::string>& watched);

// The environment that runs a program under the shim: DISK_SHIM_WATCH, DISK_SHIM_UNDO_DIR
// (power-loss logs; created) and DISK_SHIM_FULL_FLAG (the disk-full switch), each when not
// empty, and LD_PRELOAD, as "NAME=value" strings.
std::vector<std::string> disk_shim_env(const std::vector<std::string>& watched, const std::string& undo_dir,
                                       const std::string& full_flag = "");

}  // namespace regulars::test
