#include "slurm/mail.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace gwang::slurm {

Result<std::string> parse_mail_type(std::string_view text) {
  static constexpr std::string_view kOrder[] = {"BEGIN", "END", "FAIL", "REQUEUE", "TIME_LIMIT", "STAGE_OUT", "ARRAY_TASKS"};
  std::vector<std::string> on;
  const auto add = [&on](std::string_view w) {
    if (std::find(on.begin(), on.end(), w) == on.end()) on.emplace_back(w);
  };
  if (text.empty()) return fail("empty: expected NONE, BEGIN, END, FAIL, REQUEUE, TIME_LIMIT, ALL, ...");
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    std::string w(text.substr(at, comma - at));
    at = comma + 1;
    for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (w == "NONE") {
      on.clear();
    } else if (w == "ALL") {
      for (std::string_view x : {"BEGIN", "END", "FAIL", "REQUEUE", "STAGE_OUT"}) add(x);
    } else if (w == "INVALID_DEPEND" || w == "TIME_LIMIT_50" || w == "TIME_LIMIT_80" || w == "TIME_LIMIT_90") {
      return fail("'" + w + "': gwang sends no mail for it yet (BEGIN, END, FAIL, REQUEUE, TIME_LIMIT do)");
    } else if (std::find(std::begin(kOrder), std::end(kOrder), w) != std::end(kOrder)) {
      add(w);
    } else {
      return fail("'" + w + "' is not a mail type (NONE, BEGIN, END, FAIL, REQUEUE, TIME_LIMIT, STAGE_OUT, "
                  "ARRAY_TASKS, ALL)");
    }
  }
  std::string out;
  for (std::string_view w : kOrder) {
    if (std::find(on.begin(), on.end(), w) != on.end()) out += (out.empty() ? "" : ",") + std::string(w);
  }
  return out;
}

bool mail_user_ok(std::string_view text) {
  if (text.empty() || text.size() > 256) return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '\'' || c == '"' || c == '\\';
  });
}

bool mails_at(std::string_view mail_type, std::string_view word) {
  for (std::size_t at = 0; at <= mail_type.size();) {
    const std::size_t comma = std::min(mail_type.find(',', at), mail_type.size());
    if (mail_type.substr(at, comma - at) == word) return true;
    at = comma + 1;
  }
  return false;
}

}  // namespace gwang::slurm
