// How `regularsctl import` shows its work: a progress bar with the rate while it runs (a line
// per tenth when stderr is not a terminal), then what was imported and what was not.
#pragma once

#include <ostream>

#include "import/importer.hpp"

namespace regulars::ctl {

class ImportProgressBar {
 public:
  explicit ImportProgressBar(std::ostream& out);
  void show(const daemon::import::ImportProgress& p);
  void done();  // ends the bar's line

 private:
  std::ostream& out_;
  bool terminal_;
  int shown_tenths_ = 0;
  bool drawn_ = false;
};

void print_import_report(std::ostream& out, std::ostream& err, const daemon::import::ImportReport& r, bool dry_run);

}  // namespace regulars::ctl
