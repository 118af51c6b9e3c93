// Terminal output for people watching a checkout: optional ANSI colour and boxed panels. The
// widths, cutting and wrapping of UTF-8 text are in text.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text.hpp"

namespace till {

// SGR codes, e.g. "1" bold, "2" dim, "32" green, "1;36" bold cyan. Empty: no styling.
namespace tone {
inline constexpr std::string_view plain = "";
inline constexpr std::string_view bold = "1";
inline constexpr std::string_view dim = "2";
inline constexpr std::string_view red = "31";
inline constexpr std::string_view green = "32";
inline constexpr std::string_view yellow = "33";
inline constexpr std::string_view blue = "34";
inline constexpr std::string_view magenta = "35";
inline constexpr std::string_view cyan = "36";
inline constexpr std::string_view bold_red = "1;31";
inline constexpr std::string_view bold_green = "1;32";
inline constexpr std::string_view bold_yellow = "1;33";
inline constexpr std::string_view bold_cyan = "1;36";
inline constexpr std::string_view bold_magenta = "1;35";
}  // namespace tone

class Style {
 public:
  explicit Style(bool color) : color_(color) {}
  bool color() const noexcept { return color_; }
  std::string operator()(std::string_view sgr, std::string_view text) const;

 private:
  bool color_;
};

// `text` repeated `n` times.
std::string repeat(std::string_view text, int n);

// A box of rows, each made of styled segments, drawn with rounded corners.
class Panel {
 public:
  struct Segment {
    std::string text;
    std::string_view sgr;
  };

  Panel(const Style& style, int width) : style_(style), width_(width) {}
  int inner_width() const noexcept { return width_ - 4; }

  void title(std::string left, std::string right) {
    title_left_ = std::move(left);
    title_right_ = std::move(right);
  }
  // Wrapped text: the first line starts with `bullet`, continuation lines are indented under it.
  // Text whose first strong letter is right-to-left is laid out from the right side of the box.
  void text(std::string_view text, std::string_view sgr, std::string_view bullet = "", std::string_view bullet_sgr = "",
            int indent = 0);
  // One row of segments, cut to the inner width if needed.
  void row(std::vector<Segment> segments);
  // A dividing line with a label: at the left, or at the right when the label is right-to-left.
  void separator(std::string label);
  std::string render() const;

 private:
  struct Row {
    bool separator = false;
    bool rtl = false;
    std::string label;
    std::vector<Segment> segments;
  };
  std::string render_row(const Row& r) const;

  const Style& style_;
  int width_;
  std::string title_left_, title_right_;
  std::vector<Row> rows_;
};

}  // namespace till
