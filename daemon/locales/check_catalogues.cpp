// regulars-check-catalogues FILE.json...: checks the phrasebooks as the daemon loads them, for
// the build (a bad file fails it) and for translators. Prints one line per fault, "file: key:
// reason", and exits 1 if there is any; 0 and nothing printed when all are good.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "locales/catalogue.hpp"

int main(int argc, char** argv) {
  using namespace regulars::daemon;
  if (argc < 2) {
    std::cerr << "usage: regulars-check-catalogues FILE.json...\n";
    return 2;
  }
  std::vector<CatalogueSource> sources;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::cerr << argv[i] << ": cannot be read\n";
      return 1;
    }
    std::ostringstream text;
    text << in.rdbuf();
    sources.push_back({std::filesystem::path(argv[i]).stem().string(), text.str()});
  }
  std::vector<CatalogueProblem> problems;
  load_catalogues(sources, problems);
  for (const auto& p : problems) std::cerr << "phrasebook " << p.describe() << "\n";
  return problems.empty() ? 0 : 1;
}
