// Helpers shared by the gwang_trace tests.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace gwang::trace::testing {

// A fixture file of tests/trace/data.
inline std::string fixture(std::string_view name) { return std::string(GWANG_TEST_DIR) + "/data/" + std::string(name); }

// A file of the shared data sets (GWANG_DATA_DIR).
inline std::string shared(std::string_view name) { return std::string(GWANG_DATA_DIR) + "/" + std::string(name); }

// gzip-compressed `text` (one gzip member), made with zlib.
inline std::string gzip(std::string_view text) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(text.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A file in the test's temporary directory holding `bytes`; returns its path.
inline std::string write_temp(std::string_view name, std::string_view bytes) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("gwang_trace_" + std::to_string(::getpid()) + "_" + std::string(name));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path.string();
}

}  // namespace gwang::trace::testing
