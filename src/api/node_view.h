// A node as the API shows it (GET /api/v1/nodes, /nodes/NAME, drain and resume): one type, written
// by the controller and read by `gwang nodes`, sinfo and scontrol. docs/api/openapi.yaml's Node
// schema describes the same fields.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "api/json_writer.h"
#include "core/result.h"

namespace gwang::api {

struct DeviceView {
  std::string kind, name, uuid;
  int index = 0;            // the vendor's index on its node
  std::int64_t memory = 0;  // bytes
  bool declared = false;    // named in the agent's configuration, not discovered
  bool operator==(const DeviceView&) const = default;
};

struct NodeView {
  std::string name;
  std::string state;  // "up", "drained", "down" (its agent went silent), "drained+down"
  int cpus = 0, cpus_used = 0;
  std::int64_t memory = 0, memory_used = 0;  // bytes
  std::vector<DeviceView> devices;
  std::vector<std::int64_t> jobs;  // running there
  std::string tracking;            // how its agent tracks tasks
  std::string address;
  std::vector<std::string> partitions;
  bool local = false;                 // run by the controller's own process
  std::int64_t last_seen = -1;        // its agent's last call (Unix seconds); -1: never (null)
  std::vector<std::string> features;  // what jobs may ask of it besides resources (--constraint)
  std::int64_t tmp = 0;               // bytes of its temporary file system (--tmp)
  bool operator==(const NodeView&) const = default;
};

void write_node_view(Json& w, const NodeView& node);
Result<NodeView> read_node_view(const nlohmann::json& j, const std::string& where = "node");
// The "nodes" array of a node list.
Result<std::vector<NodeView>> read_node_views(const nlohmann::json& list, const std::string& where = "nodes");

}  // namespace gwang::api
