#include "import/importer.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "import/csv_reader.hpp"
#include "import/mapping.hpp"
#include "import/row_events.hpp"
#include "memory/identity.hpp"
#include "store/bulk_writer.hpp"
#include "store/data_dir_lock.hpp"
#include "store/prepared_event.hpp"
#include "wire/hex.hpp"
#include "wire/json_text.hpp"
#include "wire/validate.hpp"

namespace regulars::daemon::import {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

Mapping load_mapping(const ImportOptions& o) {
  if (!o.mapping_file) return Mapping::generic_format(o.customers ? Format::customers : Format::sales);
  std::ifstream in(*o.mapping_file, std::ios::binary);
  if (!in) throw MappingError("cannot read the mapping file " + *o.mapping_file);
  std::ostringstream text;
  text << in.rdbuf();
  return Mapping::parse(text.str(), *o.mapping_file);
}

// An event's id from its content, keyed with the installation's secret: the same sale imported
// twice gets the same id, so the store keeps it once, and the id reveals nothing of the customer.
std::string derived_id(const IdentityKey& key, std::string_view domain, json event) {
  for (const char* field : {"customer", "identifier"}) {
    const auto it = event.find(field);
    if (it == event.end()) continue;
    (*it)["value"] = wire::normalize_identifier(it->at("kind").get<std::string>(), it->at("value").get<std::string>());
  }
  const IdentifierHash h = key.hash(domain, wire::dump_json(event));
  return "imp-" + wire::hex_encode(h).substr(0, 32);
}

// What identifies a sale, beyond what the event stores: its lines in a fixed order (an export
// that lists a sale's lines in another order holds the same sale), its receipt, and which
// occurrence of that content it is in its file (a customer who buys the same thing twice on
// a day of a date-only export made two sales, not one seen twice).
json sale_identity(const RowEvent& e, int occurrence) {
  json identity = json::object();
  for (auto it = e.event.begin(); it != e.event.end(); ++it)
    if (it.key() != "lines") identity[it.key()] = it.value();
  std::vector<std::string> sorted;
  for (const auto& l : e.event.at("lines")) sorted.push_back(wire::dump_json(l));
  std::sort(sorted.begin(), sorted.end());
  identity["lines"] = json(sorted);
  if (!e.receipt.empty()) identity["receipt"] = e.receipt;
  if (occurrence > 1) identity["occurrence"] = occurrence;
  return identity;
}

// The store side of an import: its lock, its key, the store and the writer that batches into it.
struct Target {
  explicit Target(const std::string& data_dir, std::size_t batch, BulkWriter::OnFailure on_failure)
      : lock(prepared_dir(data_dir)), key(IdentityKey::load_or_create(data_dir)),
        store(data_dir, store_options(key, batch)), writer(store, batch, std::move(on_failure)) {}

  static const std::string& prepared_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create the data directory " + dir + ": " + ec.message());
    return dir;
  }
  static EventStore::Options store_options(const IdentityKey& key, std::size_t batch) {
    EventStore::Options o;
    o.group_commit_max = static_cast<int>(batch);
    o.writer_cache_mib = BulkWriter::kCacheMib;
    o.merge_beside_writer = true;
    o.acks_wait_for_merge = false;  // a stopped store: no hints are asked meanwhile
    o.hash_event_id = [&key](std::string_view event_id) { return key.hash("event_id", event_id); };
    return o;
  }

  DataDirLock lock;
  IdentityKey key;
  EventStore store;
  BulkWriter writer;
};

