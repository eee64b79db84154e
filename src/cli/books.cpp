// gwang user, token, admin, grants, events and report: the centre's books from the command line.
// Each command is one call of the HTTP API (docs/api/openapi.yaml); the server decides who may.
#include "cli/books.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <optional>
#include <tuple>

#include "api/units.h"
#include "cli/api_call.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

std::string num(double v, int decimals = 2) {
  char out[64];
  std::snprintf(out, sizeof out, "%.*f", decimals, v);
  return out;
}

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const json& x : v) out += (out.empty() ? "" : ",") + text_of(x);
    return out;
  }
  if (v.is_number_float()) return num(v.get<double>());
  return v.dump();
}

// Rows under a header, columns as wide as their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out.append(width[c] - cells[c].size() + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string csv_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char ch : cell) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

void print_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) out += (c ? "," : "") + csv_cell(cells[c]);
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

// Calls the API and prints the answer: as JSON with --json, else with `show`.
int call_and_show(const ClientArgs& a, const std::string& method, const std::string& path, const json& body,
                  const std::function<void(const json&)>& show) {
  int rc = 0;
  auto j = request(a, method, path, method == "GET" ? "" : body.dump(), &rc);
  if (!j) return rc;
  if (a.json) {
    std::printf("%s\n", j->dump().c_str());
  } else {
    show(*j);
  }
  return 0;
}

void say(const std::string& text) { std::printf("%s\n", text.c_str()); }

std::string query_escape(const std::string& v) {
  std::string out;
  for (unsigned char ch : v) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", ch);
      out += hex;
    }
  }
  return out;
}

void grants_table(const json& grants) {
  std::vector<std::vector<std::string>> rows;
  for (const json& g : grants) {
    rows.push_back({std::to_string(g["id"].get<int>()), g["project"], g["programme"], num(g["amount"]), num(g["used"]),
                    num(g["percent_used"], 1) + "%", api::format_date(g["start"]).substr(0, 10),
                    api::format_date(g["end"]).substr(0, 10), g["state"]});
  }
  print_table({"ID", "PROJECT", "PROGRAMME", "AMOUNT", "USED", "USED%", "START", "END", "STATE"}, rows);
}

void user_line(const json& u) {
  std::printf("User=%s Operator=%s DefaultProject=%s\n   Projects=%s AdminOf=%s\n", text_of(u["name"]).c_str(),
              u["operator"].get<bool>() ? "yes" : "no", text_of(u["default_project"]).c_str(),
              text_of(u["projects"]).c_str(), text_of(u["admin_of"]).c_str());
}

// Adds the options of a command that calls the API (--url, --token, --json) into `a`; returns `c`.
CLI::App* client_options(CLI::App* c, ClientArgs& a) {
  c->add_option("--url", a.url, "controller URL (default: $GWANG_URL, then the local 'gwang up')");
  c->add_option("--token", a.token, "API token (default: $GWANG_TOKEN, then the local 'gwang up')");
  c->add_flag("--json", a.json, "print JSON");
  return c;
}

// Prints one grant: its line, its audit trail and its burn-down.
void grant_detail(const json& j) {
  grants_table(json::array({j}));
  std::printf("\nAudit:\n");
  for (const json& e : j["audit"]) {
    std::printf("  %s  %-10s %s\n", api::format_date(e["time"]).c_str(), text_of(e["who"]).c_str(),
                text_of(e["what"]).c_str());
  }
  std::printf("\nBurn-down (used after each charge):\n");
  const json& points = j["burndown"];
  // At most 24 lines: evenly spaced points, the last one included.
  const std::size_t n = points.size(), step = std::max<std::size_t>(1, (n + 23) / 24);
  for (std::size_t i = 0; i < n; i += step) {
    const std::size_t k = std::min(n - 1, i + step - 1);
    std::printf("  %s  %s\n", api::format_date(points[k][0]).c_str(), num(points[k][1]).c_str());
  }
}

