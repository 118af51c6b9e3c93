#include "screen.hpp"

#include <algorithm>

namespace till {

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

std::string repeat(std::string_view text, int n) {
  std::string out;
  for (int k = 0; k < n; ++k) out += text;
  return out;
}

void Panel::text(std::string_view text, std::string_view sgr, std::string_view bullet, std::string_view bullet_sgr,
                 int indent) {
  const int bullet_w = display_width(bullet);
  const int avail = std::max(8, inner_width() - indent - bullet_w);
  const bool rtl = base_direction(text) == Direction::rtl;
  bool first = true;
  for (auto& line : wrap(text, avail)) {
    Row r;
    r.rtl = rtl;
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
    std::string left = title_left_.empty() ? std::string() : " " + truncate(title_left_, width_ - 7) + " ";
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
      // ├─ label ─────┤, or for a right-to-left label ├───── label ─┤ with the label in a
      // RIGHT-TO-LEFT ISOLATE, like a right-to-left row: the frame stays left-to-right.
      const std::string text = truncate(r.label, std::max(1, width_ - 7));
      const bool rtl = base_direction(text) == Direction::rtl;
      const std::string label =
          text.empty() ? std::string() : rtl ? " " + std::string(kRli) + text + std::string(kPdi) + " " : " " + text + " ";
      const int fill = std::max(1, width_ - 3 - display_width(label));
      if (rtl)
        out += style_(frame, "├" + repeat("─", fill)) + style_(tone::bold, label) + style_(frame, "─┤") + "\n";
      else
        out += style_(frame, "├─") + style_(tone::bold, label) + style_(frame, repeat("─", fill) + "┤") + "\n";
      continue;
    }
    out += render_row(r);
  }
  out += style_(frame, "╰" + repeat("─", width_ - 2) + "╯") + "\n";
  return out;
}

// A row between the borders, padded to the inner width by display columns.
//
// A right-to-left row is padded on the left and its text sent inside a RIGHT-TO-LEFT ISOLATE
// (U+2067 ... U+2069), not after a leading RIGHT-TO-LEFT MARK. A terminal that runs the bidi
// algorithm (VTE, Konsole, mlterm) then lays the text out from the right, the bullet first, and
// whatever the text holds (Latin item names, digits, the daemon's own isolates) cannot reorder
// with the padding or the borders, since an isolate is a single neutral to the rest of the line.
// A leading RLM would make the whole line right-to-left in a terminal that takes a line's
// direction from its first strong letter, swapping the border and the padding; and the terminal
// alone, without the isolate, would give the paragraph the direction of the frame (left-to-right)
// and move the bullet to the end. A terminal without bidi shows the text in logical order, at the
// right side of the box; the isolates take no column in either.
std::string Panel::render_row(const Row& r) const {
  std::string line;
  int used = 0;
  const int inner = inner_width();
  for (const auto& seg : r.segments) {
    if (used >= inner) break;
    std::string piece = truncate(seg.text, inner - used);
    used += display_width(piece);
    // In a left-to-right row, a right-to-left piece (a Persian reason after an item's score) is
    // isolated so that it does not pull its neighbours into its run.
    // The spaces that pad it to its column stay outside, on the right.
    if (!r.rtl && base_direction(piece) == Direction::rtl) {
      const std::size_t end = piece.find_last_not_of(' ') + 1;
      piece = std::string(kRli) + piece.substr(0, end) + std::string(kPdi) + piece.substr(end);
    }
    line += style_(seg.sgr, piece);
  }
  const std::string padding(static_cast<std::size_t>(std::max(0, inner - used)), ' ');
  const std::string_view frame = tone::dim;
  if (r.rtl) line = padding + std::string(kRli) + line + std::string(kPdi);
  else line += padding;
  return style_(frame, "│") + " " + line + " " + style_(frame, "│") + "\n";
}

}  // namespace till
