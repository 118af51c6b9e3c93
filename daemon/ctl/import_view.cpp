#include "ctl/import_view.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace regulars::ctl {

namespace {

std::string with_commas(long long n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && digits[i - 1] != '-' && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

double percent(const daemon::import::ImportProgress& p) {
  return p.bytes_total == 0 ? 100.0 : 100.0 * static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total);
}

}  // namespace

ImportProgressBar::ImportProgressBar(std::ostream& out) : out_(out), terminal_(::isatty(STDERR_FILENO) == 1) {}

void ImportProgressBar::show(const daemon::import::ImportProgress& p) {
  const double pct = percent(p);
  const long long rate = p.seconds > 0 ? static_cast<long long>(static_cast<double>(p.rows) / p.seconds) : 0;
  if (!terminal_) {
    const int tenths = static_cast<int>(pct / 10);
    if (tenths <= shown_tenths_) return;
    shown_tenths_ = tenths;
    out_ << "import: " << tenths * 10 << "% " << with_commas(p.rows) << " rows, " << with_commas(rate) << " rows/s\n";
    return;
  }
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(pct * kWidth / 100);
  char pct_text[16];
  std::snprintf(pct_text, sizeof pct_text, "%5.1f%%", pct);
  out_ << "\r" << pct_text << " [" << std::string(static_cast<std::size_t>(filled), '#')
       << std::string(static_cast<std::size_t>(kWidth - filled), ' ') << "] " << with_commas(p.rows) << " rows  "
       << with_commas(rate) << " rows/s   " << std::flush;
  drawn_ = true;
}

void ImportProgressBar::done() {
  if (drawn_) out_ << "\n";
}

void print_import_report(std::ostream& out, std::ostream& err, const daemon::import::ImportReport& r, bool dry_run) {
  for (const auto& note : r.notes) err << "note: " << note << "\n";
  for (const auto& e : r.error_texts) err << e << "\n";
  if (r.errors > static_cast<std::int64_t>(r.error_texts.size()))
    err << "... and " << with_commas(r.errors - static_cast<std::int64_t>(r.error_texts.size())) << " more errors\n";
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f s, %s rows/s", r.seconds,
                with_commas(r.seconds > 0 ? static_cast<long long>(static_cast<double>(r.rows) / r.seconds) : 0).c_str());
  out << (dry_run ? "checked " : "imported ") << with_commas(r.rows) << " rows in " << rate << "\n"
      << "  events        " << with_commas(r.events) << (dry_run ? " (none written: --dry-run)" : "") << "\n";
  if (!dry_run)
    out << "  new           " << with_commas(r.stored) << "\n"
        << "  already there " << with_commas(r.duplicates) << "\n";
  out << "  rows refused  " << with_commas(r.errors) << (r.errors > 0 ? " (listed above; fix them and import the file again: "
                                                                           "what is already there is not counted twice)" : "")
      << "\n";
}

}  // namespace regulars::ctl