// Prints the usage report: as CSV when `format` is csv, else as a table with its total and period.
void usage_report(const json& j, const std::string& format) {
  std::vector<std::vector<std::string>> rows;
  for (const json& row : j["rows"]) {
    rows.push_back({row["key"], std::to_string(row["jobs"].get<std::int64_t>()), num(row["accelerator_hours"]),
                    num(row["cpu_hours"]), num(row["charge"])});
  }
  const json& t = j["total"];
  std::string by = text_of(j["by"]);
  for (char& ch : by) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::vector<std::string> header = {by, "JOBS", "ACCEL_HOURS", "CPU_HOURS", "CHARGE"};
  if (format == "csv") return print_csv(header, rows);
  rows.push_back({"(total)", std::to_string(t["jobs"].get<std::int64_t>()), num(t["accelerator_hours"]),
                  num(t["cpu_hours"]), num(t["charge"])});
  std::printf("Usage from %s to %s\n", api::format_date(j["from"]).c_str(), api::format_date(j["to"]).c_str());
  print_table(header, rows);
}

// Prints the utilisation report: as CSV when `format` is csv, else as a table.
void utilisation_report(const json& j, const std::string& format) {
  std::vector<std::vector<std::string>> rows;
  for (const json& cell : j["cells"]) {
    rows.push_back({api::format_date(cell["start"]), cell["model"], num(cell["used_hours"]),
                    num(cell["capacity_hours"]), num(cell["percent"], 1)});
  }
  const std::vector<std::string> header = {"START", "MODEL", "USED_HOURS", "CAPACITY_HOURS", "PERCENT"};
  format == "csv" ? print_csv(header, rows) : print_table(header, rows);
}

}  // namespace

struct BookCommands::Args {
  ClientArgs client;
  std::string name, user, project, institution, type, sector = "other", programme, rule = "refuse";
  std::string start, end, from, to, by = "project", format = "table", id, step = "1d", model;
  std::string session_idle, session_life;  // programmes' session defaults, as durations ("30m")
  double amount = 0, priority = 0;
  bool revoke = false;
  std::int64_t since = 0;
};

BookCommands::BookCommands() : args_(std::make_unique<Args>()) {}
BookCommands::~BookCommands() = default;

void BookCommands::add(CLI::App& app, const std::function<bool(const char*)>& wanted) {
  if (wanted("user")) add_user(app);
  if (wanted("token")) add_token(app);
  if (wanted("admin")) add_admin(app);
  if (wanted("grants")) add_grants(app);
  if (wanted("events")) add_events(app);
  if (wanted("report")) add_report(app);
}

CLI::App* BookCommands::leaf(CLI::App* parent, const char* name, const char* help, std::function<int()> run) {
  CLI::App* c = client_options(parent->add_subcommand(name, help), args_->client);
  c->callback([this, run = std::move(run)] { action_ = run; });
  return c;
}

void BookCommands::add_user(CLI::App& app) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* u = app.add_subcommand("user", "Who you are; users of the centre (gwang user list, add, default-project)");
  client_options(u, a.client);
  u->callback([this, &cl] {
    if (!action_) {
      action_ = [&cl] {
        return call_and_show(cl, "GET", "/api/v1/whoami", {}, [](const json& j) {
          json u = j;
          u["name"] = j["user"];
          user_line(u);
        });
      };
    }
  });
  leaf(u, "list", "Users you reach (yourself; the members of projects you manage; all, for operators)", [&cl] {
    return call_and_show(cl, "GET", "/api/v1/users", {}, [](const json& j) {
      for (const json& u : j["users"]) user_line(u);
    });
  });
  leaf(u, "add", "Add a user (operators)",
       [&cl, &a] {
         return call_and_show(cl, "POST", "/api/v1/users", {{"name", a.name}},
                              [&a](const json&) { say("Added user " + a.name); });
       })
      ->add_option("name", a.name, "user (an account name)")
      ->required();
  CLI::App* d = leaf(u, "default-project", "The project your jobs are charged to when they name none", [&cl, &a] {
    std::string who = a.user;
    if (who.empty()) {
      int rc = 0;
      auto me = request(cl, "GET", "/api/v1/whoami", "", &rc);
      if (!me) return rc;
      who = (*me)["user"];
    }
    return call_and_show(
        cl, "POST", "/api/v1/users/" + who + "/default-project", {{"project", a.project}},
        [&](const json&) { say("Jobs of " + who + " are now charged to " + a.project + " by default"); });
  });
  d->add_option("project", a.project, "project")->required();
  d->add_option("--user", a.user, "another user's (operators)");
}

