// Tests of the SWF reader (trace/swf.h).
#include "trace/swf.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "trace/file.h"
#include "test_util.h"

namespace gwang::trace {
namespace {

using ::testing::HasSubstr;
using testing::fixture;
using testing::gzip;
using testing::write_temp;

constexpr std::string_view kLine = "1 0 -1 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1";

// Reads the message of a failed parse, or fails the test when the parse succeeded.
std::string error_of(std::string_view text) {
  auto trace = parse_swf(text, "t.swf");
  EXPECT_FALSE(trace.has_value()) << "expected an error for: " << text;
  return trace ? std::string() : trace.error().message;
}

// Header lines become ordered label/value pairs; continuation and bare comment lines are ignored.
TEST(SwfHeader, ParsesLabelsInOrder) {
  auto trace = parse_swf(
      "; Version: 2.2\n"
      ";  Computer:   IBM SP2  \n"
      "; Information: http://www.cs.huji.ac.il/labs/parallel/workload/\n"
      ";              http://www.pdc.kth.se/\n"
      ";\n"
      "; just a remark\n"
      "; MaxProcs: 100\n",
      "t.swf");
  ASSERT_TRUE(trace) << trace.error().message;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Version", "2.2"},
      {"Computer", "IBM SP2"},
      {"Information", "http://www.cs.huji.ac.il/labs/parallel/workload/"},
      {"MaxProcs", "100"}};
  EXPECT_EQ(trace->header.fields, expected);
  EXPECT_TRUE(trace->records.empty());
}

// Header look-ups ignore the label's case.
TEST(SwfHeader, GetIgnoresCase) {
  auto trace = parse_swf("; MaxNodes: 338\n", "t.swf");
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->header.get("maxnodes"), "338");
  EXPECT_EQ(trace->header.get("MAXNODES"), "338");
  EXPECT_EQ(trace->header.get_int("maxNodes"), 338);
  EXPECT_EQ(trace->header.get("MaxProcs"), std::nullopt);
}

// get_int takes the leading integer and tolerates text after it; no leading number gives nullopt.
TEST(SwfHeader, GetIntToleratesTextAfterTheNumber) {
  auto trace = parse_swf(
      "; MaxNodes: 338 (batch partition; 512 total)\n"
      "; MaxProcs: 100(some note)\n"
      "; TimeZone: -3600\n"
      "; Note: about 20 jobs\n"
      "; Empty:\n"
      "; Huge: 99999999999999999999999\n",
      "t.swf");
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->header.get_int("MaxNodes"), 338);
  EXPECT_EQ(trace->header.get_int("MaxProcs"), 100);
  EXPECT_EQ(trace->header.get_int("TimeZone"), -3600);
  EXPECT_EQ(trace->header.get_int("Note"), std::nullopt);
  EXPECT_EQ(trace->header.get("Empty"), "");
  EXPECT_EQ(trace->header.get_int("Empty"), std::nullopt);
  EXPECT_EQ(trace->header.get_int("Huge"), std::nullopt);
  EXPECT_EQ(trace->header.get_int("Missing"), std::nullopt);
}

// All 18 fields land in their members, with 1-based line numbers counting comments and blanks.
TEST(SwfParse, ReadsAllFieldsAndLineNumbers) {
  auto trace = parse_swf(
      "; MaxProcs: 8\n"
      "\n"
      "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n",
      "t.swf");
  ASSERT_TRUE(trace);
  ASSERT_EQ(trace->records.size(), 1u);
  const SwfRecord& r = trace->records[0];
  EXPECT_EQ(r.line, 3);
  for (int f = 1; f <= kSwfFields; ++f) EXPECT_EQ(swf_field(r, f), f) << "field " << f;
  EXPECT_EQ(r.job_id, 1);
  EXPECT_EQ(r.run, 4);
  EXPECT_EQ(r.req_time, 9);
  EXPECT_EQ(r.think_time, 18);
}

// Fractional and exponent notation are accepted anywhere, and -1 (unknown) is kept as written.
TEST(SwfParse, AcceptsFloatsExponentsAndMinusOne) {
  auto trace = parse_swf("2 5 -1 0.4 1 12.5 1e3 1 60 -1 1 1 1 -1 -1 -1 -1 -1", "t.swf");
  ASSERT_TRUE(trace) << trace.error().message;
  const SwfRecord& r = trace->records.at(0);
  EXPECT_DOUBLE_EQ(r.run, 0.4);
  EXPECT_DOUBLE_EQ(r.avg_cpu, 12.5);
  EXPECT_DOUBLE_EQ(r.used_mem, 1000);
  EXPECT_EQ(r.wait, -1);
  EXPECT_EQ(r.req_mem, -1);
  EXPECT_EQ(r.think_time, -1);
}

// Tabs, CRLF endings, leading blanks and a last line without newline are all fine.
TEST(SwfParse, ToleratesTabsCrlfAndMissingFinalNewline) {
  auto trace = parse_swf(
      "; MaxProcs: 8\r\n"
      "\t1\t0 -1 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1  \r\n"
      "   ; indented comment\r\n"
      "2 0 -1 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1",
      "t.swf");
  ASSERT_TRUE(trace) << trace.error().message;
  ASSERT_EQ(trace->records.size(), 2u);
  EXPECT_EQ(trace->records[1].job_id, 2);
  EXPECT_EQ(trace->records[1].line, 4);
  EXPECT_EQ(trace->header.get_int("MaxProcs"), 8);
}

// An empty text, or one with comments only, is zero records, not an error.
TEST(SwfParse, EmptyTraceHasNoRecords) {
  for (std::string_view text : {"", "\n\n  \n", "; Version: 2\n;\n"}) {
    auto trace = parse_swf(text, "t.swf");
    ASSERT_TRUE(trace) << trace.error().message;
    EXPECT_TRUE(trace->records.empty());
  }
}

