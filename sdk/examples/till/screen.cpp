#include "screen.hpp"

#include <algorithm>
#include <cstdint>

namespace till {
namespace {

// Decodes one code point at `i` (advancing it); invalid bytes count as one replacement character.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = 1;
  char32_t cp = b0;
  if (b0 >= 0xF0 && b0 < 0xF8) {
    len = 4;
    cp = b0 & 0x07u;
  } else if (b0 >= 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0x80) {
    ++i;
    return 0xFFFD;
  }
  if (len == 1) {
    ++i;
    return cp;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) {
    i = s.size();
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3Fu);
  i += static_cast<std::size_t>(len);
  return cp;
}

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }

int code_point_width(char32_t c) {
  if (c < 0x20 || c == 0x7F) return 0;
  // Combining marks, Arabic/Hebrew vowel signs, zero-width and bidi controls, variation selectors.
  if (in(c, 0x0300, 0x036F) || in(c, 0x0483, 0x0489) || in(c, 0x0591, 0x05BD) || in(c, 0x0610, 0x061A) ||
      in(c, 0x064B, 0x065F) || c == 0x0670 || in(c, 0x06D6, 0x06DC) || in(c, 0x06DF, 0x06E4) ||
      in(c, 0x06E7, 0x06E8) || in(c, 0x06EA, 0x06ED) || in(c, 0x1AB0, 0x1AFF) || in(c, 0x1DC0, 0x1DFF) ||
      in(c, 0x200B, 0x200F) || in(c, 0x202A, 0x202E) || in(c, 0x2060, 0x2069) || in(c, 0x20D0, 0x20FF) ||
      in(c, 0xFE00, 0xFE0F) || c == 0xFEFF)
    return 0;
  if (in(c, 0x1100, 0x115F) || in(c, 0x2E80, 0x303E) || in(c, 0x3041, 0x33FF) || in(c, 0x3400, 0x4DBF) ||
      in(c, 0x4E00, 0x9FFF) || in(c, 0xA000, 0xA4CF) || in(c, 0xAC00, 0xD7A3) || in(c, 0xF900, 0xFAFF) ||
      in(c, 0xFE30, 0xFE4F) || in(c, 0xFF00, 0xFF60) || in(c, 0xFFE0, 0xFFE6) || in(c, 0x1F300, 0x1F64F) ||
      in(c, 0x1F900, 0x1F9FF) || in(c, 0x20000, 0x3FFFD))
    return 2;
  return 1;
}

}  // namespace

std::string Style::operator()(std::string_view sgr, std::string_view text) const {
  if (!color_ || sgr.empty() || text.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + sgr.size() + 8);
  out += "\x1b[";
  out += sgr;
  out += 'm';
  out += text;
  out += "\x1b[0m";
  return out;
}

int display_width(std::string_view text) {
  int w = 0;
  for (std::size_t i = 0; i < text.size();) w += code_point_width(next_code_point(text, i));
  return w;
}

std::string truncate(std::string_view text, int width) {
  if (display_width(text) <= width) return std::string(text);
  if (width <= 0) return {};
  std::string out;
  int w = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const int cw = code_point_width(next_code_point(text, i));
    if (w + cw > width - 1) break;
    w += cw;
    out.append(text.substr(start, i - start));
  }
  return out + "…";
}

std::string pad_right(std::string_view text, int width) {
  std::string out = truncate(text, width);
  return out + std::string(static_cast<std::size_t>(std::max(0, width - display_width(out))), ' ');
}

std::string pad_left(std::string_view text, int width) {
  std::string out = truncate(text, width);
  return std::string(static_cast<std::size_t>(std::max(0, width - display_width(out))), ' ') + out;
}

std::vector<std::string> wrap(std::string_view text, int width) {
  std::vector<std::string> lines;
  std::string line;
  int line_w = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (start == i) break;
    std::string word(text.substr(start, i - start));
    int word_w = display_width(word);
    if (line_w > 0 && line_w + 1 + word_w > width) {
      lines.push_back(std::move(line));
      line.clear();
      line_w = 0;
    }
    while (word_w > width) {  // a word wider than the line is cut hard
      std::string head;
      int head_w = 0;
      std::size_t k = 0;
      while (k < word.size()) {
        std::size_t next = k;
        const int cw = code_point_width(next_code_point(word, next));
        if (head_w + cw > width) break;
        head_w += cw;
        head.append(word, k, next - k);
        k = next;
      }
      if (!line.empty()) lines.push_back(std::move(line));
      lines.push_back(std::move(head));
      line.clear();
      line_w = 0;
      word.erase(0, k);
      word_w = display_width(word);
    }
    if (line_w > 0) {
      line += ' ';
      ++line_w;
    }
    line += word;
    line_w += word_w;
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string repeat(std::string_view text, int n) {
  std::string out;
  for (int k = 0; k < n; ++k) out += text;
  return out;
}

void Panel::text(std::string_view text, std::string_view sgr, std::string_view bullet, std::string_view bullet_sgr,
                 int indent) {
  const int bullet_w = display_width(bullet);
  const int avail = std::max(8, inner_width() - indent - bullet_w);
  bool first = true;
  for (auto& line : wrap(text, avail)) {
    Row r;
    r.segments.push_back({std::string(static_cast<std::size_t>(indent), ' '), tone::plain});
    if (first)
      r.segments.push_back({std::string(bullet), bullet_sgr});
    else
      r.segments.push_back({std::string(static_cast<std::size_t>(bullet_w), ' '), tone::plain});
    r.segments.push_back({std::move(line), sgr});
    rows_.push_back(std::move(r));
    first = false;
  }
}

void Panel::row(std::vector<Segment> segments) {
  Row r;
  r.segments = std::move(segments);
  rows_.push_back(std::move(r));
}

void Panel::separator(std::string label) {
  Row r;
  r.separator = true;
  r.label = std::move(label);
  rows_.push_back(std::move(r));
}

std::string Panel::render() const {
  const std::string_view frame = tone::dim;
  std::string out;
  // ╭─ left ───── right ─╮
  {
    std::string left = title_left_.empty() ? std::string() : " " + title_left_ + " ";
    std::string right = title_right_.empty() ? std::string() : " " + title_right_ + " ";
    int fill = width_ - 2 - 1 - display_width(left) - display_width(right) - 1;
    if (fill < 1) {
      right.clear();
      fill = std::max(1, width_ - 4 - display_width(left));
    }
    out += style_(frame, "╭─") + style_(tone::bold_cyan, left) + style_(frame, repeat("─", fill)) +
           style_(tone::dim, right) + style_(frame, "─╮") + "\n";
  }
  for (const auto& r : rows_) {
    if (r.separator) {
      const std::string label = r.label.empty() ? std::string() : " " + r.label + " ";
      const int fill = std::max(1, width_ - 3 - display_width(label));
      out += style_(frame, "├─") + style_(tone::bold, label) + style_(frame, repeat("─", fill) + "┤") + "\n";
      continue;
    }
    std::string line;
    int used = 0;
    const int inner = inner_width();
    for (const auto& seg : r.segments) {
      if (used >= inner) break;
      std::string piece = truncate(seg.text, inner - used);
      used += display_width(piece);
      line += style_(seg.sgr, piece);
    }
    line += std::string(static_cast<std::size_t>(std::max(0, inner - used)), ' ');
    out += style_(frame, "│") + " " + line + " " + style_(frame, "│") + "\n";
  }
  out += style_(frame, "╰" + repeat("─", width_ - 2) + "╯") + "\n";
  return out;
}

}  // namespace till
