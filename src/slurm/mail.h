// sbatch's mail options, as Slurm's man page defines them: --mail-type's events and --mail-user's
// address. What mail gwang sends for each is the controller's (controller/mail.h).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace gwang::slurm {

// --mail-type: a comma list of NONE, BEGIN, END, FAIL, REQUEUE, TIME_LIMIT, STAGE_OUT,
// ARRAY_TASKS and ALL (BEGIN, END, FAIL, REQUEUE, STAGE_OUT), any case; in a fixed order,
// upper case ("" for NONE). INVALID_DEPEND and TIME_LIMIT_50/80/90 are refused by name: gwang
// sends no mail for them yet.
Result<std::string> parse_mail_type(std::string_view text);
// Whether `mail_type` (as parse_mail_type gives it) holds the event `word` ("BEGIN").
bool mails_at(std::string_view mail_type, std::string_view word);
// --mail-user: an address or a user name, 1 to 256 bytes, no blanks, quotes or control characters.
bool mail_user_ok(std::string_view text);

}  // namespace gwang::slurm
