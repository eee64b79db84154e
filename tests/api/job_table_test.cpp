// The job table reader of `gwang queue`, checked against a general JSON parser.
#include "api/job_table.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "api/json_writer.h"

namespace gwang::api {
namespace {

using nlohmann::json;

// The table as the controller writes it, with the controller's own writer.
std::string table_text(const std::vector<std::string>& strings, const std::vector<JobTable::Row>& rows) {
  Json w;
  w.begin_object().key("strings").begin_array();
  for (const std::string& s : strings) w.value(s);
  w.end_array().key("rows").begin_array();
  for (const JobTable::Row& r : rows) {
    w.begin_array().value(r.id).value(r.name).value(r.user).value(r.state).value(r.reason);
    r.start >= 0 ? w.value(r.start) : w.null();
    r.end >= 0 ? w.value(r.end) : w.null();
    w.value(r.node).end_array();
  }
  w.end_array().end_object();
  return w.str();
}

TEST(JobTable, ReadsWhatTheControllerWrites) {
  const std::vector<std::string> strings = {"train \"big\"", "kim", "PENDING", "Priority: jobs ahead of it go first",
                                            "tab\there", "한국어 작업", "emoji \xF0\x9F\x98\x80", "back\\slash\n"};
  std::vector<JobTable::Row> rows;
  std::mt19937 rng(7);
  for (int i = 1; i <= 500; ++i) {
    JobTable::Row r;
    r.id = i * 1000003LL;
    r.name = rng() % strings.size();
    r.user = rng() % strings.size();
    r.state = rng() % strings.size();
    r.reason = rng() % strings.size();
    r.start = rng() % 3 == 0 ? -1 : 1700000000 + i;
    r.end = r.start < 0 || rng() % 2 ? -1 : r.start + 60;
    r.node = i % 4 == 0 ? "" : "gpu[" + std::to_string(i) + "-" + std::to_string(i + 1) + "]";
    rows.push_back(r);
  }
  const std::string text = table_text(strings, rows);
  auto t = read_job_table(text);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->strings, strings);
  ASSERT_EQ(t->rows.size(), rows.size());
  // A general parser reads the same values.
  const json doc = json::parse(text);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const JobTable::Row& r = t->rows[i];
    const json& d = doc["rows"][i];
    EXPECT_EQ(r.id, d[0].get<std::int64_t>());
    EXPECT_EQ(t->text(r.name), doc["strings"][d[1].get<std::size_t>()].get<std::string>());
    EXPECT_EQ(r.user, d[2].get<std::int64_t>());
    EXPECT_EQ(r.state, d[3].get<std::int64_t>());
    EXPECT_EQ(r.reason, d[4].get<std::int64_t>());
    EXPECT_EQ(r.start, d[5].is_null() ? -1 : d[5].get<std::int64_t>());
    EXPECT_EQ(r.end, d[6].is_null() ? -1 : d[6].get<std::int64_t>());
    EXPECT_EQ(r.node, d[7].get<std::string>());
  }
}

TEST(JobTable, EscapesAndSpacingAsJsonAllows) {
  const std::string text =
      " {\n \"extra\": {\"a\": [1, 2.5e3, true, null, {\"b\": \"c\"}]},\n \"strings\" : [ \"\\u00e9\\ud83d\\ude00\\/\" ] ,"
      " \"rows\" : [ [ 1 , 0 , 0 , 0 , 0 , null , null , \"\" ] ] } ";
  auto t = read_job_table(text);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->strings.size(), 1u);
  EXPECT_EQ(t->strings[0], "\xC3\xA9\xF0\x9F\x98\x80/");
  EXPECT_EQ(t->strings[0], json::parse(text)["strings"][0].get<std::string>());
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(t->rows[0].start, -1);
  EXPECT_EQ(t->text(7), "?");  // no such string
}

TEST(JobTable, EmptyTable) {
  auto t = read_job_table(R"({"strings":[],"rows":[]})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->rows.empty());
}

// Whatever is wrong is named with where it is.
TEST(JobTable, MalformedInputSaysWhereAndWhat) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"", "job table: byte 0: expected '{'"},
      {R"({"rows":[[1,0,0,0,0,null,null,""]])", "job table: byte 34: expected ',' or '}'"},
      {R"({"rows":[[1,0,0,0,0,null,null]]})", "job table: byte 29: expected ','"},
      {R"({"rows":[[1,0,0,0,0,null,null,"",5]]})", "job table: byte 32: expected ']'"},
      {R"({"rows":[[1.5,0,0,0,0,null,null,""]]})", "job table: byte 11: expected ','"},
      {R"({"rows":[[null,0,0,0,0,null,null,""]]})", "job table: byte 10: expected an integer"},
      {R"({"rows":[[1,0,0,0,0,"x",null,""]]})", "job table: byte 20: expected an integer or null"},
      {R"({"strings":["a\q"]})", "job table: byte 15: expected an escape"},
      {R"({"strings":["\udc00"]})", "job table: byte 19: expected a high surrogate first"},
      {R"({"strings":["open)", "job table: byte 17: expected the end of a string"},
      {"{\"strings\":[\"a\rb\"]}", "job table: byte 14: expected no control character in a string"},
      {"{\"strings\":[\"\xC3\x28\"]}", "job table: byte 13: expected UTF-8"},
      {"{\"st\xFA\xFF\xFFows\":[]}", "job table: byte 4: expected UTF-8"},
      {"{\"strings\":[\"\xED\xA0\x80\"]}", "job table: byte 13: expected UTF-8"},
      {R"({"strings":[]} x)", "job table: byte 15: expected the end"},
      {R"({"rows":[[01,0,0,0,0,null,null,""]]})", "job table: byte 10: expected an integer"},
      {R"({"rows":[[1e3,0,0,0,0,null,null,""]]})", "job table: byte 11: expected ','"},
      {R"({"x":.5,"rows":[]})", "job table: byte 5: expected a value"},
      {R"({"rows":[[1,0,0,0,0,null,-5,""]]})", "job table: byte 25: expected a time (0 or more) or null"},
      {R"({"rows":[[1,0,-1,0,0,null,null,""]]})", "job table: byte 14: expected an index (0 or more)"},
      {R"({"x":1.,"rows":[]})", "job table: byte 5: expected a value"},
      {R"({"x":nan,"rows":[]})", "job table: byte 5: expected a value"},
      {R"({"rows":[[1,0,0,0,0,null,null,""] [2]]})", "job table: byte 34: expected ',' or ']'"},
  };
  for (const Case& c : cases) {
    auto t = read_job_table(c.text);
    ASSERT_FALSE(t) << c.text;
    EXPECT_EQ(t.error().message, c.error) << c.text;
  }
}

}  // namespace
}  // namespace gwang::api
