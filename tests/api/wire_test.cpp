// The API's wire types (src/api/job_view.h, node_view.h, reason.h) against each other and against
// what else describes them: what is written reads back the same; what is written is what
// docs/api/openapi.yaml's schemas say, field by field, type by type, required or not; the reader
// refuses exactly what the schema requires, naming the field; and the dashboard's TypeScript types
// (web/src/api.ts) name only the schema's fields, with its types and optionality.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "api/job_view.h"
#include "api/node_view.h"
#include "api/reason.h"

namespace gwang::api {
namespace {

using nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(std::string(GWANG_TEST_DIR) + "/../../" + path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- openapi.yaml's schemas, read as the file writes them: a schema's name at four spaces, its
// `required: [...]` at six, each property on one line at eight ("name: {type: T, ...}").

struct Property {
  std::string type;  // integer, number, string, boolean, array, object
  bool nullable = false;
  std::vector<std::string> values;  // its enum, where it has one
};
struct Schema {
  std::map<std::string, Property> properties;
  std::set<std::string> required;
};

std::vector<std::string> list_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::map<std::string, Schema> schemas() {
  std::stringstream in(read_file("docs/api/openapi.yaml"));
  std::map<std::string, Schema> out;
  const std::regex name_re(R"(^    ([A-Za-z]+):\s*$)");
  const std::regex required_re(R"(^      required: \[([^\]]*)\])");
  const std::regex property_re(R"(^        ([a-z_]+): \{(.*)\}\s*$)");
  const std::regex type_re(R"(^type: ([a-z]+))");
  const std::regex enum_re(R"(enum: \[([^\]]*)\])");
  bool in_schemas = false;
  Schema* current = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (line == "  schemas:") in_schemas = true;
    if (!in_schemas) continue;
    std::smatch m;
    if (std::regex_match(line, m, name_re)) {
      current = &out[m[1]];
    } else if (current && std::regex_search(line, m, required_re)) {
      for (const std::string& r : list_of(m[1])) current->required.insert(r);
    } else if (current && std::regex_match(line, m, property_re)) {
      Property p;
      const std::string flow = m[2];
      std::smatch t;
      if (std::regex_search(flow, t, type_re)) p.type = t[1];
      p.nullable = flow.find("nullable: true") != std::string::npos;
      if (flow.find("items:") == std::string::npos && std::regex_search(flow, t, enum_re)) p.values = list_of(t[1]);
      current->properties[m[1]] = p;
    }
  }
  return out;
}

bool of_type(const json& v, const Property& p) {
  if (v.is_null()) return p.nullable;
  if (p.type == "integer") return v.is_number_integer();
  if (p.type == "number") return v.is_number();
  if (p.type == "string") return v.is_string();
  if (p.type == "boolean") return v.is_boolean();
  if (p.type == "array") return v.is_array();
  if (p.type == "object") return v.is_object();
  return false;
}

// Every key written is the schema's, of its type (and in its enum); with `all`, every property of
// the schema is written.
void expect_schema(const json& written, const Schema& schema, bool all, const std::string& what) {
  ASSERT_FALSE(schema.properties.empty()) << what << ": no schema";
  for (const auto& [key, value] : written.items()) {
    const auto p = schema.properties.find(key);
    if (p == schema.properties.end()) {
      ADD_FAILURE() << what << "." << key << " is written but not in the schema";
      continue;
    }
    EXPECT_TRUE(of_type(value, p->second))
        << what << "." << key << " is written as " << value.dump() << ", the schema says " << p->second.type;
    if (!p->second.values.empty() && value.is_string()) {
      const auto& vs = p->second.values;
      EXPECT_NE(std::find(vs.begin(), vs.end(), value.get<std::string>()), vs.end())
          << what << "." << key << ": " << value << " is not in the schema's enum";
    }
  }
  for (const std::string& r : schema.required) EXPECT_TRUE(written.contains(r)) << what << "." << r << " is required";
  if (all) {
    for (const auto& [key, p] : schema.properties) EXPECT_TRUE(written.contains(key)) << what << "." << key;
  }
}

// --- values with every field set, and with none

StepView full_step(bool tasks) {
  StepView s;
  s.id = 3;
  s.name = "train";
  s.state = JobState::Running;
  s.exit_code = 0;
  s.signal = 0;
  s.start_time = 1'700'000'100;
  s.end_time = -1;
  s.ntasks = 2;
  s.cpus_per_task = 4;
  s.nodes = {"n1", "n2"};
  s.command = {"python", "train.py", "--epochs=3"};
  s.stopping = "cancelled by alice";
  if (tasks) s.tasks = std::vector<StepTaskView>{{"n1", JobState::Running, 0, 0}, {"n2", JobState::Failed, 3, 0}};
  return s;
}

JobSummary full_summary() {
  JobSummary j;
  j.id = 42;
  j.name = "résumé \"quoted\"\n";
  j.user = "alice";
  j.state = JobState::Pending;
  j.reason_code = ReasonCode::JobHeldUser;
  j.reason = "JobHeldUser: held by its owner";
  j.submit_time = 1'700'000'000;
  j.start_time = -1;
  j.end_time = -1;
  j.node = "";
  j.project = "kaist-nlp";
  j.estimated_start = 1'700'003'600;
  return j;
}

JobView full_job() {
  JobView j;
  static_cast<JobSummary&>(j) = full_summary();
  j.command = {"bash", "-c", "echo hi"};
  j.workdir = "/home/alice";
  j.cpus = 8;
  j.mem = 16LL << 30;
  j.nodes = 2;
  j.time_limit = 7200;
  j.exit_code = 0;
  j.attempt = 1;
  j.requeue = false;
  j.preemptible = true;
  j.devices = {"GPU-1", "GPU-2"};
  j.gpus = 2;
  j.gpu_models = {"H100", "A100"};
  j.gpu_share = 0.25;
  j.begin = 1'700'000'500;
  j.dependency = "afterok:41";
  j.batch = true;
  j.allocation = "attended";
  j.session = "jupyter";
  j.output = "slurm-%j.out";
  j.error = "err-%j";
  j.input = "in.txt";
  j.open_append = true;
  j.comment = "a comment";
  j.group = "daemon";
  j.licenses = "matlab:2";
  j.partition = "gpu";
  j.hold = Hold::User;
  j.qos = "startup";
  j.array = "0-3%2";
  j.array_job_id = 40;
  j.array_task_id = 2;
  j.steps = {full_step(false)};
  j.priority = PriorityView{1234, 100.5, 800.25, 33.0, 300.0};
  return j;
}

NodeView full_node() {
  NodeView n;
  n.name = "gpu01";
  n.state = "drained";
  n.cpus = 64;
  n.cpus_used = 16;
  n.memory = 512LL << 30;
  n.memory_used = 64LL << 30;
  n.devices = {{"gpu", "NVIDIA H100 80GB HBM3", "GPU-abc", 0, 80LL << 30, false},
               {"npu", "ascend910", "npu-0", 0, 0, true}};
  n.jobs = {41, 42};
  n.tracking = "cgroup";
  n.address = "10.0.0.1";
  n.partitions = {"gpu", "all"};
  n.local = false;
  n.last_seen = 1'700'000'000;
  return n;
}

template <class T, class Write>
json written(const T& value, Write write) {
  Json w;
  write(w, value);
  return json::parse(w.str());
}

TEST(WireTypes, EveryTypeReadsBackAsWritten) {
  const JobView job = full_job();
  auto back = read_job_view(written(job, write_job_view));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, job);

