// Writing the made-up shop's year into a store, straight through the daemon's own code
// (prepare_event + BulkWriter, as regularsctl import writes), and remembering what was generated
// so a later run with --data-dir can reuse the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "shop.hpp"

namespace regulars::bench {

// Beside the store: the customers, lines, seed and end of the year it was generated with.
constexpr const char* kMetaFile = "regulars-bench.json";

// Generates every visit of `plan` into a new store in `dir`, at most `chunk` events per
// transaction, prints the "generation:" line and writes kMetaFile. Throws when an event is
// invalid or was not stored.
void generate(const Plan& plan, const Catalogue& cat, const std::string& dir, std::size_t chunk);

// What a reused store was generated with (from kMetaFile); the arguments are left as they are
// when the file is missing or unreadable, with a warning. Prints the "generation: skipped" line.
void adopt_store_meta(const std::string& dir, std::uint32_t& customers, std::int64_t& lines, std::uint64_t& seed,
                      std::int64_t& end_ms);

}  // namespace regulars::bench
