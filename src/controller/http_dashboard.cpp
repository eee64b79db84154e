// What the web dashboard reads beside the rest of the API: the cluster as a map, a job's usage,
// fair-share standing; and the dashboard's own files, served at /.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "api/json_writer.h"
#include "controller/http_impl.h"

namespace gwang::controller {

using nlohmann::json;

namespace {

// How many whole free GPUs cannot serve a job of k GPUs on one node: on each usable node, its free
// devices that do not make up a multiple of k (all of them where fewer than k are free).
constexpr int kTypicalSizes[] = {1, 2, 4, 8};

const char* node_state(const NodeRecord& n) {
  if (n.state == "up") return "up";
  if (n.state == "drained") return "drained";
  if (n.state == "unknown") return "unknown";
  return "down";  // "down", "drained+down"
}

}  // namespace

void ApiServer::Impl::dashboard_routes() {
  route("GET", "/api/v1/cluster", "/api/v1/cluster", &Impl::show_cluster);
  route("GET", "/api/v1/jobs/{id}/usage", R"(/api/v1/jobs/(\d{1,18})/usage)", &Impl::job_usage);
  route("GET", "/api/v1/jobs/{id}/hints", R"(/api/v1/jobs/(\d{1,18})/hints)", &Impl::job_hints);
  route("GET", "/api/v1/fairshare", "/api/v1/fairshare", &Impl::show_fairshare);
}

// The whole cluster, small enough for 6,250 nodes: one row per node, devices as model indices and
// milli-devices in use; per model, devices by state and the free devices stranded for jobs of 2, 4
// and 8 GPUs.
void ApiServer::Impl::show_cluster(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  const std::vector<NodeRecord> nodes = controller.nodes();
  std::map<std::string, int> model_index;
  std::vector<std::string> models;
  struct PerModel {
    std::int64_t devices = 0, free = 0, shared = 0, busy = 0, unavailable = 0;
    double in_use = 0;  // devices' worth, shares counted by their part
    std::int64_t stranded[std::size(kTypicalSizes)] = {};
  };
  std::map<std::string, PerModel> per_model;
  api::Json w;
  w.reserve(nodes.size() * 96 + 1024);
  w.begin_object().key("nodes").begin_array();
  for (const NodeRecord& n : nodes) {
    const char* state = node_state(n);
    const bool usable = std::string_view(state) == "up";
    w.begin_array().value(n.name).value(state).value(n.cpus).value(n.cpus_used);
    w.value(n.memory_bytes).value(n.memory_used).begin_array();
    for (std::int64_t id : n.jobs) w.value(id);
    w.end_array().begin_array();
    std::map<std::string, std::int64_t> free_here;  // model -> whole devices free on this node
    for (std::size_t i = 0; i < n.devices.size(); ++i) {
      const std::string& model = n.devices[i].kind;
      auto [it, fresh] = model_index.try_emplace(model, static_cast<int>(models.size()));
      if (fresh) models.push_back(model);
      const int used = i < n.device_used.size() ? n.device_used[i] : 0;
      w.begin_array().value(it->second).value(used).end_array();
      PerModel& m = per_model[model];
      ++m.devices;
      m.in_use += used / 1000.0;
      const std::string_view state = device_state(usable, used);
      if (state == "unavailable") {
        ++m.unavailable;
      } else if (state == "free") {
        ++m.free;
        ++free_here[model];
      } else if (state == "busy") {
        ++m.busy;
      } else {
        ++m.shared;
      }
    }
    for (const auto& [model, free] : free_here) {
      PerModel& m = per_model[model];
      for (std::size_t k = 0; k < std::size(kTypicalSizes); ++k) m.stranded[k] += free % kTypicalSizes[k];
    }
    w.end_array().end_array();
  }
  w.end_array();
  w.key("columns").begin_array();
  for (const char* c : {"name", "state", "cpus", "cpus_used", "memory", "memory_used", "jobs", "devices"}) w.value(c);
  w.end_array();
  w.key("models").strings(models);
  w.key("by_model").begin_array();
  for (const auto& [model, m] : per_model) {
    w.begin_object().field("model", model).field("devices", m.devices).field("free", m.free);
    w.field("shared", m.shared).field("busy", m.busy).field("unavailable", m.unavailable);
    w.field("in_use", m.in_use);
    w.key("stranded").begin_object();
    for (std::size_t k = 1; k < std::size(kTypicalSizes); ++k) {
      w.field(std::to_string(kTypicalSizes[k]), m.stranded[k]);
    }
    w.end_object().end_object();
  }
  w.end_array().field("time", wall_now()).end_object();
  res.status = 200;
  res.set_content(w.str(), "application/json");
}

// What a job was charged, record by record, and in total by accelerator model.
void ApiServer::Impl::job_usage(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto job = visible_job(req, res, *who);
  if (!job) return;
  json records = json::array();
  std::map<std::string, double> accel;  // model -> accelerator-hours
  double cpu = 0, charge = 0;
  controller.read_books([&](const Accounting& books) {
    for (const core::Usage& u : books.ledger()) {
      if (u.job.value != job->id) continue;
      records.push_back({{"time", u.time},
                         {"from", u.from >= 0 ? json(u.from) : json(nullptr)},
                         {"task", u.task},
                         {"model", u.model},
                         {"accelerator_hours", u.accelerator_seconds / 3600},
                         {"cpu_hours", u.cpu_seconds / 3600},
                         {"memory_gib_hours", u.memory_gib_seconds / 3600},
                         {"charge", u.charge},
                         {"grant", u.grant ? json(u.grant->value) : json(nullptr)}});
      if (!u.model.empty()) accel[u.model] += u.accelerator_seconds / 3600;
      cpu += u.cpu_seconds / 3600;
      charge += u.charge;
    }
  });
  reply(res, 200,
        json{{"job", job->id},
             {"records", records},
             {"total", {{"accelerator_hours", accel}, {"cpu_hours", cpu}, {"charge", charge}}}});
}

// What would let a waiting job start sooner.
void ApiServer::Impl::job_hints(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  auto job = visible_job(req, res, *who);
  if (!job) return;
  const Controller::StartHints h = controller.start_hints(job->id, wall_now());
  json hints = json::array();
  for (const Controller::StartHint& x : h.hints) {
    json one{{"change", x.change}, {"value", x.value}, {"start", x.start}, {"text", x.text}};
    if (!x.model.empty()) one["model"] = x.model;
    hints.push_back(std::move(one));
  }
  reply(res, 200,
        json{{"job", job->id},
             {"waiting", h.waiting},
             {"start_as_asked", h.start >= 0 ? json(h.start) : json(nullptr)},
             {"hints", hints}});
}

// Fair-share standing: every institution, project and user account the caller may see, with its
// decayed usage, shares and factor.
void ApiServer::Impl::show_fairshare(const httplib::Request& req, httplib::Response& res) {
  auto who = authenticate(req, res);
  if (!who) return;
  std::set<std::string> institutions;  // of the projects the caller sees
  controller.read_books([&](const Accounting& books) {
    for (const auto& [name, p] : books.tenancy().projects()) {
      if (who->sees_project(name)) institutions.insert(p.institution);
    }
  });
  json out = json::array();
  for (const Controller::FairShareRow& r : controller.fair_share(wall_now())) {
    const bool visible = who->is_operator || (r.path.size() == 1 && institutions.contains(r.path[0])) ||
                         (r.path.size() >= 2 && who->sees_project(r.path[1])) ||
                         (r.path.size() == 3 && r.path[2] == who->user);
    if (!visible) continue;
    out.push_back({{"path", r.path},
                   {"level", r.path.size() == 1   ? "institution"
                             : r.path.size() == 2 ? "project"
                                                  : "user"},
                   {"usage", r.terms.usage},
                   {"normalized_usage", r.terms.normalized_usage},
                   {"effective_usage", r.terms.effective_usage},
                   {"normalized_shares", r.terms.normalized_shares},
                   {"factor", r.factor}});
  }
  reply(res, 200, json{{"accounts", out}});
}


void ApiServer::serve_dashboard(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!dir.empty() && fs::is_regular_file(fs::path(dir) / "index.html", ec)) {
    impl_->web_dir = dir;
    return;
  }
  impl_->web_dir.clear();
  impl_->missing_web = dir.empty() ? "no dashboard directory was found" : "'" + dir + "' holds no index.html";
}