void BookCommands::add_token(CLI::App& app) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* t = app.add_subcommand("token", "API tokens: create, list, revoke");
  t->require_subcommand(1);
  leaf(t, "create", "Make a token (yours, or --user's); it is shown once", [&cl, &a] {
    json body = json::object();
    if (!a.user.empty()) body["user"] = a.user;
    return call_and_show(cl, "POST", "/api/v1/tokens", body, [](const json& j) {
      std::printf("Token %s for %s (shown once; keep it as GWANG_TOKEN):\n%s\n", text_of(j["id"]).c_str(),
                  text_of(j["user"]).c_str(), text_of(j["token"]).c_str());
    });
  })->add_option("--user", a.user, "for this user (operators; admins for their projects' members)");
  leaf(t, "list", "Tokens you may manage (never the tokens themselves)", [&cl] {
    return call_and_show(cl, "GET", "/api/v1/tokens", {}, [](const json& j) {
      std::vector<std::vector<std::string>> rows;
      for (const json& t : j["tokens"])
        rows.push_back({t["id"], t["user"], t["operator"].get<bool>() ? "operator" : "user"});
      print_table({"ID", "USER", "ROLE"}, rows);
    });
  });
  leaf(t, "revoke", "Revoke a token: it stops working at once",
       [&cl, &a] {
         return call_and_show(cl, "POST", "/api/v1/tokens/" + a.id + "/revoke", json::object(),
                              [&a](const json& j) { say("Revoked token " + a.id + " of " + text_of(j["user"])); });
       })
      ->add_option("id", a.id, "token id (gwang token list)")
      ->required();
}

void BookCommands::add_admin(CLI::App& app) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* ad = app.add_subcommand("admin", "Institutions, projects, operators, programmes and grants");
  ad->require_subcommand(1);
  add_institution(ad);
  add_project(ad);

  CLI::App* op = leaf(ad, "operator", "Make a user an operator (with --revoke: no longer one)", [&cl, &a] {
    return call_and_show(
        cl, "POST", "/api/v1/users/" + a.user + "/operator", {{"operator", !a.revoke}},
        [&a](const json&) { say(a.user + (a.revoke ? " is no longer an operator" : " is now an operator")); });
  });
  op->add_option("user", a.user, "user")->required();
  op->add_flag("--revoke", a.revoke, "take the role away");

  add_programme(ad);
  add_grant(ad);
  add_quota(ad);
}

void BookCommands::add_institution(CLI::App* admin) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* inst = admin->add_subcommand("institution", "Institutions");
  inst->require_subcommand(1);
  CLI::App* ia = leaf(inst, "add", "Add an institution (operators)", [&cl, &a] {
    return call_and_show(cl, "POST", "/api/v1/institutions", {{"name", a.name}, {"type", a.type}, {"sector", a.sector}},
                         [&a](const json&) { say("Added institution " + a.name); });
  });
  ia->add_option("name", a.name, "institution name")->required();
  ia->add_option("--type", a.type, "startup, sme, large-company, university, research-institute or public-body")
      ->required();
  ia->add_option("--sector", a.sector, "energy, mobility, healthcare, manufacturing or other")->capture_default_str();
  leaf(inst, "list", "Institutions you reach", [&cl] {
    return call_and_show(cl, "GET", "/api/v1/institutions", {}, [](const json& j) {
      std::vector<std::vector<std::string>> rows;
      for (const json& i : j["institutions"])
        rows.push_back({i["name"], i["type"], i["sector"], text_of(i["projects"])});
      print_table({"NAME", "TYPE", "SECTOR", "PROJECTS"}, rows);
    });
  });
  CLI::App* iad = leaf(inst, "admin", "Make a user an admin of an institution", [&cl, &a] {
    return call_and_show(cl, "POST", "/api/v1/institutions/" + a.institution + "/admins", {{"user", a.user}},
                         [&a](const json&) { say(a.user + " is now an admin of " + a.institution); });
  });
  iad->add_option("institution", a.institution, "institution")->required();
  iad->add_option("user", a.user, "user")->required();
}