// Too few or too many fields: the message gives file:line and both counts.
TEST(SwfParse, WrongFieldCountIsAnError) {
  EXPECT_EQ(error_of("; x\n1 0 -1 100 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1\n"), "t.swf:2: expected 18 fields, found 17");
  EXPECT_EQ(error_of(std::string(kLine) + " 7\n"), "t.swf:1: expected 18 fields, found 19");
  EXPECT_EQ(error_of("garbage\n"), "t.swf:1: expected 18 fields, found 1");
}

// A non-number in any field: the message gives file:line, the field number and its standard name.
TEST(SwfParse, NonNumberNamesTheField) {
  EXPECT_EQ(error_of("\n1 0 -1 abc 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1\n"),
            "t.swf:2: field 4 (run time): \"abc\" is not a number");
  const char* names[] = {"job number", "submit time", "wait time", "run time", "allocated processors",
                         "average CPU time", "used memory", "requested processors", "requested time",
                         "requested memory", "status", "user id", "group id", "executable number",
                         "queue number", "partition number", "preceding job", "think time"};
  for (int f = 1; f <= kSwfFields; ++f) {
    std::string line;
    for (int g = 1; g <= kSwfFields; ++g) line += (g == f ? "1x" : "1") + std::string(" ");
    const std::string message = error_of(line);
    EXPECT_EQ(message, "t.swf:1: field " + std::to_string(f) + " (" + names[f - 1] + "): \"1x\" is not a number");
    EXPECT_EQ(swf_field_name(f), names[f - 1]);
  }
}

// Partial numbers, signs the format does not use, inf/nan, hex and out-of-range values are refused.
TEST(SwfParse, RefusesMalformedNumbers) {
  for (std::string_view bad : {"1e", "12.5.1", "+5", "inf", "nan", "0x10", "--1", "1,5", "1e999"}) {
    const std::string line = "1 0 -1 " + std::string(bad) + " 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1";
    EXPECT_THAT(error_of(line), HasSubstr("t.swf:1: field 4 (run time): \"" + std::string(bad) + "\" is "))
        << bad;
  }
}

// Unprintable bytes in a bad token are escaped and long tokens cut in the message.
TEST(SwfParse, ErrorMessagesEscapeOddBytes) {
  const std::string line = "1 0 -1 a\x01" + std::string(100, 'z') + " 4 -1 -1 4 200 -1 1 1 1 -1 -1 -1 -1 -1";
  const std::string message = error_of(line);
  EXPECT_THAT(message, HasSubstr("\"a\\x01zzz"));
  EXPECT_THAT(message, HasSubstr("...\" is not a number"));
  EXPECT_LT(message.size(), 120u);
}

// A gzip file and its plain twin read to the same trace; the magic number decides, not the name.
TEST(SwfRead, GzipAndPlainGiveTheSameTrace) {
  auto plain = read_swf(fixture("loaders.swf"));
  ASSERT_TRUE(plain) << plain.error().message;
  auto text = read_text_file(fixture("loaders.swf"));
  ASSERT_TRUE(text);
  const std::string gz_path = write_temp("loaders.swf.gz", gzip(*text));
  const std::string disguised = write_temp("loaders_gz.swf", gzip(*text));
  for (const std::string& path : {gz_path, disguised}) {
    auto packed = read_swf(path);
    ASSERT_TRUE(packed) << packed.error().message;
    EXPECT_EQ(packed->source, path);
    EXPECT_EQ(packed->header.fields, plain->header.fields);
    ASSERT_EQ(packed->records.size(), plain->records.size());
    for (size_t i = 0; i < plain->records.size(); ++i) {
      EXPECT_EQ(packed->records[i].line, plain->records[i].line);
      for (int f = 1; f <= kSwfFields; ++f) EXPECT_EQ(swf_field(packed->records[i], f), swf_field(plain->records[i], f));
    }
    std::filesystem::remove(path);
  }
}

// Two gzip members one after the other (as `cat a.gz b.gz` makes) decompress to both texts.
TEST(SwfRead, ConcatenatedGzipMembers) {
  const std::string a = "; MaxProcs: 8\n", b = std::string(kLine) + "\n";
  const std::string path = write_temp("two.swf.gz", gzip(a) + gzip(b));
  auto trace = read_swf(path);
  ASSERT_TRUE(trace) << trace.error().message;
  EXPECT_EQ(trace->header.get_int("MaxProcs"), 8);
  EXPECT_EQ(trace->records.size(), 1u);
  std::filesystem::remove(path);
}

// A truncated gzip file and a missing file give errors that name the path.
TEST(SwfRead, FileErrorsNameThePath) {
  const std::string packed = gzip(std::string(kLine) + "\n" + std::string(kLine) + "\n");
  const std::string path = write_temp("cut.swf.gz", packed.substr(0, packed.size() / 2));
  auto cut = read_swf(path);
  ASSERT_FALSE(cut);
  EXPECT_THAT(cut.error().message, HasSubstr(path + ": corrupt or truncated gzip data"));
  std::filesystem::remove(path);

  auto missing = read_swf("/nonexistent/dir/x.swf");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("/nonexistent/dir/x.swf: cannot open"));
}

// Parse errors from read_swf name the path given, with the line number in the file.
TEST(SwfRead, ParseErrorsNameThePath) {
  const std::string path = write_temp("bad.swf", "; MaxProcs: 8\n" + std::string(kLine) + "\n1 2 3\n");
  auto trace = read_swf(path);
  ASSERT_FALSE(trace);
  EXPECT_EQ(trace.error().message, path + ":3: expected 18 fields, found 3");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace gwang::trace