  const JobView bare;  // nothing optional set, times null
  back = read_job_view(written(bare, write_job_view));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, bare);

  const JobSummary summary = full_summary();
  auto s = read_job_summary(written(summary, write_job_summary));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s, summary);

  const StepView step = full_step(true);
  auto st = read_step_view(written(step, write_step_view));
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(*st, step);

  const NodeView node = full_node();
  auto n = read_node_view(written(node, write_node_view));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, node);

  auto list = read_job_views(json::array({written(job, write_job_view), written(bare, write_job_view)}));
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1], bare);
}

TEST(WireTypes, WhatIsWrittenIsWhatTheSchemaSays) {
  const auto doc = schemas();
  expect_schema(written(full_job(), write_job_view), doc.at("Job"), true, "Job");
  expect_schema(written(JobView{}, write_job_view), doc.at("Job"), false, "Job");
  // A job with nothing optional set writes the schema's required fields and no others.
  const json bare = written(JobView{}, write_job_view);
  std::set<std::string> keys;
  for (const auto& [k, v] : bare.items()) keys.insert(k);
  EXPECT_EQ(keys, doc.at("Job").required);

  expect_schema(written(full_summary(), write_job_summary), doc.at("JobSummary"), true, "JobSummary");
  expect_schema(written(full_step(true), write_step_view), doc.at("Step"), true, "Step");
  expect_schema(written(full_node(), write_node_view), doc.at("Node"), true, "Node");
  // The schema's job states are the states; its reason codes are the codes.
  std::vector<std::string> states, codes;
  for (JobState s : kJobStates) states.emplace_back(to_string(s));
  for (int c = 0; c <= static_cast<int>(ReasonCode::JobArrayTaskLimit); ++c) {
    codes.emplace_back(to_string(static_cast<ReasonCode>(c)));
  }
  EXPECT_EQ(doc.at("JobSummary").properties.at("state").values, states);
  EXPECT_EQ(doc.at("JobSummary").properties.at("reason_code").values, codes);
  EXPECT_EQ(doc.at("Job").properties.at("reason_code").values, codes);
}

