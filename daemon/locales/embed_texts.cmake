# Turns daemon/locales/texts/*.json into a C++ source, so the phrasebooks stay data files and the
# daemon needs no path to find them at run time. Invoked by CMake with OUT and the files.
file(WRITE ${OUT}.tmp "// Generated from daemon/locales/texts/*.json. Do not edit.\n#include \"locales/embedded_texts.hpp\"\nnamespace regulars::daemon {\nconst std::vector<std::pair<std::string_view, std::string_view>>& embedded_locales() {\n  static const std::vector<std::pair<std::string_view, std::string_view>> k{\n")
string(REPLACE "|" ";" FILES "${FILES}")
foreach(f ${FILES})
  get_filename_component(tag ${f} NAME_WE)
  file(READ ${f} content)
  file(APPEND ${OUT}.tmp "    {\"${tag}\", R\"regulars_locale(${content})regulars_locale\"},\n")
endforeach()
file(APPEND ${OUT}.tmp "  };\n  return k;\n}\n}  // namespace regulars::daemon\n")
file(RENAME ${OUT}.tmp ${OUT})
