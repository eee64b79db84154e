// A throwaway PostgreSQL server for tests, from Debian's postgresql package: a cluster made with
// initdb in a temporary directory (as the postgres user when run as root: initdb refuses root),
// listening on a Unix socket only, with fsync off. Started once per test program, stopped at exit.
#pragma once

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace gwang::store::testing {

class PgServer {
 public:
  // The server, started on first use; its error says why it could not start (then every test that
  // needs it fails with that message).
  static PgServer& get() {
    static PgServer server;
    return server;
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // A connection string for a new, empty database.
  std::string fresh_database() {
    const std::string name = "gwang_test_" + std::to_string(++databases_);
    run(psql("CREATE DATABASE " + name));
    return conninfo(name);
  }
  std::string conninfo(const std::string& db) const {
    return "host=" + dir_ + " port=" + std::to_string(port_) + " user=postgres dbname=" + db;
  }
  // Restarts the server (fast shutdown), for tests of a lost connection.
  bool restart() { return run(as_postgres(ctl() + " -m fast restart -w -o '" + options() + "'")); }
  // Stops the server (fast shutdown) and starts it again: the time between is a database out of reach.
  bool stop() { return run(as_postgres(ctl() + " -m fast stop -w")); }
  bool start() { return run(as_postgres(ctl() + " -w -o '" + options() + "' start")); }
  // Runs SQL against the given database as the superuser.
  bool sql(const std::string& db, const std::string& statement) { return run(psql(statement, db)); }

 private:
  PgServer() {
    const char* bin = "/usr/lib/postgresql/15/bin";
    bin_ = bin;
    port_ = 20000 + static_cast<int>(::getpid() % 20000);
    dir_ = (std::filesystem::temp_directory_path() / ("gwang_pg_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (!std::filesystem::exists(bin_ + "/initdb")) {
      error_ = "no PostgreSQL server at " + bin_ + " (scripts/build installs Debian's postgresql)";
      return;
    }
    if (::geteuid() == 0) {
      if (!::getpwnam("postgres")) {
        error_ = "no postgres account to run the server as";
        return;
      }
      run("chown postgres: " + dir_);
    }
    if (!run(as_postgres(bin_ + "/initdb --no-sync -A trust -U postgres -D " + dir_ + "/data"))) {
      error_ = "initdb failed (see " + dir_ + "/commands.log)";
      return;
    }
    if (!run(as_postgres(ctl() + " -w -o '" + options() + "' start")))
      error_ = "the server did not start (see " + dir_ + "/server.log)";
  }
  ~PgServer() {
    run(as_postgres(ctl() + " -m immediate stop"));
    std::filesystem::remove_all(dir_);
  }
  std::string options() const {
    return "-p " + std::to_string(port_) + " -k " + dir_ + " -c listen_addresses= -c fsync=off";
  }
  std::string ctl() const { return bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log"; }
  std::string as_postgres(const std::string& cmd) const {
    return ::geteuid() == 0 ? "runuser -u postgres -- " + cmd : cmd;
  }
  std::string psql(const std::string& statement, const std::string& db = "postgres") const {
    return "psql -q -X -v ON_ERROR_STOP=1 -h " + dir_ + " -p " + std::to_string(port_) + " -U postgres -d " + db +
           " -c \"" + statement + "\"";
  }
  bool run(const std::string& cmd) const {
    return std::system((cmd + " >>" + dir_ + "/commands.log 2>&1").c_str()) == 0;
  }

  std::string bin_, dir_, error_;
  int port_ = 0;
  int databases_ = 0;
};

}  // namespace gwang::store::testing
