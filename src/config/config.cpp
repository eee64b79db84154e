#include "config/config.h"

// toml++ 3.3's internal assertions, off as in gwang's release build (NDEBUG) in every build: the
// fuzz build (which keeps assert()) must run the parser exactly as gwang ships it. One of them is
// wrong: a table header that starts with a character no key starts with ("[+") trips it before the
// parser's own check, which then reports the error with its line and column.
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "api/units.h"
#include "api/urls.h"
#include "core/cpus.h"
#include "slurm/hostlist.h"

namespace gwang::config {

namespace {

// toml++ 3.3 reaches __builtin_unreachable (undefined behaviour) when it asks whether a character
// of U+00A1..U+0499, U+2C5E..U+2FFF, U+3001..U+3057 or U+FB26..U+FEFE is whitespace (Latin-1 to
// Cyrillic, CJK radicals, CJK punctuation and hiragana, presentation forms), which it does for such
// a character in many places, valid or not. So before it reads a file, each of those is moved to
// the private-use plane (U+F0000 on), where the answer is right (not whitespace), and moved back in
// every string gwang takes from it and in its error messages. A file that holds characters of
// U+F0000..U+F0FFF itself is refused: the move must be undone exactly.
struct Moved {
  char32_t first, last, to;
};
constexpr Moved kMovedRanges[] = {{0xA1, 0x499, 0xF0000},
                                  {0x2C5E, 0x2FFF, 0xF0000 + 1017},
                                  {0x3001, 0x3057, 0xF0000 + 1017 + 930},
                                  {0xFB26, 0xFEFE, 0xF0000 + 1017 + 930 + 87}};
constexpr char32_t kMovedFirst = 0xF0000, kMovedEnd = 0xF1000;

void put_utf8(std::string& out, char32_t c) {
  if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  }
  out += static_cast<char>(0x80 | (c & 0x3F));
}

// The well-formed character at t[i] and its length in bytes; length 0 for ASCII, malformed UTF-8,
// and the forms these ranges never take (leads E0, ED and F0-F2, F4).
std::pair<char32_t, std::size_t> char_at(std::string_view t, std::size_t i) {
  auto cont = [&](std::size_t k) { return k < t.size() && (static_cast<unsigned char>(t[k]) & 0xC0) == 0x80; };
  const auto b = static_cast<unsigned char>(t[i]);
  if (b >= 0xC2 && b <= 0xDF && cont(i + 1)) return {(static_cast<char32_t>(b & 0x1F) << 6) | (t[i + 1] & 0x3F), 2};
  if (((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) && cont(i + 1) && cont(i + 2)) {
    return {(static_cast<char32_t>(b & 0x0F) << 12) | (static_cast<char32_t>(t[i + 1] & 0x3F) << 6) | (t[i + 2] & 0x3F),
            3};
  }
  if (b == 0xF3 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    return {(3u << 18) | (static_cast<char32_t>(t[i + 1] & 0x3F) << 12) |
                (static_cast<char32_t>(t[i + 2] & 0x3F) << 6) | (t[i + 3] & 0x3F),
            4};
  }
  return {0, 0};
}

// The file's text with those characters moved. Malformed UTF-8 is left as it is, for the parser.
Result<std::string> move_out_of_reach(std::string_view t, const std::string& path) {
  std::string out;
  out.reserve(t.size() + t.size() / 4);
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < t.size();) {
    if (t[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
    const auto [c, n] = char_at(t, i);
    if (n == 0) {
      out += t[i++];
      continue;
    }
    if (c >= kMovedFirst && c < kMovedEnd) {
      return fail(path + ":" + std::to_string(line) + ":" + std::to_string(i - line_start + 1) +
                  ": a private-use character of U+F0000 to U+F0FFF is not allowed");
    }
    const Moved* range = nullptr;
    for (const Moved& m : kMovedRanges) {
      if (c >= m.first && c <= m.last) range = &m;
    }
    if (range) {
      put_utf8(out, range->to + (c - range->first));
    } else {
      out.append(t.substr(i, n));
    }
    i += n;
  }
  return out;
}

// Undoes move_out_of_reach in a string taken from the parsed file (a value, a key, a message).
std::string moved_back(const std::string& s) {
  if (s.find('\xF3') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto [c, n] = char_at(s, i);
    if (n == 4 && c >= kMovedFirst && c < kMovedEnd) {
      for (const Moved& m : kMovedRanges) {
        if (c >= m.to && c <= m.to + (m.last - m.first)) put_utf8(out, m.first + (c - m.to));
      }
      i += 4;
      continue;
    }
    out += s[i++];
  }
  return out;
}

// Reads the keys of one table, remembering which were seen; errors say file:line and key.
class Reader {
 public:
  Reader(std::string path, const toml::table& table, std::string prefix = "")
      : path_(std::move(path)), table_(table), prefix_(std::move(prefix)) {}

  std::string where(const toml::node* n) const {
    const auto& src = n ? n->source() : table_.source();
    return path_ + ":" + std::to_string(src.begin.line);
  }
  Error error(const std::string& key, const std::string& what) const {
    return Error{where(table_.get(key)) + ": '" + prefix_ + moved_back(key) + "': " + moved_back(what)};
  }

  Result<void> string(const char* key, std::string& out, bool required = false) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return required ? tl::unexpected(error(key, "required")) : Result<void>{};
    auto v = n->value<std::string>();
    if (!v || !n->is_string()) return tl::unexpected(error(key, "expected a string"));
    out = moved_back(*v);
    return {};
  }
  // A string, or an array of strings.
  Result<void> strings(const char* key, std::vector<std::string>& out, bool required = false) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return required ? tl::unexpected(error(key, "required")) : Result<void>{};
    if (n->is_string()) {
      out = {moved_back(*n->value<std::string>())};
      return {};
    }
    const toml::array* list = n->as_array();
    if (!list) return tl::unexpected(error(key, "expected a string or an array of strings"));
    out.clear();
    for (const toml::node& e : *list) {
      if (!e.is_string()) return tl::unexpected(error(key, "expected a string or an array of strings"));
      out.push_back(moved_back(*e.value<std::string>()));
    }
    return {};
  }
  Result<void> boolean(const char* key, bool& out) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return {};
    if (!n->is_boolean()) return tl::unexpected(error(key, "expected true or false"));
    out = *n->value<bool>();
    return {};
  }
  Result<void> integer(const char* key, int& out, int lo, int hi) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return {};
    if (!n->is_integer() || *n->value<std::int64_t>() < lo || *n->value<std::int64_t>() > hi)
      return tl::unexpected(error(key, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi)));
    out = static_cast<int>(*n->value<std::int64_t>());
    return {};
  }
  Result<void> number(const char* key, double& out, double lo, double hi) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return {};
    const std::optional<double> v = n->value<double>();
    if ((!n->is_floating_point() && !n->is_integer()) || !v || !(*v >= lo && *v <= hi)) {
      std::ostringstream range;
      range << "expected a number from " << lo << " to " << hi;
      return tl::unexpected(error(key, range.str()));
    }
    out = *v;
    return {};
  }
  Result<void> duration(const char* key, std::chrono::seconds& out, std::int64_t lo, std::int64_t hi) {
    std::string text;
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return {};
    if (!n->is_string()) return tl::unexpected(error(key, "expected a duration in quotes, e.g. \"30s\" or \"2m\""));
    auto d = api::parse_duration(*n->value<std::string>());
    if (!d) return tl::unexpected(error(key, d.error().message));
    if (*d < lo || *d > hi)
      return tl::unexpected(
          error(key, "expected from " + std::to_string(lo) + " to " + std::to_string(hi) + " seconds"));
    out = std::chrono::seconds(*d);
    return {};
  }
  Result<std::int64_t> memory(const char* key) {
    seen_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return std::int64_t{0};
    if (!n->is_string()) return tl::unexpected(error(key, "expected an amount in quotes, e.g. \"64G\""));
    auto m = api::parse_memory(*n->value<std::string>());
    if (!m) return tl::unexpected(error(key, m.error().message));
    return *m;
  }
  void skip(const char* key) { seen_.insert(key); }
  // Any key not read is a mistake (a typo, a key of the other program's file).
  Result<void> no_others() const {
    for (const auto& [key, node] : table_) {
      if (!seen_.contains(std::string(key.str()))) {
        return tl::unexpected(
            Error{where(&node) + ": unknown key '" + prefix_ + moved_back(std::string(key.str())) + "'"});
      }
    }
    return {};
  }

 private:
  std::string path_;
  const toml::table& table_;
  std::string prefix_;
  std::set<std::string> seen_;
};

