// The durable spool: events the daemon could not acknowledge within the time budget are
// appended here (checksummed, fsynced) and replayed later, in order, exactly once as far as the
// daemon can tell (it drops event ids it already holds).
//
// Layout: one file per open client, "spool-<pid>-<random>.rsp", locked (flock, LockFileEx) while
// its client lives. A file whose lock is free belongs to a client that has gone; any client on
// the same directory may claim it, replay it and delete it. Records are
//   "RGS1" | u32 length (LE) | u32 crc32c(payload) (LE) | payload
// The payload is the event sealed to the daemon's spool key, or to the directory's own key
// (local.key) before the daemon's is known (sdk/wire/sealed.hpp); plugins from before sealing
// wrote the event's JSON, which is still replayed.
// A record that fails its checksum (a flipped bit), a damaged marker or length, or a torn tail (a
// crash during append) is skipped up to the next intact record, whose "RGS1" marker the reader
// resynchronises on. The skipped bytes are never deleted: they go to DIR/quarantine/ with a line in
// DIR/quarantine/quarantine.log saying how much was skipped, and why.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/files.hpp"
#include "regulars/regulars.h"

namespace regulars::plugin {

// How the spool flushes its file's data to the disk: files::sync_data (also when empty), or a
// stand-in with which a test makes the flush fail. 0 on success, else -1 with errno set.
using FileSync = std::function<int(files::Handle file)>;

// Bytes between records that are no record: a checksum that fails, a marker or length that was
// damaged, or the torn tail of an append a crash cut short.
struct SpoolDamage {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::size_t markers = 0;  // record markers inside: how many records were lost, at least
};

struct SpoolRecords {
  std::vector<std::string> payloads;
  std::vector<SpoolDamage> damaged;  // in file order, each skipped to reach the records after it
  std::uint64_t end_offset = 0;      // file offset just after the last record or damage returned
};

class Spool {
 public:
  // Creates the directory, and any missing parent, with mode 0700. Throws std::system_error
  // when it cannot be used.
  Spool(std::string dir, std::uint64_t max_bytes, FileSync sync = files::sync_data);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends one record and fsyncs it. REGULARS_OK, REGULARS_SPOOL_FULL or REGULARS_IO (with `why`).
  regulars_status append(const std::string& payload, std::string& why);
  // Appends several records with one write and one fsync: a status for each (those over the size
  // bound get REGULARS_SPOOL_FULL, the others all REGULARS_OK or all REGULARS_IO).
  std::vector<regulars_status> append_batch(const std::vector<std::string>& payloads, std::string& why);

  // Records of this client's own file not yet replayed (at most max_records). Damage found on the
  // way is quarantined once.
  SpoolRecords own_pending(std::size_t max_records);
  // Marks own records up to end_offset as delivered; empties the file once all are.
  void own_delivered(std::uint64_t end_offset);
  bool own_has_pending();

  // Spool files of clients that have gone (their lock is free), oldest first.
  std::vector<std::string> orphan_files() const;

  // An orphan claimed for replay: locked, read whole. Remove it with finish() once delivered.
  class Claim {
   public:
    Claim(const Spool& spool, files::Handle fd, std::string path, std::string bytes, SpoolRecords records)
        : spool_(spool), fd_(fd), path_(std::move(path)), bytes_(std::move(bytes)),
          damaged_(std::move(records.damaged)), payloads(std::move(records.payloads)) {}
    ~Claim();
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    // Quarantines the damaged parts, then unlinks the file. False (the file stays, to be
    // claimed again) when the quarantine could not be written.
    bool finish();

   private:
    const Spool& spool_;
    files::Handle fd_;
    std::string path_;
    std::string bytes_;
    std::vector<SpoolDamage> damaged_;

   public:
    std::vector<std::string> payloads;
  };
  // nullopt when another client holds the file or it vanished.
  std::unique_ptr<Claim> claim(const std::string& path) const;

  // Moves bytes the replay cannot use out of the way without deleting them: a new file in
  // DIR/quarantine/ (mode 0600, fsynced), named after `origin`, and a line saying `what` in
  // DIR/quarantine/quarantine.log. False, with `why`, when it could not be written.
  bool quarantine(const std::string& origin, std::string_view bytes, const std::string& what, std::string& why) const;

  // Recomputes the size of the other files in the directory, for the size bound.
  void refresh_usage();
  std::uint64_t bytes_used() const;
  const std::string& dir() const noexcept { return dir_; }

 private:
  bool open_own_file(std::string& why);

  std::string dir_;
  std::uint64_t max_bytes_;
  FileSync sync_;
  mutable std::mutex mu_;
  files::Handle own_fd_ = files::kNoFile;
  std::string own_path_;
  std::uint64_t own_size_ = 0;
  std::uint64_t replay_offset_ = 0;
  std::uint64_t quarantined_to_ = 0;  // own file: damage before this offset is quarantined already
  std::uint64_t others_bytes_ = 0;
};

// Reads every intact record of a spool file's bytes, starting at `offset`.
SpoolRecords parse_spool_records(const std::string& bytes, std::uint64_t offset, std::size_t max_records);
std::string encode_spool_record(const std::string& payload);
// One line for the quarantine log: where, how many bytes and record markers.
std::string describe_damage(const SpoolDamage& damage);

}  // namespace regulars::plugin
