// Whole-file reading for the trace readers: plain text or gzip, decided by the content.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace gwang::trace {

// True when `bytes` starts with the gzip magic number (0x1f 0x8b).
bool is_gzip(std::string_view bytes);

// Decompresses gzip data (one member or several concatenated, as `cat a.gz b.gz` makes).
// `source_name` is used in error messages.
Result<std::string> gunzip(std::string_view bytes, const std::string& source_name);

// Reads the whole file at `path`; gzip content is decompressed. Errors name the path.
Result<std::string> read_text_file(const std::string& path);

}  // namespace gwang::trace
