// How Slurm's commands print: squeue's and sinfo's "%.18i %.9P" field specifications, -O's
// "JobID:18,Name" lists, sacct's "JobID,JobName%30" lists, and Slurm's ways of writing durations,
// time limits and dates.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

// One piece of a format: literal text, or a field with a width (0: as wide as its value),
// right-justified or not, and text to append.
struct FormatItem {
  std::string literal;  // when field is empty
  std::string field;    // a %-letter ("i") or a long name ("JobID")
  int width = 0;
  bool right = false;
  std::string suffix;
  bool cut = true;  // a value wider than the field is cut to it (Slurm prints times whole)
};

// squeue's and sinfo's -o: "%[[.]size]type[suffix]"; "%%" is a '%'. `types` lists the letters
// the command knows; another is an error naming it.
Result<std::vector<FormatItem>> parse_percent_format(std::string_view text, std::string_view types);
// squeue's and sinfo's -O: "name[:[.][size][suffix]],..." (size defaults to `default_width`).
// Names are matched without regard to case against `names` and stored as `names` spells them.
Result<std::vector<FormatItem>> parse_long_format(std::string_view text, const std::vector<std::string>& names,
                                                  int default_width = 20);
// sacct's --format: "name[%size],..." (a size of 0 or none: the name's default, from `width`).
Result<std::vector<FormatItem>> parse_sacct_format(std::string_view text, const std::vector<std::string>& names,
                                                   const std::function<int(const std::string&)>& width);

// A value in its field: cut to the width and padded (Slurm cuts what does not fit).
std::string fit(std::string_view value, int width, bool right);
// A line: each item's value (value(field) for fields), fitted (cut only where the item says).
std::string render(const std::vector<FormatItem>& items, const std::function<std::string(const FormatItem&)>& value);

// A duration as squeue's TIME: "M:SS", "H:MM:SS", "D-HH:MM:SS".
std::string format_elapsed(std::int64_t seconds);
// A duration as sacct and scontrol write it (Slurm's secs2time_str): "00:01:05", "1-00:00:00".
std::string format_clock(std::int64_t seconds);
// A time limit in minutes as squeue's TIME_LIMIT and sacct's Timelimit: "30:00", "1:00:00",
// "1-00:00:00"; "UNLIMITED" when `unlimited`.
std::string format_minutes(std::int64_t minutes, bool unlimited = false);
// Unix seconds as Slurm writes dates, in local time: "2026-11-27T19:30:00".
std::string format_slurm_date(std::int64_t seconds);

}  // namespace gwang::slurm
