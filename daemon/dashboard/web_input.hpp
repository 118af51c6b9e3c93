// Reading what a browser sends the dashboard: the session cookie, form fields, and where a post
// came from. Every input is checked here, with bounded sizes, before a page sees it; a problem
// is described in a sentence for the owner (never echoing what was sent).
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "net/admin_http.hpp"

namespace regulars::daemon::dashboard {

inline constexpr std::string_view kSessionCookie = "regulars_session";

// The session id the request's cookie carries, or "" when there is none or it is not one (64
// lower-case hex digits).
std::string session_cookie(const WebRequest& req);

struct FormField {
  std::string_view name;
  std::size_t max_chars;
  bool required = true;
};
using Form = std::map<std::string, std::string>;

// A form's CSRF token, beside its other fields (a signed-in post's; the page's #csrf value).
inline constexpr std::string_view kCsrfField = "csrf";

// An application/x-www-form-urlencoded body with only the named fields, each within its size,
// and perhaps the csrf field, which is left out: the fields, or the problem.
std::variant<Form, std::string> parse_form(const WebRequest& req, std::initializer_list<FormField> fields);
// The form's csrf field, or "" when there is none.
std::string csrf_field(const WebRequest& req);

// For a POST: empty when it came from a page of this server or from a program that is not a
// browser, else the problem. Browsers say where a request came from (Sec-Fetch-Site, Origin);
// another site's page must not sign the owner in or out, even without a session.
std::string cross_site_problem(const WebRequest& req);

// `s` without the spaces, tabs and line ends around it (a header's value, a pasted token).
std::string_view trim(std::string_view s);

// The value of a request header (lower-case name), or "".
std::string_view header(const WebRequest& req, std::string_view name);

}  // namespace regulars::daemon::dashboard
