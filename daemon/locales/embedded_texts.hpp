#pragma once
#include <string_view>
#include <utility>
#include <vector>

namespace regulars::daemon {
// (locale tag, phrasebook JSON text) for every file in daemon/locales/texts.
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_locales();
}
