// Nodes as the API writes and reads them.

#include "api/node_view.h"

#include "api/wire_read.h"

namespace gwang::api {

using nlohmann::json;

// In the order of the keys' names, as the API has always written them.
void write_node_view(Json& w, const NodeView& n) {
  w.begin_object().field("address", n.address).field("cpus", n.cpus).field("cpus_used", n.cpus_used);
  w.key("features").strings(n.features);
  w.key("devices").begin_array();
  for (const DeviceView& d : n.devices) {
    w.begin_object().field("declared", d.declared).field("index", d.index).field("kind", d.kind);
    w.field("memory", d.memory).field("name", d.name).field("uuid", d.uuid).end_object();
  }
  w.end_array();
  w.key("jobs").begin_array();
  for (std::int64_t id : n.jobs) w.value(id);
  w.end_array();
  w.key("last_seen");
  n.last_seen >= 0 ? w.value(n.last_seen) : w.null();
  w.field("local", n.local).field("memory", n.memory).field("memory_used", n.memory_used);
  w.field("name", n.name).key("partitions").strings(n.partitions);
  w.field("state", n.state).field("tmp", n.tmp).field("tracking", n.tracking);
  w.end_object();
}

Result<NodeView> read_node_view(const json& j, const std::string& where) {
  NodeView n;
  wire::Fields f(j, where);
  f.need("name", n.name).need("state", n.state).need("cpus", n.cpus).need("cpus_used", n.cpus_used);
  f.need("memory", n.memory).need("memory_used", n.memory_used).need("jobs", n.jobs);
  f.need("tracking", n.tracking).need("address", n.address).need("partitions", n.partitions);
  f.need("local", n.local).time("last_seen", n.last_seen);
  // Later fields: a controller of an earlier version has none.
  if (j.contains("features")) f.need("features", n.features);
  if (j.contains("tmp")) f.need("tmp", n.tmp);
  if (f.ok() && !j.contains("devices")) f.fail(where + ".devices: missing");
  if (f.ok() && !j["devices"].is_array()) f.fail(where + ".devices: expected an array");
  for (std::size_t i = 0; f.ok() && i < j["devices"].size(); ++i) {
    DeviceView d;
    wire::Fields df(j["devices"][i], where + ".devices[" + std::to_string(i) + "]");
    df.need("kind", d.kind).need("name", d.name).need("uuid", d.uuid).need("index", d.index);
    df.need("memory", d.memory).need("declared", d.declared);
    if (df.ok()) n.devices.push_back(std::move(d));
    f.fail_with(df);
  }
  return f.result(std::move(n));
}

Result<std::vector<NodeView>> read_node_views(const json& list, const std::string& where) {
  if (!list.is_array()) return fail(where + ": expected an array");
  std::vector<NodeView> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto v = read_node_view(list[i], where + "[" + std::to_string(i) + "]");
    if (!v) return tl::unexpected(v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace gwang::api