// Each field written, taken away, is refused exactly when the schema requires it, with its name.
template <class Read>
void expect_required(json full, const Schema& schema, Read read, const std::string& what) {
  for (const auto& [key, value] : full.items()) {
    json less = full;
    less.erase(key);
    const auto r = read(less);
    if (schema.required.contains(key)) {
      ASSERT_FALSE(r) << what << "." << key << " is required but its absence was accepted";
      EXPECT_EQ(r.error().message, what + "." + key + ": missing");
    } else {
      EXPECT_TRUE(r) << what << "." << key << " is optional but: " << r.error().message;
    }
  }
}

TEST(WireTypes, TheReadersRequireWhatTheSchemaRequires) {
  const auto doc = schemas();
  expect_required(
      written(full_job(), write_job_view), doc.at("Job"), [](const json& j) { return read_job_view(j); }, "job");
  expect_required(
      written(full_summary(), write_job_summary), doc.at("JobSummary"),
      [](const json& j) { return read_job_summary(j); }, "job");
  expect_required(
      written(full_step(true), write_step_view), doc.at("Step"), [](const json& j) { return read_step_view(j); },
      "step");
  expect_required(
      written(full_node(), write_node_view), doc.at("Node"), [](const json& j) { return read_node_view(j); }, "node");
}

TEST(WireTypes, AFieldOfTheWrongKindIsRefusedByName) {
  const json full = written(full_job(), write_job_view);
  for (const auto& [key, value] : full.items()) {
    json bad = full;
    bad[key] = value.is_boolean() ? json("yes") : json(true);
    const auto r = read_job_view(bad);
    ASSERT_FALSE(r) << key << " accepted " << bad[key];
    EXPECT_EQ(r.error().message.rfind("job." + key + ":", 0), 0u) << r.error().message;
  }
  json bad = full;
  bad["state"] = "DONE";
  EXPECT_EQ(read_job_view(bad).error().message, "job.state: unknown value 'DONE'");
  bad = full;
  bad["reason_code"] = "Waiting";
  EXPECT_EQ(read_job_view(bad).error().message, "job.reason_code: unknown value 'Waiting'");
  bad = full;
  bad["steps"][0]["start_time"] = "soon";
  EXPECT_EQ(read_job_view(bad).error().message, "job.steps[0].start_time: expected an integer or null");
  bad = full;
  bad["cpus"] = 1LL << 40;
  EXPECT_EQ(read_job_view(bad).error().message, "job.cpus: expected a 32-bit integer");
  EXPECT_EQ(read_job_views(json::array({full, 7})).error().message, "jobs[1]: expected an object");
  json node = written(full_node(), write_node_view);
  node["devices"][1]["index"] = "0";
  EXPECT_EQ(read_node_view(node).error().message, "node.devices[1].index: expected an integer");
}

