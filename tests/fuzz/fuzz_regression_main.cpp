// Replays a fuzz target over stored inputs, with any compiler and without libFuzzer, so ctest
// re-checks the seed corpus and every crash ever found on each build:
//
//   fuzz_regression_<target> CORPUS_DIR [CRASH_DIR | FILE]...
//
// The first argument must be a directory holding at least one input. Later directories may be
// missing (tests/fuzz/crashes/<target>/ exists only once a crash was kept). Files whose names
// start with '.' are skipped. A failing input aborts the process; its path is printed first.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

void collect(const fs::path& dir, std::vector<fs::path>& out) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && !hidden(it->path())) out.push_back(it->path());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [CRASH_DIR | FILE]...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      const std::size_t before = inputs.size();
      collect(arg, inputs);
      if (i == 1 && inputs.size() == before) {
        std::fprintf(stderr, "%s: the corpus directory %s holds no inputs\n", argv[0], argv[i]);
        return 1;
      }
    } else if (fs::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else if (i == 1) {
      std::fprintf(stderr, "%s: no corpus directory %s\n", argv[0], argv[i]);
      return 1;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  for (const fs::path& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], p.c_str());
      return 1;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::printf("%s (%zu bytes)\n", p.c_str(), bytes.size());
    std::fflush(stdout);
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%zu inputs passed\n", inputs.size());
  return 0;
}
