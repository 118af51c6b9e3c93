// regularsctl import: customers and sales history from CSV files, written offline into a
// stopped store, a batch of events per transaction (store/bulk_writer.hpp). README.md has the
// formats. Runs on the caller's thread, plus the bulk writer's and the store's own threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace regulars::daemon::import {

struct ImportOptions {
  std::vector<std::string> files;
  std::optional<std::string> mapping_file;  // none: the generic format named by `customers`
  bool customers = false;                   // generic format: customers rather than sales
  std::string data_dir;
  bool dry_run = false;                     // check every row, write nothing, need no store
  std::vector<std::string> consent;         // purposes granted to every imported customer
  std::size_t batch = 4096;                 // events per transaction
  std::string actor = "cli";                // who, in the owner's audit trail
};

struct ImportReport {
  std::int64_t rows = 0;        // data rows read (headers not counted)
  std::int64_t events = 0;      // events built from them (consents included)
  std::int64_t stored = 0;      // new in the store
  std::int64_t duplicates = 0;  // already there: an import run again adds nothing
  std::int64_t errors = 0;      // rows not imported (bad values, or refused by the store)
  std::vector<std::string> error_texts;  // "FILE:LINE:COLUMN: column \"qty\": ...", the first kMaxErrorTexts
  std::vector<std::string> notes;        // e.g. columns the import does not use
  double seconds = 0;
  static constexpr std::size_t kMaxErrorTexts = 100;
};

struct ImportProgress {
  std::uint64_t bytes_done = 0, bytes_total = 0;
  std::int64_t rows = 0;
  double seconds = 0;
};

// Throws std::runtime_error (MappingError, CsvError, a running regularsd, an unreadable file)
// when the import cannot go on; a bad row only counts as an error. `progress` is called every few
// thousand rows.
ImportReport run_import(const ImportOptions& options, const std::function<void(const ImportProgress&)>& progress);

}  // namespace regulars::daemon::import