void BookCommands::add_project(CLI::App* admin) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* proj = admin->add_subcommand("project", "Projects and their members");
  proj->require_subcommand(1);
  CLI::App* pa = leaf(proj, "add", "Add a project to an institution (operators, its admins)", [&cl, &a] {
    return call_and_show(cl, "POST", "/api/v1/projects", {{"name", a.name}, {"institution", a.institution}},
                         [&a](const json&) { say("Added project " + a.name + " to " + a.institution); });
  });
  pa->add_option("name", a.name, "project name")->required();
  pa->add_option("--institution", a.institution, "its institution")->required();
  leaf(proj, "list", "Projects you see, with their members", [&cl] {
    return call_and_show(cl, "GET", "/api/v1/projects", {}, [](const json& j) {
      std::vector<std::vector<std::string>> rows;
      for (const json& p : j["projects"]) rows.push_back({p["name"], p["institution"], text_of(p["members"])});
      print_table({"NAME", "INSTITUTION", "MEMBERS"}, rows);
    });
  });
  CLI::App* ma = leaf(proj, "add-member", "Add a member to a project", [&cl, &a] {
    return call_and_show(cl, "POST", "/api/v1/projects/" + a.project + "/members", {{"user", a.user}},
                         [&a](const json&) { say(a.user + " is now a member of " + a.project); });
  });
  ma->add_option("project", a.project, "project")->required();
  ma->add_option("user", a.user, "user")->required();
  CLI::App* mr = leaf(proj, "remove-member", "Remove a member from a project", [&cl, &a] {
    return call_and_show(cl, "POST", "/api/v1/projects/" + a.project + "/members/" + a.user + "/remove", json::object(),
                         [&a](const json&) { say(a.user + " is no longer a member of " + a.project); });
  });
  mr->add_option("project", a.project, "project")->required();
  mr->add_option("user", a.user, "user")->required();
}

void BookCommands::add_programme(CLI::App* admin) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* prog = admin->add_subcommand("programme", "Allocation programmes");
  prog->require_subcommand(1);
  CLI::App* pga = leaf(prog, "add", "Add a programme (operators)", [&cl, &a] {
    json body{{"name", a.name}, {"when_exhausted", a.rule}, {"priority", a.priority}};
    for (const auto& [field, option, flag] :
         {std::tuple{"session_idle_timeout", "--session-idle-timeout", &a.session_idle},
          std::tuple{"session_max_life", "--session-max-life", &a.session_life}}) {
      if (flag->empty()) continue;
      auto seconds = api::parse_duration(*flag);
      if (!seconds) {
        std::fprintf(stderr, "gwang: %s: %s\n", option, seconds.error().message.c_str());
        return 2;
      }
      body[field] = *seconds;
    }
    return call_and_show(cl, "POST", "/api/v1/programmes", body,
                         [&a](const json&) { say("Added programme " + a.name); });
  });
  pga->add_option("name", a.name, "programme name")->required();
  pga->add_option("--when-exhausted", a.rule, "refuse new jobs, or run them as preemptible work")
      ->check(CLI::IsMember({"refuse", "preemptible"}))
      ->capture_default_str();
  pga->add_option("--priority", a.priority, "the programme's priority factor, 0 to 1")->capture_default_str();
  pga->add_option("--session-idle-timeout", a.session_idle,
                  "its sessions end once unused this long, unless they ask otherwise (default: the controller's)");
  pga->add_option("--session-max-life", a.session_life,
                  "its sessions' longest time limit, which one asking for none gets (default: the controller's)");
  leaf(prog, "list", "Programmes", [&cl] {
    return call_and_show(cl, "GET", "/api/v1/programmes", {}, [](const json& j) {
      std::vector<std::vector<std::string>> rows;
      const auto duration = [](const json& s) {
        return s.is_number_integer() && s.get<std::int64_t>() > 0 ? api::format_duration(s.get<std::int64_t>())
                                                                  : std::string("-");
      };
      for (const json& p : j["programmes"]) {
        rows.push_back({p["name"], p["when_exhausted"], num(p["priority"]),
                        duration(p.value("session_idle_timeout", json())),
                        duration(p.value("session_max_life", json()))});
      }
      print_table({"NAME", "WHEN EXHAUSTED", "PRIORITY", "SESSION IDLE", "SESSION LIFE"}, rows);
    });
  });
}

