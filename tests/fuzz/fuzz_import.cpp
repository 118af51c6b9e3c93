// fuzz_import: the bytes are an import file (regularsctl import). The first byte chooses what
// reads the rest: 'M' a mapping file, 'C' a customers CSV, anything else a sales CSV. A bad file
// may only end in CsvError or MappingError, a bad row only in a RowError; every event built from
// the rows passes the protocol's own validation, so nothing unchecked can reach the store.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <variant>

#include "fuzz_common.hpp"
#include "import/csv_reader.hpp"
#include "import/mapping.hpp"
#include "import/row_events.hpp"
#include "wire/validate.hpp"

namespace {

using namespace regulars::daemon::import;
constexpr std::int64_t kNowMs = 1'900'000'000'000;

void check_event(nlohmann::json event) {
  event["event_id"] = "imp-fuzz";
  const auto err = regulars::wire::validate_event(event);
  FUZZ_CHECK(!err);
}

void read_rows(CsvReader& reader, const BoundColumns& columns, const Mapping& mapping) {
  SaleGrouper sales;
  for (CsvRow row; reader.next(row);) {
    FUZZ_CHECK(row.line >= 1 && !row.fields.empty());
    if (mapping.format == Format::customers) {
      const auto r = read_customer_row(columns, row, kNowMs);
      if (const auto* events = std::get_if<std::vector<RowEvent>>(&r))
        for (const auto& e : *events) check_event(e.event);
      continue;
    }
    auto line = read_sale_row(columns, mapping, row, kNowMs);
    if (auto* l = std::get_if<SaleLine>(&line))
      if (auto done = sales.add(std::move(*l))) check_event(done->event);
  }
  if (auto done = sales.finish()) check_event(done->event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] == 'M') {
      Mapping::parse(text, "m.json");
      return 0;
    }
    const Mapping mapping = Mapping::generic_format(data[0] == 'C' ? Format::customers : Format::sales);
    std::istringstream in(text);
    CsvReader reader(in, "f.csv", mapping.delimiter);
    CsvRow header;
    if (!reader.next(header)) return 0;
    const BoundColumns columns(mapping, header.fields, "f.csv");
    read_rows(reader, columns, mapping);
  } catch (const CsvError&) {
  } catch (const MappingError&) {
  }
  return 0;
}