// The text of a file; errors name it.
Result<std::string> read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) return fail(path + ": cannot read");
  return text;
}

Result<toml::table> parse(std::string_view text, const std::string& path) {
  auto moved = move_out_of_reach(text, path);
  if (!moved) return tl::unexpected(moved.error());
  try {
    return toml::parse(*moved, path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    if (src.begin.line == 0) return fail(path + ": " + moved_back(std::string(e.description())));
    return fail(path + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column) + ": " +
                moved_back(std::string(e.description())));
  }
}

#define GWANG_TRY(expr)                                           \
  do {                                                            \
    if (auto r_ = (expr); !r_) return tl::unexpected(r_.error()); \
  } while (0)

Result<void> check_listen(const Reader& r, const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size() ||
      listen.find_first_not_of("0123456789", colon + 1) != std::string::npos || listen.size() - colon > 6 ||
      std::stoi(listen.substr(colon + 1)) > 65535)
    return tl::unexpected(r.error("listen", "expected HOST:PORT, e.g. \"0.0.0.0:8686\""));
  return {};
}

Result<void> check_store(const Reader& r, const std::string& store) {
  if (store.empty() || store.starts_with("postgresql://") || store.starts_with("postgres://") ||
      store.find('=') != std::string::npos)
    return {};
  return tl::unexpected(r.error("store",
                                "expected a PostgreSQL URI (postgresql://...) or connection string "
                                "(host=... dbname=...), or nothing for the embedded SQLite store"));
}

}  // namespace

