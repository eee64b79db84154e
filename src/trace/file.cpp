#include "trace/file.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <cstdio>
#include <limits>

namespace gwang::trace {

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Result<std::string> gunzip(std::string_view bytes, const std::string& source_name) {
  z_stream zs{};
  // 16 + MAX_WBITS: gzip wrapper only (no raw deflate, no zlib wrapper).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return fail(source_name + ": cannot start gzip decompression");
  }
  // Inflate straight into the result, growing it as needed (SWF text compresses about 5:1).
  std::string out(std::max<size_t>(bytes.size() * 6, 1 << 16), '\0');
  size_t produced = 0;
  auto next = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  constexpr size_t kChunk = size_t{1} << 30;  // uInt-sized pieces of input and output
  int rc = Z_OK;
  while (true) {
    if (zs.avail_in == 0 && left > 0) {
      const auto chunk = static_cast<uInt>(std::min(left, kChunk));
      zs.next_in = const_cast<Bytef*>(next);
      zs.avail_in = chunk;
      next += chunk;
      left -= chunk;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    const size_t room = std::min(out.size() - produced, kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0 && left == 0) break;
      // Another gzip member follows.
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) break;  // input ended early
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  const std::string why = zs.msg != nullptr ? zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return fail(source_name + ": corrupt or truncated gzip data" + (why.empty() ? "" : " (" + why + ")"));
  }
  out.resize(produced);
  return out;
}

Result<std::string> read_text_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return fail(path + ": cannot open: " + std::strerror(errno));
  std::string bytes;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return fail(path + ": cannot read: " + std::strerror(err));
  if (is_gzip(bytes)) return gunzip(bytes, path);
  return bytes;
}

}  // namespace gwang::trace
