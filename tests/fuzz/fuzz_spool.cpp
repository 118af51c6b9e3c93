// fuzz_spool: the bytes are a spool file a till left behind (plugin/spool.hpp), as the next
// client reads it to replay: damaged, torn, or written by anyone with access to the folder.
//
// Properties beyond "no crash, leak or undefined behaviour":
//   - the intact records and the damaged regions together cover the file exactly: the bytes with
//     every damaged region cut out are the intact records, encoded again, back to back;
//   - damaged regions are in order, do not overlap, and never two in a row (each ends where an
//     intact record starts, or at the end of the file);
//   - intact records parse back unchanged and undamaged once encoded again;
//   - reading from an offset inside the file, or a few records at a time, finds the same records.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "spool.hpp"

namespace {

using regulars::plugin::encode_spool_record;
using regulars::plugin::parse_spool_records;
using regulars::plugin::SpoolRecords;

// The input with the damaged regions cut out.
std::string without_damage(const std::string& bytes, const SpoolRecords& recs) {
  std::string kept;
  std::uint64_t pos = 0;
  for (const auto& d : recs.damaged) {
    FUZZ_CHECK(d.offset >= pos);
    FUZZ_CHECK(d.bytes > 0);
    FUZZ_CHECK(d.offset + d.bytes <= bytes.size());
    kept.append(bytes, pos, d.offset - pos);
    pos = d.offset + d.bytes;
  }
  kept.append(bytes, pos, std::string::npos);
  return kept;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const SpoolRecords all = parse_spool_records(bytes, 0, SIZE_MAX);
  FUZZ_CHECK(all.end_offset == bytes.size());

  std::string encoded;
  for (const auto& p : all.payloads) encoded += encode_spool_record(p);
  FUZZ_CHECK(without_damage(bytes, all) == encoded);
  for (std::size_t i = 1; i < all.damaged.size(); ++i)  // between two damaged regions lies a record
    FUZZ_CHECK(all.damaged[i].offset > all.damaged[i - 1].offset + all.damaged[i - 1].bytes);

  const SpoolRecords again = parse_spool_records(encoded, 0, SIZE_MAX);
  FUZZ_CHECK(again.payloads == all.payloads);
  FUZZ_CHECK(again.damaged.empty());

  // A few records at a time, each read starting where the last one ended, as the own file is.
  std::vector<std::string> stepped;
  std::uint64_t offset = 0;
  for (std::size_t reads = 0; offset < bytes.size(); ++reads) {
    FUZZ_CHECK(reads <= bytes.size());
    const SpoolRecords some = parse_spool_records(bytes, offset, 3);
    FUZZ_CHECK(some.payloads.size() <= 3);
    FUZZ_CHECK(some.end_offset > offset);
    stepped.insert(stepped.end(), some.payloads.begin(), some.payloads.end());
    offset = some.end_offset;
  }
  FUZZ_CHECK(stepped == all.payloads);

  // An offset past the end reads nothing.
  FUZZ_CHECK(parse_spool_records(bytes, bytes.size() + 7, SIZE_MAX).payloads.empty());
  return 0;
}
