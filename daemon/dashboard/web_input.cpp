#include "dashboard/web_input.hpp"

#include <algorithm>

#include "wire/validate.hpp"

namespace regulars::daemon::dashboard {

namespace {

constexpr std::size_t kSessionChars = 64;

bool is_session_text(std::string_view s) {
  return s.size() == kSessionChars &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_form_type(std::string_view content_type) {
  std::string media(trim(content_type.substr(0, content_type.find(';'))));
  std::transform(media.begin(), media.end(), media.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return media == "application/x-www-form-urlencoded";
}

}  // namespace

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  while (!s.empty() && kSpace.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && kSpace.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
}

std::string_view header(const WebRequest& req, std::string_view name) {
  const auto it = req.headers.find(std::string(name));
  return it == req.headers.end() ? std::string_view{} : std::string_view(it->second);
}

std::string session_cookie(const WebRequest& req) {
  std::string_view cookies = header(req, "cookie");
  while (!cookies.empty()) {
    const auto semi = cookies.find(';');
    const std::string_view pair = trim(cookies.substr(0, semi));
    cookies = semi == std::string_view::npos ? std::string_view{} : cookies.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != kSessionCookie) continue;
    const std::string_view value = pair.substr(eq + 1);
    return is_session_text(value) ? std::string(value) : std::string();
  }
  return {};
}

std::variant<Form, std::string> parse_form(const WebRequest& req, std::initializer_list<FormField> fields) {
  if (!is_form_type(header(req, "content-type")))
    return std::string("send the form as application/x-www-form-urlencoded");
  auto parsed = parse_query(req.body);
  if (!parsed) return std::string("the form has a malformed %-escape");
  parsed->erase(std::string(kCsrfField));  // any form's; checked before the form is read (csrf_field)
  for (const auto& [name, value] : *parsed) {
    const auto rule = std::find_if(fields.begin(), fields.end(), [&](const FormField& f) { return f.name == name; });
    if (rule == fields.end()) return std::string("the form has a field this page does not take");
    if (!wire::valid_utf8(value)) return "the field " + name + " is not UTF-8 text";
    if (value.size() > rule->max_chars)
      return "the field " + name + " is longer than " + std::to_string(rule->max_chars) + " characters";
  }
  for (const FormField& f : fields)
    if (f.required && !parsed->contains(std::string(f.name))) return "the form lacks the field " + std::string(f.name);
  return std::move(*parsed);
}

std::string csrf_field(const WebRequest& req) {
  if (!is_form_type(header(req, "content-type"))) return {};
  const auto parsed = parse_query(req.body);
  if (!parsed) return {};
  const auto it = parsed->find(std::string(kCsrfField));
  return it == parsed->end() ? std::string() : it->second;
}

// Sec-Fetch-Site, when the browser sends it, is decisive. Origin is only the fallback: under
// Referrer-Policy: no-referrer a browser sends "Origin: null" even for the page's own form.
std::string cross_site_problem(const WebRequest& req) {
  const std::string_view site = header(req, "sec-fetch-site");
  if (!site.empty()) {
    if (site == "same-origin" || site == "none") return {};
    return "this request came from another site's page; open the dashboard from its own address";
  }
  const std::string_view origin = header(req, "origin");
  const std::string host(header(req, "host"));
  if (!origin.empty() && origin != "http://" + host && origin != "https://" + host)
    return "this request came from another origin; open the dashboard from its own address";
  return {};
}

}  // namespace regulars::daemon::dashboard