class Importer {
 public:
  Importer(const ImportOptions& options, const std::function<void(const ImportProgress&)>& progress)
      : options_(options), progress_(progress), mapping_(load_mapping(options)) {
    for (const auto& f : options.files) bytes_total_ += file_size(f);
    // Every header first: a file that cannot be imported at all stops the run before anything is written.
    for (const auto& f : options.files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) throw std::runtime_error("cannot read " + f);
      CsvReader reader(in, f, mapping_.delimiter);
      read_header(reader, f);
    }
    if (!options.dry_run)
      target_ = std::make_unique<Target>(options.data_dir, options.batch,
                                         [this](std::int64_t tag, const WriteResult& r) { store_refused(tag, r); });
  }

  ImportReport run() {
    try {
      for (std::size_t i = 0; i < options_.files.size(); ++i) import_file(i);
    } catch (const CsvError& e) {
      // A file that stops being CSV halfway: what was read before it is complete sales, already
      // written or about to be. Keep them, record the run, and say so; a fixed file adds the rest.
      const std::int64_t written = finish_writing(std::string("stopped: ") + e.what());
      throw CsvError(std::string(e.what()) + "; the import stopped there, after " + std::to_string(written) +
                     " new events (fix the file and import it again: what is already in is not counted twice)");
    }
    finish_writing("");
    report_.seconds = seconds();
    return report_;
  }

  // Waits for the writes, records the run in the audit trail, closes the store; returns the new events.
  std::int64_t finish_writing(const std::string& stopped) {
    if (!target_) return 0;
    target_->writer.finish();
    report_.stored = target_->writer.outcome().stored;
    report_.duplicates = target_->writer.outcome().duplicates;
    json detail = audit_detail();
    if (!stopped.empty()) detail["stopped"] = stopped;
    target_->store.audit(options_.actor, "import", std::to_string(options_.files.size()) + " file(s)", detail);
    target_->store.stop();
    return report_.stored;
  }

 private:
  static std::uint64_t file_size(const std::string& f) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    if (ec) throw std::runtime_error("cannot read " + f + ": " + ec.message());
    return size;
  }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  json audit_detail() const {
    return {{"files", options_.files}, {"rows", report_.rows}, {"events", report_.events}, {"stored", report_.stored},
            {"duplicates", report_.duplicates}, {"errors", report_.errors}, {"consent", options_.consent}};
  }
  BoundColumns read_header(CsvReader& reader, const std::string& name) const;
  void import_file(std::size_t index);
  void read_rows(CsvReader& reader, const BoundColumns& columns, std::size_t index);
  void emit(RowEvent e, std::size_t file_index);
  void grant_consent(const PreparedEvent& first, const json& customer, const json& time, std::int64_t tag);
  void add_error(const std::string& text);
  void store_refused(std::int64_t tag, const WriteResult& r);

  const ImportOptions& options_;
  const std::function<void(const ImportProgress&)>& progress_;
  const Mapping mapping_;
  std::unique_ptr<Target> target_;
  ImportReport report_;
  std::unordered_set<std::string> consented_;  // keyed hashes of the customers given consent
  std::unordered_map<std::string, int> sales_seen_;  // this file's sales by content: how often each was met
  std::uint64_t bytes_total_ = 0, bytes_before_ = 0;
  const Clock::time_point started_ = Clock::now();
  const std::int64_t now_ms_ = wire::now_ms();
};

// A failure from the store names its row through the tag: file index above, line below.
constexpr int kLineBits = 40;
std::int64_t tag_of(std::size_t file, std::int64_t line) { return static_cast<std::int64_t>(file) << kLineBits | line; }

void Importer::add_error(const std::string& text) {
  ++report_.errors;
  if (report_.error_texts.size() < ImportReport::kMaxErrorTexts) report_.error_texts.push_back(text);
}

void Importer::store_refused(std::int64_t tag, const WriteResult& r) {
  const auto file = static_cast<std::size_t>(tag >> kLineBits);
  const std::int64_t line = tag & ((std::int64_t{1} << kLineBits) - 1);
  add_error(options_.files.at(file) + ":" + std::to_string(line) + ": the store refused it: " + r.error);
}

BoundColumns Importer::read_header(CsvReader& reader, const std::string& name) const {
  CsvRow header;
  if (!reader.next(header)) throw MappingError(name + ": the file is empty; it needs a header row naming its columns");
  return BoundColumns(mapping_, header.fields, name);
}

void Importer::import_file(std::size_t index) {
  const std::string& name = options_.files[index];
  std::ifstream in(name, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + name);
  CsvReader reader(in, name, mapping_.delimiter);
  const BoundColumns columns = read_header(reader, name);
  if (const auto unused = columns.unused_columns(); !unused.empty()) {
    std::string list;
    for (const auto& c : unused) list += (list.empty() ? "" : ", ") + c;
    report_.notes.push_back(name + ": columns not imported: " + list);
  }
  sales_seen_.clear();
  read_rows(reader, columns, index);
  bytes_before_ += file_size(name);
}