Result<ControllerConfig> load_controller_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_controller_config(*text, path);
}

Result<AgentConfig> load_agent_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  return parse_agent_config(*text, path);
}

namespace {

// [licenses] NAME = SEATS, into `out` (in name order).
Result<void> read_licenses(const std::string& path, const Reader& r, const toml::table& top,
                           std::vector<slurm::LicenseCount>& out) {
  const toml::node* node = top.get("licenses");
  if (!node) return {};
  const toml::table* table = node->as_table();
  if (!table) return tl::unexpected(r.error("licenses", "expected a table: [licenses] with NAME = SEATS"));
  Reader l(path, *table, "licenses.");
  for (const auto& [key, value] : *table) {
    const std::string name(key.str());
    if (!slurm::license_name_ok(name))
      return tl::unexpected(l.error(name.c_str(), "expected a name of letters, digits, '.', '_' or '-'"));
    int seats = 0;
    GWANG_TRY(l.integer(name.c_str(), seats, 0, 1'000'000'000));
    out.push_back({name, seats});
  }
  return {};
}

// Where clients reach the controller: `advertise`, and [tls] certificate and key (both absolute
// paths; a controller that serves TLS advertises https://).
Result<void> read_transport(const std::string& path, Reader& r, const toml::table& t, ControllerConfig& c) {
  GWANG_TRY(r.string("advertise", c.advertise));
  if (!c.advertise.empty() && !c.advertise.starts_with("http://") && !c.advertise.starts_with("https://"))
    return tl::unexpected(r.error("advertise", "expected a URL, http://HOST:PORT or https://HOST:PORT"));
  r.skip("tls");
  const toml::node* node = t.get("tls");
  if (!node) return {};
  const toml::table* tls = node->as_table();
  if (!tls) return tl::unexpected(r.error("tls", "expected a table: [tls] with certificate and key"));
  Reader a(path, *tls, "tls.");
  GWANG_TRY(a.string("certificate", c.tls_certificate, true));
  GWANG_TRY(a.string("key", c.tls_key, true));
  for (const auto& [key, file] : {std::pair{"certificate", c.tls_certificate}, std::pair{"key", c.tls_key}}) {
    if (file.empty() || file.front() != '/') return tl::unexpected(a.error(key, "expected an absolute path"));
  }
  GWANG_TRY(a.no_others());
  if (!c.advertise.empty() && !c.advertise.starts_with("https://"))
    return tl::unexpected(r.error("advertise", "expected https://HOST:PORT: this controller serves TLS ([tls])"));
  return {};
}

}  // namespace

Result<ControllerConfig> parse_controller_config(std::string_view text, const std::string& path) {
  auto t = parse(text, path);
  if (!t) return tl::unexpected(t.error());
  ControllerConfig c;
  Reader r(path, *t);
  GWANG_TRY(r.string("listen", c.listen));
  GWANG_TRY(check_listen(r, c.listen));
  GWANG_TRY(r.string("data_dir", c.data_dir));
  GWANG_TRY(r.string("cluster_name", c.cluster_name));
  if (!api::cluster_name_ok(c.cluster_name)) return tl::unexpected(r.error("cluster_name", api::kClusterNameRule));
  GWANG_TRY(r.string("cluster_secret_file", c.cluster_secret_file, true));
  GWANG_TRY(r.string("operator", c.operator_account));
  GWANG_TRY(r.string("web_dir", c.web_dir));
  GWANG_TRY(r.string("store", c.store));
  GWANG_TRY(check_store(r, c.store));
  GWANG_TRY(r.duration("lease", c.lease, 2, 300));
  GWANG_TRY(r.duration("node_timeout", c.node_timeout, 2, 3600));
  GWANG_TRY(r.duration("kill_grace", c.kill_grace, 1, 600));
  GWANG_TRY(r.duration("terminal_grace", c.terminal_grace, 1, 3600));
  GWANG_TRY(r.duration("allocation_grace", c.allocation_grace, 2, 86400));
  GWANG_TRY(r.duration("session_idle_timeout", c.session_idle_timeout, 10, 31 * 86400));
  GWANG_TRY(r.duration("session_max_life", c.session_max_life, 0, 366 * 86400));
  GWANG_TRY(r.duration("session_start_timeout", c.session_start_timeout, 5, 86400));
  GWANG_TRY(r.integer("requeue_limit", c.requeue_limit, 0, 100));
  GWANG_TRY(r.integer("max_array_size", c.max_array_size, 1, 4'000'001));
  std::string ports = std::to_string(c.resv_port_low) + "-" + std::to_string(c.resv_port_high);
  GWANG_TRY(r.string("resv_ports", ports));
  {
    int low = 0, high = 0;
    char dash = 0;
    std::istringstream in(ports);
    if (!(in >> low >> dash >> high) || dash != '-' || !in.eof() || low < 1 || high > 65535 || low > high)
      return tl::unexpected(r.error("resv_ports", "expected LOW-HIGH, ports from 1 to 65535 (12000-12999)"));
    c.resv_port_low = low;
    c.resv_port_high = high;
  }
  GWANG_TRY(r.string("mail_program", c.mail_program));
  if (!c.mail_program.empty() && c.mail_program.front() != '/')
    return tl::unexpected(r.error("mail_program", "expected an absolute path, or \"\" to send no mail"));
  GWANG_TRY(r.integer("snapshot_every", c.snapshot_every, 1000, 100'000'000));
  std::string order(core::to_string(c.queue_order)), backfill(core::to_string(c.backfill));
  GWANG_TRY(r.string("queue_order", order));
  auto parsed_order = core::parse_queue_order(order);
  if (!parsed_order) return tl::unexpected(r.error("queue_order", parsed_order.error().message));
  c.queue_order = *parsed_order;
  GWANG_TRY(r.string("backfill", backfill));
  auto parsed_backfill = core::parse_backfill(backfill);
  if (!parsed_backfill) return tl::unexpected(r.error("backfill", parsed_backfill.error().message));
  c.backfill = *parsed_backfill;
  r.skip("partitions");
  if (const toml::node* node = t->get("partitions")) {
    const toml::array* list = node->as_array();
    if (!list || !list->is_array_of_tables())
      return tl::unexpected(r.error("partitions", "expected [[partitions]] tables with name and nodes"));
    if (list->size() > 64) return tl::unexpected(r.error("partitions", "at most 64 partitions"));
    int defaults = 0;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table& entry = *list->get(i)->as_table();
      Reader e(path, entry, "partitions[" + std::to_string(i) + "].");
      api::Partition p;
      p.nodes.clear();
      GWANG_TRY(e.string("name", p.name, true));
      if (!api::partition_name_ok(p.name))
        return tl::unexpected(e.error("name", "expected 1 to 64 letters, digits, '.', '_' or '-'"));
      for (const api::Partition& before : c.partitions) {
        if (before.name == p.name) return tl::unexpected(e.error("name", "'" + p.name + "' is named twice"));
      }
      GWANG_TRY(e.string("nodes", p.nodes, true));
      if (p.nodes != "ALL") {
        if (auto hosts = slurm::HostList::parse(p.nodes); !hosts)
          return tl::unexpected(e.error("nodes", hosts.error().message));
      }
      GWANG_TRY(e.boolean("default", p.is_default));
      defaults += p.is_default ? 1 : 0;
      if (defaults > 1) return tl::unexpected(e.error("default", "another partition is the default already"));
      std::chrono::seconds max_time{0};
      GWANG_TRY(e.duration("max_time", max_time, 60, 365LL * 86400));
      p.max_time_s = max_time.count();
      GWANG_TRY(e.no_others());
      c.partitions.push_back(std::move(p));
    }
  }
  r.skip("licenses");
  GWANG_TRY(read_licenses(path, r, *t, c.licenses));
  GWANG_TRY(read_transport(path, r, *t, c));
  r.skip("accounting");
  if (const toml::node* node = t->get("accounting")) {
    const toml::table* acc = node->as_table();
    if (!acc) return tl::unexpected(r.error("accounting", "expected a table: [accounting]"));
    Reader a(path, *acc, "accounting.");
    GWANG_TRY(a.boolean("require_project", c.require_project));
    GWANG_TRY(a.boolean("require_grant", c.require_grant));
    GWANG_TRY(a.duration("charge_every", c.charge_every, 10, 86400));
    GWANG_TRY(a.number("cpu_hour", c.cpu_hour, 0, 1000));
    a.skip("rates");
    if (const toml::node* rn = acc->get("rates")) {
      const toml::table* rates = rn->as_table();
      if (!rates) return tl::unexpected(a.error("rates", "expected a table: [accounting.rates]"));
      Reader rr(path, *rates, "accounting.rates.");
      for (const auto& [key, value] : *rates) {
        const std::string raw(key.str());  // as the parsed table has it
        const std::string model = moved_back(raw);
        if (auto v = agent::validate_kind(model); !v || model.find(':') == std::string::npos) {
          return tl::unexpected(
              rr.error(raw.c_str(), "expected an accelerator model with its family, e.g. \"gpu:H100\""));
        }
        double rate = 0;
        GWANG_TRY(rr.number(raw.c_str(), rate, 0, 1000));
        c.rates[model] = rate;
      }
    }
    GWANG_TRY(a.no_others());
  }
  GWANG_TRY(r.no_others());
  if (c.data_dir.empty() || c.data_dir.front() != '/')
    return tl::unexpected(r.error("data_dir", "expected an absolute path"));
  return c;
}

Result<AgentConfig> parse_agent_config(std::string_view text, const std::string& path) {
  auto t = parse(text, path);
  if (!t) return tl::unexpected(t.error());
  AgentConfig c;
  Reader r(path, *t);
  GWANG_TRY(r.strings("controller", c.controllers, true));
  if (c.controllers.empty()) return tl::unexpected(r.error("controller", "expected at least one URL"));
  for (const std::string& url : c.controllers) {
    if (!api::host_and_port(url))
      return tl::unexpected(
          r.error("controller", "'" + url + "': expected a URL, http://HOST:PORT or https://HOST:PORT"));
  }
  GWANG_TRY(r.string("ca", c.ca_file));
  if (!c.ca_file.empty() && c.ca_file.front() != '/') return tl::unexpected(r.error("ca", "expected an absolute path"));
  GWANG_TRY(r.string("node_name", c.node_name));
  if (!c.node_name.empty() &&
      (c.node_name.size() > 64 ||
       c.node_name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
           std::string::npos))
    return tl::unexpected(r.error("node_name", "expected 1 to 64 letters, digits, '.', '_' or '-'"));
  GWANG_TRY(r.string("address", c.address));
  GWANG_TRY(r.string("data_dir", c.data_dir));
  if (c.data_dir.empty() || c.data_dir.front() != '/')
    return tl::unexpected(r.error("data_dir", "expected an absolute path"));
  GWANG_TRY(r.string("cluster_secret_file", c.cluster_secret_file, true));
  GWANG_TRY(r.duration("kill_grace", c.kill_grace, 1, 600));
  GWANG_TRY(r.duration("sync_wait", c.sync_wait, 1, 30));
  GWANG_TRY(r.boolean("allow_root", c.allow_root));
  GWANG_TRY(r.boolean("nvml", c.nvml));
  GWANG_TRY(r.strings("features", c.features));
  for (const std::string& f : c.features) {
    if (f.empty() || f.size() > 64 ||
        f.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") != std::string::npos)
      return tl::unexpected(r.error("features", "'" + f + "': expected 1 to 64 letters, digits, '.', '_', '-' or ':'"));
  }
  GWANG_TRY(r.string("tmp_fs", c.tmp_fs));
  if (c.tmp_fs.empty() || c.tmp_fs.front() != '/')
    return tl::unexpected(r.error("tmp_fs", "expected an absolute path"));
  r.skip("devices");
  if (const toml::node* d = t->get("devices")) {
    const toml::array* list = d->as_array();
    if (!list || !list->is_array_of_tables()) {
      return tl::unexpected(r.error("devices", "expected [[devices]] tables with kind, count and memory"));
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::table& entry = *list->get(i)->as_table();
      Reader e(path, entry, "devices[" + std::to_string(i) + "].");
      agent::DeclaredDevices dev;
      GWANG_TRY(e.string("kind", dev.kind, true));
      if (auto v = agent::validate_kind(dev.kind); !v) return tl::unexpected(e.error("kind", v.error().message));
      dev.count = 0;
      GWANG_TRY(e.integer("count", dev.count, 1, 1024));
      if (dev.count == 0) return tl::unexpected(e.error("count", "required"));
      auto m = e.memory("memory");
      if (!m) return tl::unexpected(m.error());
      dev.memory_bytes = *m;
      GWANG_TRY(e.strings("files", dev.files));
      if (!dev.files.empty() && static_cast<int>(dev.files.size()) != dev.count) {
        return tl::unexpected(
            e.error("files", "expected one device file per device (" + std::to_string(dev.count) + ")"));
      }
      for (const std::string& f : dev.files) {
        if (f.empty() || f[0] != '/') return tl::unexpected(e.error("files", "'" + f + "': expected an absolute path"));
      }
      std::string near;
      GWANG_TRY(e.string("cpus", near));
      auto cpus = core::parse_cpu_list(near);
      if (!cpus) return tl::unexpected(e.error("cpus", cpus.error().message));
      dev.near_cpus = std::move(*cpus);
      GWANG_TRY(e.no_others());
      c.devices.push_back(dev);
    }
  }
  GWANG_TRY(r.no_others());
  return c;
}

}  // namespace gwang::config
