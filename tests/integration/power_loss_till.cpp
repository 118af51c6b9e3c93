// A till process for the power-loss test: several checkouts record purchases as fast as they can
// through the real plugin until the test kills the process. Each event the plugin acknowledged
// (REGULARS_OK) is appended to the acknowledgement file, one event id a line, before the next
// record: the test holds the store to exactly those. It runs under the disk shim; the
// acknowledgement file lies outside the watched folders, so a power cut leaves it whole (it
// stands for what the checkout told the cashier).
//
// Usage: regulars_power_loss_till ENDPOINT SPOOL_DIR ACK_FILE ROUND THREADS
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "plugin_library.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s ENDPOINT SPOOL_DIR ACK_FILE ROUND THREADS\n", argv[0]);
    return 2;
  }
  const std::string endpoint = argv[1], spool_dir = argv[2], round = argv[4];
  const int threads = std::stoi(argv[5]);
  const int acks = ::open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (acks < 0) return 3;
  // REGULARS_TEST_LIBREGULARS runs the tills on another build's plugin, to show that the test
  // fails on a plugin that acknowledges a spooled event before it is flushed.
  const char* other = std::getenv("REGULARS_TEST_LIBREGULARS");
  regulars::test::PluginLibrary plugin(other != nullptr && *other != '\0' ? other : LIBREGULARS_PATH);
  std::vector<regulars_client*> clients;
  for (int t = 0; t < threads; ++t) {
    const nlohmann::json options = {{"endpoint", endpoint}, {"spool_dir", spool_dir}, {"budget_ms", 50},
                                    {"terminal", "lane-" + std::to_string(t)}, {"store", "main"}};
    regulars_client* c = nullptr;
    if (plugin.open(options.dump().c_str(), &c) != REGULARS_OK) {
      std::fprintf(stderr, "regulars_open: %s\n", plugin.last_error());
      return 4;
    }
    clients.push_back(c);
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (long i = 0;; ++i) {
        const std::string id = "pl-" + round + "-" + std::to_string(t) + "-" + std::to_string(i);
        const nlohmann::json event = {
            {"type", "purchase"},
            {"event_id", id},
            {"customer", {{"kind", "card"}, {"value", "66" + std::to_string(t) + std::to_string(i % 50)}}},
            {"lines", {{{"sku", "bread"}, {"name", "bread"}, {"qty", 1}, {"unit_price", 150}}}}};
        if (plugin.record(clients[static_cast<std::size_t>(t)], event.dump().c_str()) != REGULARS_OK) continue;
        const std::string line = id + "\n";  // one write: a kill leaves whole lines or a torn last one
        if (::write(acks, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::_Exit(5);
      }
    });
  for (auto& w : workers) w.join();
}
