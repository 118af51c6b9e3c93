// A comparison run in blocks, Regulars and a reference taking turns, so that a drift in the
// machine's load over the run (other work starting, caches, the disk) weighs on both alike.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <utility>

#include "console.hpp"

namespace regulars::bench {

// Runs calls [begin, end) of a run and adds what it measured to its tally.
using Block = std::function<void(std::size_t begin, std::size_t end)>;

// Splits `total` calls into `rounds` blocks. Each block of ours sits beside the reference's
// block of the same calls, the reference going first every other round (A B, B A, A B, ...),
// so a steady drift cancels out. An empty `reference` runs ours alone.
inline void interleave(unsigned rounds, std::size_t total, const Block& ours, const Block& reference) {
  for (unsigned r = 0; r < rounds; ++r) {
    const std::size_t begin = total * r / rounds, end = total * (r + 1) / rounds;
    if (begin == end) continue;
    if (reference && r % 2 == 1) reference(begin, end);
    ours(begin, end);
    if (reference && r % 2 == 0) reference(begin, end);
  }
}

// The reference's block until it throws once: then the error is printed, `failed` set, and the
// later blocks skipped, so a broken reference costs its own figures and not the Regulars run.
inline Block guard_reference(const char* name, Block block, bool& failed) {
  if (!block) return {};
  return [name, block = std::move(block), &failed](std::size_t begin, std::size_t end) {
    if (failed) return;
    try {
      block(begin, end);
    } catch (const std::exception& e) {
      failed = true;
      tools::note("error: %s reference: %s\n", name, e.what());
    }
  };
}

}  // namespace regulars::bench