void Importer::read_rows(CsvReader& reader, const BoundColumns& columns, std::size_t index) {
  const std::string& name = options_.files[index];
  const auto row_error = [&](const RowError& e) {
    add_error(name + ":" + std::to_string(e.line) + ":" + (e.column > 0 ? std::to_string(e.column) + ": column \"" + e.column_name + "\"" : "") +
              ": " + e.message);
  };
  SaleGrouper sales;
  SaleHeadMemo head_memo;
  CsvRow row;
  while (reader.next(row)) {
    if (++report_.rows % 4096 == 0 && progress_) progress_({bytes_before_ + reader.bytes_read(), bytes_total_, report_.rows, seconds()});
    if (mapping_.format == Format::sales) {
      auto line = read_sale_row(columns, mapping_, row, now_ms_, &head_memo);
      std::optional<RowEvent> done;
      if (const auto* e = std::get_if<RowError>(&line)) {
        row_error(*e);
        done = sales.refuse(sale_key_of(columns, row));
      } else {
        done = sales.add(std::move(std::get<SaleLine>(line)));
      }
      if (done) emit(std::move(*done), index);
    } else {
      auto events = read_customer_row(columns, row, now_ms_);
      if (const auto* e = std::get_if<RowError>(&events)) { row_error(*e); continue; }
      for (auto& e : std::get<std::vector<RowEvent>>(events)) emit(std::move(e), index);
    }
  }
  if (auto done = sales.finish()) emit(std::move(*done), index);
  if (sales.held_sales() > 0)
    report_.notes.push_back(name + ": " + std::to_string(sales.held_sales()) + " sale(s) held back whole (" +
                            std::to_string(sales.held_lines()) +
                            " good lines) because a line of theirs was refused; fix those lines and import the file "
                            "again, and each sale goes in once, complete");
  if (progress_) progress_({bytes_before_ + reader.bytes_read(), bytes_total_, report_.rows, seconds()});
}

void Importer::emit(RowEvent e, std::size_t file_index) {
  ++report_.events;
  if (!target_) return;  // a dry run: the rows were checked, nothing is written
  std::string id;
  if (e.event.contains("lines")) {
    id = derived_id(target_->key, "import", sale_identity(e, 1));
    if (const int occurrence = ++sales_seen_[id]; occurrence > 1) id = derived_id(target_->key, "import", sale_identity(e, occurrence));
  } else {
    id = derived_id(target_->key, "import", e.event);
  }
  json event = std::move(e.event);
  event["event_id"] = std::move(id);
  const json customer = event.value("customer", json()), time = event.value("time", json());
  PreparedEvent prepared = prepare_event(std::move(event), target_->key);
  const std::int64_t tag = tag_of(file_index, e.line);
  if (!options_.consent.empty()) grant_consent(prepared, customer, time, tag);
  target_->writer.add(std::move(prepared), tag);
  if (target_->writer.full()) target_->writer.flush();
}

// The first time a customer is met, the consent the owner says they gave, dated with that first
// event; its id depends on the customer alone, so it too is stored once however often it is imported.
void Importer::grant_consent(const PreparedEvent& first, const json& customer, const json& time, std::int64_t tag) {
  const std::string who(first.id_hash.begin(), first.id_hash.end());
  if (first.id_kind.empty() || !consented_.insert(who).second) return;
  json consent = {{"type", "consent"}, {"time", time}, {"customer", customer}, {"purposes", json::object()}};
  for (const auto& p : options_.consent) consent["purposes"][p] = true;
  consent["event_id"] = derived_id(target_->key, "import-consent", json{{"customer", customer}});
  ++report_.events;
  target_->writer.add(prepare_event(std::move(consent), target_->key), tag);
}

}  // namespace

ImportReport run_import(const ImportOptions& options, const std::function<void(const ImportProgress&)>& progress) {
  Importer importer(options, progress);
  return importer.run();
}

}  // namespace regulars::daemon::import