TEST(WireTypes, ReasonCodesAndSlurmsNames) {
  for (int c = 0; c <= static_cast<int>(ReasonCode::JobArrayTaskLimit); ++c) {
    const auto code = static_cast<ReasonCode>(c);
    EXPECT_EQ(parse_reason_code(to_string(code)), code);
  }
  EXPECT_FALSE(parse_reason_code("priority"));
  // Where gwang's reason has no Slurm name, squeue shows Slurm's nearest (slurm.conf's reasons).
  EXPECT_EQ(slurm_reason(ReasonCode::Priority), "Priority");
  EXPECT_EQ(slurm_reason(ReasonCode::JobHeldAdmin), "JobHeldAdmin");
  EXPECT_EQ(slurm_reason(ReasonCode::Gang), "Resources");
  EXPECT_EQ(slurm_reason(ReasonCode::ReservedForJob), "Priority");
  EXPECT_EQ(slurm_reason(ReasonCode::NodesUnavailable), "ReqNodeNotAvail");
  EXPECT_EQ(slurm_reason(ReasonCode::QuotaReached), "AssocGrpGRES");
  EXPECT_EQ(slurm_reason(ReasonCode::Held), "AssocGrpBillingMinutes");
}

// --- the dashboard's types: `export interface NAME [extends BASE] { field[?]: type; }`

struct TsField {
  std::string type;
  bool optional = false;
};

std::map<std::string, TsField> ts_interface(const std::string& source, const std::string& name) {
  std::map<std::string, TsField> out;
  const std::regex head_re("export interface " + name + R"((?: extends ([A-Za-z]+))? \{)");
  std::smatch m;
  EXPECT_TRUE(std::regex_search(source, m, head_re)) << name << " is not in web/src/api.ts";
  if (m.empty()) return out;
  if (m[1].matched) out = ts_interface(source, m[1]);
  std::stringstream body(source.substr(static_cast<std::size_t>(m.position(0) + m.length(0))));
  const std::regex field_re(R"(^  ([a-z_]+)(\??): (.*);\s*$)");
  for (std::string line; std::getline(body, line) && line != "}";) {
    std::smatch f;
    if (std::regex_match(line, f, field_re)) out[f[1]] = {f[3], f[2] == "?"};
  }
  return out;
}

std::vector<std::string> ts_union(const std::string& source, const std::string& name) {
  const auto at = source.find("export type " + name + " =");
  EXPECT_NE(at, std::string::npos) << name;
  std::vector<std::string> out;
  const std::string body = source.substr(at, source.find(';', at) - at);
  const std::regex literal_re(R"re("([A-Za-z]+)")re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), literal_re); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// A TypeScript type that holds what the schema's property holds.
bool ts_matches(std::string ts, const Property& p) {
  const bool null = ts.ends_with(" | null");
  if (null) ts.resize(ts.size() - 7);
  if (null != p.nullable) return false;
  if (p.type == "integer" || p.type == "number") return ts == "number";
  if (p.type == "boolean") return ts == "boolean";
  if (p.type == "string")
    return ts == "string" || (!p.values.empty() && std::isupper(static_cast<unsigned char>(ts[0])));
  if (p.type == "array") return ts.ends_with("[]");
  if (p.type == "object") return ts.starts_with("{");
  return false;
}

TEST(WireTypes, TheDashboardsTypesAreTheSchemas) {
  const std::string source = read_file("web/src/api.ts");
  const auto doc = schemas();
  for (const auto& [ts_name, schema_name] :
       std::map<std::string, std::string>{{"JobSummary", "JobSummary"}, {"Job", "Job"}}) {
    const Schema& schema = doc.at(schema_name);
    const auto fields = ts_interface(source, ts_name);
    EXPECT_FALSE(fields.empty()) << ts_name;
    for (const auto& [field, f] : fields) {
      const auto p = schema.properties.find(field);
      if (p == schema.properties.end()) {
        ADD_FAILURE() << ts_name << "." << field << " is not in the schema " << schema_name;
        continue;
      }
      EXPECT_TRUE(ts_matches(f.type, p->second)) << ts_name << "." << field << ": " << f.type << " vs "
                                                 << p->second.type << (p->second.nullable ? " (nullable)" : "");
      EXPECT_EQ(f.optional, !schema.required.contains(field))
          << ts_name << "." << field << (f.optional ? " is optional but required" : " is required but optional");
    }
  }
  std::vector<std::string> codes;
  for (int c = 0; c <= static_cast<int>(ReasonCode::JobArrayTaskLimit); ++c) {
    codes.emplace_back(to_string(static_cast<ReasonCode>(c)));
  }
  EXPECT_EQ(ts_union(source, "ReasonCode"), codes);
}

}  // namespace
}  // namespace gwang::api