namespace {

std::string content_type(const std::string& extension) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "application/javascript"}, {".mjs", "application/javascript"},
      {".css", "text/css"},                  {".json", "application/json"},     {".map", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},             {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},              {".woff", "font/woff"},            {".txt", "text/plain; charset=utf-8"}};
  auto it = kTypes.find(extension);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace

bool ApiServer::Impl::serve_file(const httplib::Request& req, httplib::Response& res) {
  namespace fs = std::filesystem;
  if (web_dir.empty()) {
    if (req.path != "/") return false;
    res.status = 200;
    res.set_content(
        "<!doctype html><meta charset=utf-8><title>gwang</title><h1>gwang</h1><p>The API is at "
        "<code>/api/v1/</code> (docs/api/openapi.yaml). The dashboard is not installed: " +
            missing_web + " (build it with <code>scripts/build</code>, which needs Node.js and npm).</p>",
        "text/html; charset=utf-8");
    return true;
  }
  if (req.path.empty() || req.path[0] != '/') return false;
  fs::path file(web_dir);
  for (std::size_t at = 1; at <= req.path.size();) {  // each segment; none may leave the directory
    std::size_t slash = req.path.find('/', at);
    if (slash == std::string::npos) slash = req.path.size();
    const std::string segment = req.path.substr(at, slash - at);
    if (segment == ".." || segment.find('\0') != std::string::npos) return false;
    if (!segment.empty() && segment != ".") file /= segment;
    at = slash + 1;
  }
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= "index.html";
  std::ifstream in(file, std::ios::binary);
  if (!in || !fs::is_regular_file(file, ec)) return false;
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  res.status = 200;
  res.set_content(std::move(body), content_type(file.extension().string()));
  // Built assets carry a content hash in their names: they never change under one name.
  res.set_header("Cache-Control", req.path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  return true;
}

}  // namespace gwang::controller
