// CRC-32C (Castagnoli), used to checksum spool records.
#pragma once
#include <cstddef>
#include <cstdint>

namespace regulars::wire {
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t seed = 0) noexcept;
}