void BookCommands::add_grant(CLI::App* admin) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* gr = admin->add_subcommand("grant", "Grants of normalised accelerator-hours");
  gr->require_subcommand(1);
  CLI::App* ga = leaf(gr, "add", "Grant a project an amount for a period (operators)", [&cl, &a] {
    return call_and_show(
        cl, "POST", "/api/v1/grants",
        {{"project", a.project}, {"programme", a.programme}, {"amount", a.amount}, {"start", a.start}, {"end", a.end}},
        [](const json& g) { grants_table(json::array({g})); });
  });
  ga->add_option("project", a.project, "project")->required();
  ga->add_option("--programme", a.programme, "programme")->required();
  ga->add_option("--amount", a.amount, "normalised accelerator-hours")->required();
  ga->add_option("--start", a.start, "first day (2026-03-01, UTC)")->required();
  ga->add_option("--end", a.end, "the day it ends (not included)")->required();
  CLI::App* gt = leaf(gr, "top-up", "Add to a grant (audited)", [&cl, &a] {
    return call_and_show(cl, "POST", "/api/v1/grants/" + a.id + "/top-up", {{"amount", a.amount}},
                         [](const json& g) { grants_table(json::array({g})); });
  });
  gt->add_option("id", a.id, "grant id")->required();
  gt->add_option("amount", a.amount, "normalised accelerator-hours to add")->required();
  CLI::App* ge = leaf(gr, "extend", "Move a grant's end (audited)", [&cl, &a] {
    return call_and_show(cl, "POST", "/api/v1/grants/" + a.id + "/extend", {{"end", a.end}},
                         [](const json& g) { grants_table(json::array({g})); });
  });
  ge->add_option("id", a.id, "grant id")->required();
  ge->add_option("end", a.end, "the new end (2026-12-31)")->required();
}

void BookCommands::add_quota(CLI::App* admin) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* qu =
      admin->add_subcommand("quota", "Quotas: the most accelerators a project's or institution's jobs hold at once");
  qu->require_subcommand(1);
  auto scope_body = [&a]() -> std::optional<json> {
    if (a.project.empty() == a.institution.empty()) {
      std::fprintf(stderr, "gwang: name one of --project and --institution\n");
      return std::nullopt;
    }
    return json{{"scope", a.project.empty() ? "institution" : "project"},
                {"name", a.project.empty() ? a.institution : a.project},
                {"model", a.model}};
  };
  CLI::App* qs = leaf(qu, "set", "Set a quota (operators)", [&cl, &a, scope_body] {
    auto body = scope_body();
    if (!body) return 2;
    (*body)["limit"] = a.amount;
    return call_and_show(cl, "POST", "/api/v1/quotas", *body, [&](const json& j) {
      say("Quota of " + text_of(j["scope"]) + " " + text_of(j["name"]) + " for " +
          (a.model.empty() ? std::string("all models") : a.model) + ": " + num(a.amount, 3) + " devices");
    });
  });
  qs->add_option("--project", a.project, "the project's quota");
  qs->add_option("--institution", a.institution, "the institution's quota");
  qs->add_option("--model", a.model, "one accelerator model (gpu:H100); default: all together");
  qs->add_option("--max", a.amount, "devices at once (a half share of one counts 0.5)")->required();
  CLI::App* qr = leaf(qu, "remove", "Remove a quota (operators)", [&cl, &a, scope_body] {
    auto body = scope_body();
    if (!body) return 2;
    return call_and_show(cl, "POST", "/api/v1/quotas/remove", *body, [](const json&) { say("Removed"); });
  });
  qr->add_option("--project", a.project, "the project's quota");
  qr->add_option("--institution", a.institution, "the institution's quota");
  qr->add_option("--model", a.model, "its model (default: the all-models quota)");
  leaf(qu, "list", "Quotas, with what is held now", [&cl] {
    return call_and_show(cl, "GET", "/api/v1/quotas", {}, [](const json& j) {
      std::vector<std::vector<std::string>> rows;
      for (const json& q : j["quotas"]) {
        const std::string model = q["model"].get<std::string>();
        rows.push_back({q["scope"], q["name"], model.empty() ? "(all)" : model, num(q["limit"], 3), num(q["used"], 3)});
      }
      print_table({"SCOPE", "NAME", "MODEL", "LIMIT", "USED"}, rows);
    });
  });
}

