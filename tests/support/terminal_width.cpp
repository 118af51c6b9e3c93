#include "terminal_width.hpp"

#include <locale.h>
#include <wchar.h>

#include <cwchar>

namespace regulars::test {

int terminal_width(const std::string& s) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  const locale_t before = uselocale(utf8);
  std::mbstate_t state{};
  int width = 0;
  for (std::size_t i = 0; i < s.size();) {
    wchar_t wc = 0;
    const std::size_t n = std::mbrtowc(&wc, s.data() + i, s.size() - i, &state);
    const int w = (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2)) ? -1 : ::wcwidth(wc);
    if (w < 0) {
      width = -1;
      break;
    }
    width += w;
    i += n;
  }
  uselocale(before);
  return width;
}

}  // namespace regulars::test