void BookCommands::add_grants(CLI::App& app) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* g =
      app.add_subcommand("grants", "Grants of your projects (all, for operators); with an id, its audit trail");
  client_options(g, a.client);
  g->add_option("id", a.id, "one grant: its audit trail and burn-down");
  g->add_option("--project", a.project, "only this project's");
  g->callback([this, &cl, &a] {
    action_ = [&cl, &a] {
      if (!a.id.empty()) return call_and_show(cl, "GET", "/api/v1/grants/" + a.id, {}, grant_detail);
      const std::string path = "/api/v1/grants" + (a.project.empty() ? "" : "?project=" + query_escape(a.project));
      return call_and_show(cl, "GET", path, {}, [](const json& j) { grants_table(j["grants"]); });
    };
  });
}

void BookCommands::add_events(CLI::App& app) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* e = app.add_subcommand("events", "Warnings about your projects' grants (80 % and 100 % used)");
  client_options(e, a.client);
  e->add_option("--since", a.since, "only events after this number");
  e->callback([this, &cl, &a] {
    action_ = [&cl, &a] {
      return call_and_show(cl, "GET", "/api/v1/events?since=" + std::to_string(a.since), {}, [](const json& j) {
        for (const json& ev : j["events"]) {
          std::printf("%lld  %s  %s\n", static_cast<long long>(ev["seq"].get<std::int64_t>()),
                      api::format_date(ev["time"]).c_str(), text_of(ev["message"]).c_str());
        }
      });
    };
  });
}

void BookCommands::add_report(CLI::App& app) {
  Args& a = *args_;
  const ClientArgs& cl = a.client;
  CLI::App* r = app.add_subcommand("report", "Reports for the centre and the people who fund it");
  r->require_subcommand(1);
  // A report's query (its own parameter, then the period) and the client's options (--format json
  // is --json).
  auto report_call = [&cl, &a](const std::string& path, const std::function<void(const json&)>& show) {
    std::string query = path;
    if (!a.from.empty()) query += "&from=" + query_escape(a.from);
    if (!a.to.empty()) query += "&to=" + query_escape(a.to);
    ClientArgs c = cl;
    c.json = c.json || a.format == "json";
    return call_and_show(c, "GET", query, {}, show);
  };
  CLI::App* u =
      leaf(r, "usage", "Usage charged over a period, by programme, institution, ..., model", [&a, report_call] {
        return report_call("/api/v1/reports/usage?by=" + query_escape(a.by),
                           [&a](const json& j) { usage_report(j, a.format); });
      });
  CLI::App* ut =
      leaf(r, "utilisation", "How busy each accelerator model was, step by step (operators)", [&a, report_call] {
        return report_call("/api/v1/reports/utilisation?step=" + query_escape(a.step),
                           [&a](const json& j) { utilisation_report(j, a.format); });
      });
  ut->add_option("--from", a.from, "first day (default: a week before --to)");
  ut->add_option("--to", a.to, "the end (default: now)");
  ut->add_option("--step", a.step, "one row per model per step (1h, 1d)")->capture_default_str();
  ut->add_option("--format", a.format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  u->add_option("--from", a.from, "first day (2026-01-01, UTC; default: the beginning)");
  u->add_option("--to", a.to, "the day after the last (default: now)");
  u->add_option("--by", a.by, "programme, institution, institution-type, sector, project, user or model")
      ->capture_default_str();
  u->add_option("--format", a.format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
}

}  // namespace gwang::cli
