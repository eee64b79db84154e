// The journal: one contract for every implementation, then SQLite's own promises (durability across
// reopening and SIGKILL, schema checks) and the fault-injecting wrapper.
#include "store/journal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "pg_server.h"
#include "store/postgres.h"

namespace gwang::store {
namespace {

namespace fs = std::filesystem;

fs::path temp_db(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("gwang_store_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / (name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix);
  return p;
}

std::vector<Record> batch(std::initializer_list<const char*> kinds, std::int64_t time = 100) {
  std::vector<Record> out;
  for (const char* k : kinds) out.push_back({0, time, k, std::string("payload of ") + k});
  return out;
}

using Factory = std::function<std::unique_ptr<Journal>()>;

class JournalContract : public ::testing::TestWithParam<std::pair<std::string, Factory>> {
 protected:
  std::unique_ptr<Journal> make() { return GetParam().second(); }
};

// Batches get gap-free sequence numbers from 1, and load returns every record as appended.
TEST_P(JournalContract, AppendAssignsSequenceAndLoadReturnsAll) {
  auto j = make();
  EXPECT_EQ(j->last_seq(), 0);
  auto b1 = batch({"job.submitted", "job.submitted"});
  auto first = j->append(b1);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, 1);
  EXPECT_EQ(b1[0].seq, 1);
  EXPECT_EQ(b1[1].seq, 2);
  auto b2 = batch({"job.started"}, 105);
  EXPECT_EQ(*j->append(b2), 3);
  EXPECT_EQ(j->last_seq(), 3);
  auto loaded = j->load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_FALSE(loaded->snapshot);
  ASSERT_EQ(loaded->records.size(), 3u);
  EXPECT_EQ(loaded->records[2].seq, 3);
  EXPECT_EQ(loaded->records[2].time, 105);
  EXPECT_EQ(loaded->records[2].kind, "job.started");
  EXPECT_EQ(loaded->records[2].payload, "payload of job.started");
}

// A snapshot replaces the records it covers; load gives it and the records after it.
TEST_P(JournalContract, SnapshotCompacts) {
  auto j = make();
  auto b = batch({"a", "b", "c", "d"});
  ASSERT_TRUE(j->append(b));
  ASSERT_TRUE(j->snapshot({3, "state after 3"}));
  auto loaded = j->load();
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->seq, 3);
  EXPECT_EQ(loaded->snapshot->state, "state after 3");
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].kind, "d");
  auto more = batch({"e"});
  EXPECT_EQ(*j->append(more), 5);
  auto past = j->snapshot({9, "too far"});
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("past the last record"), std::string::npos);
}

// A snapshot written in pieces takes effect at its end alone: before, load gives the snapshot
// before it; records appended between its pieces come after it; compaction leaves what load gives
// as it was; an attempt that never ended is replaced by the next one at the same point.
TEST_P(JournalContract, SnapshotInPiecesTakesEffectAtItsEnd) {
  auto j = make();
  auto b = batch({"a", "b", "c", "d"});
  ASSERT_TRUE(j->append(b));
  ASSERT_TRUE(j->snapshot({1, "state after 1"}));
  ASSERT_TRUE(j->begin_snapshot(3));
  ASSERT_TRUE(j->snapshot_piece("state "));
  auto e = batch({"e"});
  EXPECT_EQ(*j->append(e), 5);
  ASSERT_TRUE(j->snapshot_piece(std::string("aft\0er 3", 9)));
  auto before = j->load();
  ASSERT_TRUE(before && before->snapshot);
  EXPECT_EQ(before->snapshot->seq, 1);
  EXPECT_EQ(before->records.size(), 4u);  // b, c, d, e
  ASSERT_TRUE(j->end_snapshot());
  auto expect_after_3 = [&] {
    auto loaded = j->load();
    ASSERT_TRUE(loaded && loaded->snapshot) << (loaded ? "no snapshot" : loaded.error().message);
    EXPECT_EQ(loaded->snapshot->seq, 3);
    EXPECT_EQ(loaded->snapshot->state, std::string("state aft\0er 3", 15));
    ASSERT_EQ(loaded->records.size(), 2u);
    EXPECT_EQ(loaded->records[0].kind, "d");
    EXPECT_EQ(loaded->records[1].kind, "e");
  };
  expect_after_3();
  for (int i = 0; i < 100; ++i) {
    auto dropped = j->compact(1);
    ASSERT_TRUE(dropped) << dropped.error().message;
    if (*dropped == 0) break;
    ASSERT_LT(i, 99) << "compaction never ends";
  }
  expect_after_3();
  // An attempt that never ended, then one at the same point that did.
  ASSERT_TRUE(j->begin_snapshot(4));
  ASSERT_TRUE(j->snapshot_piece("left behind"));
  ASSERT_TRUE(j->begin_snapshot(4));
  ASSERT_TRUE(j->snapshot_piece("state after 4"));
  ASSERT_TRUE(j->end_snapshot());
  auto loaded = j->load();
  ASSERT_TRUE(loaded && loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->state, "state after 4");
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].kind, "e");
  // An empty state has no pieces.
  ASSERT_TRUE(j->begin_snapshot(5));
  ASSERT_TRUE(j->end_snapshot());
  loaded = j->load();
  ASSERT_TRUE(loaded && loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->seq, 5);
  EXPECT_EQ(loaded->snapshot->state, "");
  EXPECT_TRUE(loaded->records.empty());
  auto past = j->begin_snapshot(9);
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("past the last record"), std::string::npos);
}

// Binary payloads (zero bytes included) come back unchanged.
TEST_P(JournalContract, BinaryPayloads) {
  auto j = make();
  std::vector<Record> b{{0, 1, "bin", std::string("a\0b\xff", 4)}};
  ASSERT_TRUE(j->append(b));
  auto loaded = j->load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->records.at(0).payload, std::string("a\0b\xff", 4));
}

// A store moved from another engine keeps its numbers: the copy reads back the same, numbering goes
// on from there, and nothing is restored into a store that is not empty.
TEST_P(JournalContract, RestoreKeepsSequenceNumbers) {
  auto from = make_memory_journal();
  auto b = batch({"a", "b", "c", "d"});
  ASSERT_TRUE(from->append(b));
  ASSERT_TRUE(from->snapshot({2, std::string("state\0", 6)}));
  auto to = make();
  auto copied = copy_store(*from, *to);
  ASSERT_TRUE(copied) << copied.error().message;
  EXPECT_EQ(*copied, 2u);
  EXPECT_EQ(to->last_seq(), 4);
  auto next = batch({"e"});
  EXPECT_EQ(*to->append(next), 5);
  auto again = copy_store(*from, *to);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("the store is not empty"), std::string::npos) << again.error().message;
  Recovered gap;
  gap.records = {{1, 0, "a", ""}, {3, 0, "c", ""}};
  auto other = make();
  auto r = other->restore(gap);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "journal record 2 is missing (found 3)");
}

INSTANTIATE_TEST_SUITE_P(
    All, JournalContract,
    ::testing::Values(std::make_pair(std::string("memory"), Factory([] { return make_memory_journal(); })),
                      std::make_pair(std::string("sqlite"), Factory([] {
                                       auto j = open_sqlite_journal(
                                           temp_db(std::to_string(std::random_device{}())).string());
                                       EXPECT_TRUE(j) << j.error().message;
                                       return std::move(*j);
                                     })),
                      std::make_pair(std::string("postgres"), Factory([]() -> std::unique_ptr<Journal> {
                                       auto& pg = testing::PgServer::get();
                                       if (!pg.ok()) {
                                         ADD_FAILURE() << pg.error();
                                         return make_memory_journal();
                                       }
                                       auto j = open_postgres_journal(pg.fresh_database());
                                       EXPECT_TRUE(j) << j.error().message;
                                       return j ? std::move(*j) : make_memory_journal();
                                     }))),
    [](const auto& info) { return info.param.first; });

// PostgreSQL: what was appended is there through a new connection, numbering continues, and the
// schema's version is checked.
TEST(PostgresJournal, SurvivesReconnectingAndChecksTheSchema) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string db = pg.fresh_database();
  {
    auto j = open_postgres_journal(db);
    ASSERT_TRUE(j) << j.error().message;
    auto b = batch({"a", "b"});
    ASSERT_TRUE((*j)->append(b));
    ASSERT_TRUE((*j)->snapshot({1, std::string("state\0bytes", 11)}));
  }
  auto again = open_postgres_journal(db);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->last_seq(), 2);
  auto loaded = (*again)->load();
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->state, std::string("state\0bytes", 11));
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].kind, "b");
  auto c = batch({"c"});
  EXPECT_EQ(*(*again)->append(c), 3);

  const std::string name = db.substr(db.find("dbname=") + 7);
  ASSERT_TRUE(pg.sql(name, "UPDATE gwang_schema SET version = 99"));
  auto newer = open_postgres_journal(db);
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("schema is version 99, newer than this gwang's (2)"), std::string::npos)
      << newer.error().message;
  auto nowhere = open_postgres_journal("host=/nonexistent port=1 dbname=x");
  ASSERT_FALSE(nowhere);
  EXPECT_NE(nowhere.error().message.find("postgres: cannot connect"), std::string::npos) << nowhere.error().message;
}

// Two writers on one store: the second to append at a point the first already used fails, and
// writes nothing.
TEST(PostgresJournal, ASecondWriterCannotOverwrite) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string db = pg.fresh_database();
  auto first = open_postgres_journal(db);
  auto second = open_postgres_journal(db);
  ASSERT_TRUE(first && second);
  auto a = batch({"from first"});
  ASSERT_TRUE((*first)->append(a));
  auto b = batch({"from second"});
  auto r = (*second)->append(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("postgres: appending 1 record(s)"), std::string::npos) << r.error().message;
  auto loaded = (*first)->load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].kind, "from first");
}

// A restart of the server: the journal connects again and goes on, within the call.
TEST(PostgresJournal, ReconnectsAfterTheServerRestarts) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  auto j = open_postgres_journal(pg.fresh_database());
  ASSERT_TRUE(j) << j.error().message;
  auto a = batch({"before"});
  ASSERT_TRUE((*j)->append(a));
  ASSERT_TRUE(pg.restart());
  auto b = batch({"after"});
  auto r = (*j)->append(b);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 2);
  auto loaded = (*j)->load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->records.size(), 2u);
  EXPECT_EQ(loaded->records[1].kind, "after");
}

// Appends in a stream while the server restarts twice: the connections die at any point, COMMIT
// included. Every append returns success, and each batch is in the store exactly once, in order.
TEST(PostgresJournal, AppendsThroughServerRestartsLandExactlyOnce) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  auto j = open_postgres_journal(pg.fresh_database());
  ASSERT_TRUE(j) << j.error().message;
  std::atomic<bool> stop{false};
  std::vector<std::string> acked;
  std::string failure;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      const std::string x = "r" + std::to_string(i) + "a", y = "r" + std::to_string(i) + "b";
      auto b = batch({x.c_str(), y.c_str()});
      auto r = (*j)->append(b);
      if (!r) {
        failure = r.error().message;
        return;
      }
      acked.push_back(b[0].kind);
      acked.push_back(b[1].kind);
    }
  });
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_TRUE(pg.restart());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  EXPECT_EQ(failure, "");
  auto loaded = (*j)->load();
  ASSERT_TRUE(loaded) << loaded.error().message;
  std::vector<std::string> stored;
  for (const Record& r : loaded->records) stored.push_back(r.kind);
  EXPECT_EQ(stored, acked);
  EXPECT_GT(acked.size(), 10u);
}

// The connection is cut after COMMIT was sent and before its answer came: the batch landed, and the
// journal finds it there (reading it back) instead of failing or writing it twice. A batch cut off
// before COMMIT is written again.
TEST(PostgresJournal, ABatchWhoseCommitWasCutOffIsFoundNotRepeated) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string db = pg.fresh_database();
  int cuts = 0;
  PostgresOptions options;
  options.after_commit_sent = [&](int socket) {
    if (cuts++ > 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server has committed
    char answer[4096];                                            // its answer is lost on the way
    while (::recv(socket, answer, sizeof answer, MSG_DONTWAIT) > 0) {
    }
    ::shutdown(socket, SHUT_RDWR);
  };
  auto j = open_postgres_journal(db, options);
  ASSERT_TRUE(j) << j.error().message;
  auto a = batch({"a1", "a2"});
  auto r = (*j)->append(a);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(a[1].seq, 2);
  auto b = batch({"b"});
  ASSERT_TRUE((*j)->append(b));
  EXPECT_EQ(b[0].seq, 3);
  auto reader = open_postgres_journal(db);
  ASSERT_TRUE(reader);
  auto loaded = (*reader)->load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->records.size(), 3u);
  EXPECT_EQ(loaded->records[0].kind, "a1");
  EXPECT_EQ(loaded->records[2].kind, "b");
  EXPECT_EQ(cuts, 2) << "the cut batch was sent again";
}

// The lease: one holder at a time; a standby takes it once it is given up or has expired, with a
// new epoch; the old holder's renewal then fails, naming who leads.
TEST(PostgresLease, OneHolderAtATimeAndEachTakeoverANewEpoch) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string db = pg.fresh_database();
  auto a = Lease::open(db, "ctl-a", "http://10.0.0.1:8686", std::chrono::milliseconds(400));
  auto b = Lease::open(db, "ctl-b", "http://10.0.0.2:8686", std::chrono::milliseconds(400));
  ASSERT_TRUE(a && b) << (a ? b.error().message : a.error().message);
  auto none = (*a)->state();
  ASSERT_TRUE(none);
  EXPECT_EQ(none->epoch, 0);
  EXPECT_FALSE(none->live);

  auto won = (*a)->acquire();
  ASSERT_TRUE(won && *won);
  EXPECT_EQ(**won, 1);
  auto lost = (*b)->acquire();
  ASSERT_TRUE(lost);
  EXPECT_FALSE(*lost) << "a live lease was taken";
  auto seen = (*b)->state();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->holder, "ctl-a");
  EXPECT_EQ(seen->address, "http://10.0.0.1:8686");
  EXPECT_TRUE(seen->live);
  EXPECT_GT(seen->expires_in_ms, 0);
  EXPECT_LE(seen->expires_in_ms, 400);

  // Renewed, it stays; left alone, it expires and the standby takes it.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    ASSERT_TRUE((*a)->renew());
    auto try_b = (*b)->acquire();
    ASSERT_TRUE(try_b);
    EXPECT_FALSE(*try_b) << "taken while renewed";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto taken = (*b)->acquire();
  ASSERT_TRUE(taken && *taken);
  EXPECT_EQ(**taken, 2);
  auto renewed = (*a)->renew();
  ASSERT_FALSE(renewed);
  EXPECT_NE(renewed.error().message.find("lost the lease of epoch 1: ctl-b (http://10.0.0.2:8686) leads in epoch 2"),
            std::string::npos)
      << renewed.error().message;
  EXPECT_EQ((*a)->epoch(), 0);

  // Given up at a clean stop, it is free at once.
  (*b)->release();
  auto back = (*a)->acquire();
  ASSERT_TRUE(back && *back);
  EXPECT_EQ(**back, 3);
}

// Fencing: a journal that leads in an old epoch writes nothing once another controller holds the
// lease, and says so; the new leader's journal reads all the old one wrote and goes on after it.
TEST(PostgresLease, AStaleLeaderCannotWrite) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string db = pg.fresh_database();
  auto a = Lease::open(db, "ctl-a", "http://a:1", std::chrono::milliseconds(200));
  auto b = Lease::open(db, "ctl-b", "http://b:1", std::chrono::milliseconds(200));
  ASSERT_TRUE(a && b);
  auto ea = (*a)->acquire();
  ASSERT_TRUE(ea && *ea);
  std::int64_t fenced_by = -1;
  auto ja = open_postgres_journal(db, {**ea, [&](std::int64_t e) { fenced_by = e; }});
  ASSERT_TRUE(ja) << ja.error().message;
  auto first = batch({"a1", "a2"});
  ASSERT_TRUE((*ja)->append(first));

  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a's lease runs out, unrenewed
  auto eb = (*b)->acquire();
  ASSERT_TRUE(eb && *eb);
  auto late = batch({"a3"});
  auto refused = (*ja)->append(late);
  ASSERT_FALSE(refused);
  EXPECT_NE(
      refused.error().message.find("fenced: another controller leads the store now (epoch 2; this one led in epoch 1)"),
      std::string::npos)
      << refused.error().message;
  EXPECT_EQ(fenced_by, 2);
  EXPECT_FALSE((*ja)->snapshot({2, "state"}));

  auto jb = open_postgres_journal(db, {**eb, nullptr});
  ASSERT_TRUE(jb);
  auto loaded = (*jb)->load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->records.size(), 2u);
  EXPECT_EQ(loaded->records[1].kind, "a2");
  auto next = batch({"b1"});
  auto at = (*jb)->append(next);
  ASSERT_TRUE(at) << at.error().message;
  EXPECT_EQ(*at, 3);
}

// A write that is under way when a standby takes over: the takeover waits for it (it holds a share
// lock on the leader's row), so the new leader reads it; nothing of the old leader lands after.
TEST(PostgresLease, TakeoverWaitsForTheWriteUnderWay) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string db = pg.fresh_database();
  auto a = Lease::open(db, "ctl-a", "http://a:1", std::chrono::milliseconds(100));
  auto b = Lease::open(db, "ctl-b", "http://b:1", std::chrono::milliseconds(100));
  ASSERT_TRUE(a && b);
  auto ea = (*a)->acquire();
  ASSERT_TRUE(ea && *ea);
  auto ja = open_postgres_journal(db, {**ea, nullptr});
  ASSERT_TRUE(ja);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  // Many small writes race one takeover: each lands before it (and is read by the new leader) or
  // fails after it.
  std::atomic<bool> stop{false};
  std::int64_t landed = 0;
  std::thread writer([&] {
    while (!stop) {
      auto one = batch({"a"});
      if (!(*ja)->append(one)) break;
      ++landed;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto eb = (*b)->acquire();
  ASSERT_TRUE(eb && *eb);
  stop = true;
  writer.join();
  auto jb = open_postgres_journal(db, {**eb, nullptr});
  ASSERT_TRUE(jb);
  auto loaded = (*jb)->load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(static_cast<std::int64_t>(loaded->records.size()), landed);
  auto again = batch({"a"});
  EXPECT_FALSE((*ja)->append(again));
}

// The API's tokens, shared by the controllers of one store.
TEST(PostgresTokens, AddLoadRemove) {
  auto& pg = testing::PgServer::get();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const std::string db = pg.fresh_database();
  auto t = TokenTable::open(db);
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_TRUE((*t)->add({std::string(64, 'a'), "alice", false}));
  ASSERT_TRUE((*t)->add({std::string(64, 'b'), "root", true}));
  EXPECT_FALSE((*t)->add({std::string(64, 'a'), "mallory", true})) << "a hash is stored once";
  auto other = TokenTable::open(db);
  ASSERT_TRUE(other);
  auto rows = (*other)->load();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].account, "alice");
  EXPECT_FALSE((*rows)[0].is_operator);
  EXPECT_EQ((*rows)[1].account, "root");
  EXPECT_TRUE((*rows)[1].is_operator);
  ASSERT_TRUE((*other)->remove(std::string(64, 'a')));
  rows = (*t)->load();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
}

// What was appended is there after reopening, and numbering continues.
TEST(SqliteJournal, SurvivesReopening) {
  const fs::path db = temp_db("reopen");
  {
    auto j = open_sqlite_journal(db.string());
    ASSERT_TRUE(j);
    auto b = batch({"a", "b"});
    ASSERT_TRUE((*j)->append(b));
    ASSERT_TRUE((*j)->snapshot({1, "s1"}));
  }
  auto j = open_sqlite_journal(db.string());
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)->last_seq(), 2);
  auto c = batch({"c"});
  EXPECT_EQ(*(*j)->append(c), 3);
  auto loaded = (*j)->load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->snapshot->state, "s1");
  ASSERT_EQ(loaded->records.size(), 2u);
  EXPECT_EQ(loaded->records[1].kind, "c");
}

// A store written by another schema version is refused, naming both versions.
TEST(SqliteJournal, RefusesOtherSchemaVersion) {
  const fs::path db = temp_db("version");
  ASSERT_TRUE(open_sqlite_journal(db.string()));
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "UPDATE meta SET value = 99 WHERE key = 'schema'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto j = open_sqlite_journal(db.string());
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("store schema version 99, this gwang reads version 2 (and upgrades 1)"),
            std::string::npos)
      << j.error().message;
}

// A store of schema version 1 (snapshots as one blob) is upgraded when opened: what it held reads
// back the same, and snapshots in pieces follow; the pieces and records a snapshot makes useless
// are gone once compaction says it is done.
TEST(SqliteJournal, UpgradesVersion1AndCompactsWhatSnapshotsLeave) {
  const fs::path db = temp_db("version1");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  const char* v1 =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;"
      "CREATE TABLE journal(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,"
      "  payload BLOB NOT NULL) STRICT;"
      "CREATE TABLE snapshot(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,"
      "  state BLOB NOT NULL) STRICT;"
      "INSERT INTO meta VALUES('schema', 1);"
      "INSERT INTO snapshot VALUES(1, 2, x'6f6c6400');"
      "INSERT INTO journal VALUES(3, 7, 'c', x'63'), (4, 8, 'd', x'64');";
  ASSERT_EQ(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  sqlite3_close(raw);
  auto j = open_sqlite_journal(db.string());
  ASSERT_TRUE(j) << j.error().message;
  auto loaded = (*j)->load();
  ASSERT_TRUE(loaded && loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->seq, 2);
  EXPECT_EQ(loaded->snapshot->state, std::string("old\0", 4));
  ASSERT_EQ(loaded->records.size(), 2u);
  EXPECT_EQ(loaded->records[1].payload, "d");
  EXPECT_EQ((*j)->last_seq(), 4);
  for (std::int64_t at : {3, 4}) {
    ASSERT_TRUE((*j)->begin_snapshot(at));
    for (int piece = 0; piece < 3; ++piece) ASSERT_TRUE((*j)->snapshot_piece("piece " + std::to_string(piece)));
    ASSERT_TRUE((*j)->end_snapshot());
  }
  while (true) {
    auto dropped = (*j)->compact(1);
    ASSERT_TRUE(dropped) << dropped.error().message;
    if (*dropped == 0) break;
  }
  j->reset();
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(raw, sql, -1, &st, nullptr);
    const std::int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count("SELECT value FROM meta WHERE key = 'schema'"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM journal"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM snapshot_piece"), 3);  // the last snapshot's
  sqlite3_close(raw);
  auto again = open_sqlite_journal(db.string());
  ASSERT_TRUE(again) << again.error().message;
  loaded = (*again)->load();
  ASSERT_TRUE(loaded && loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->seq, 4);
  EXPECT_EQ(loaded->snapshot->state, "piece 0piece 1piece 2");
  EXPECT_TRUE(loaded->records.empty());
}

// A path that cannot be opened is an error naming it.
TEST(SqliteJournal, UnopenablePath) {
  auto j = open_sqlite_journal("/nonexistent-dir/gwang.db");
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("/nonexistent-dir/gwang.db"), std::string::npos);
}

// A writer killed with SIGKILL at random moments never loses an acknowledged batch, and never
// leaves a partial one: after each kill the journal holds every acknowledged record, gap-free, and
// only whole batches.
TEST(SqliteJournal, AcknowledgedBatchesSurviveSigkill) {
  const fs::path db = temp_db("crash");
  std::mt19937 rng(12345);
  std::int64_t acknowledged = 0;
  for (int round = 0; round < 8; ++round) {
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipefd[0]);
      auto j = open_sqlite_journal(db.string());
      if (!j) ::_exit(2);
      for (;;) {
        std::vector<Record> b;
        for (int i = 0; i < 3; ++i) b.push_back({0, 1, "batch3", "x"});
        if (!(*j)->append(b)) ::_exit(3);
        const std::int64_t last = b.back().seq;
        if (::write(pipefd[1], &last, sizeof last) != sizeof last) ::_exit(4);
      }
    }
    ::close(pipefd[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 80));
    ::kill(child, SIGKILL);
    std::int64_t v;
    while (::read(pipefd[0], &v, sizeof v) == sizeof v) acknowledged = std::max(acknowledged, v);
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: " << status;

    auto j = open_sqlite_journal(db.string());
    ASSERT_TRUE(j) << j.error().message;
    auto loaded = (*j)->load();
    ASSERT_TRUE(loaded) << loaded.error().message;
    const std::int64_t last = (*j)->last_seq();
    EXPECT_GE(last, acknowledged) << "round " << round;
    EXPECT_EQ(last % 3, 0) << "a partial batch in round " << round;
    EXPECT_EQ(static_cast<std::int64_t>(loaded->records.size()), last);
    acknowledged = last;
  }
  EXPECT_GT(acknowledged, 0);
}

// The fault-injecting wrapper fails on command and leaves the inner journal untouched.
TEST(FaultyJournal, FailsAfterTheGivenCalls) {
  FaultyJournal j(make_memory_journal());
  j.fail_after(1);
  auto a = batch({"a"});
  ASSERT_TRUE(j.append(a));
  auto b = batch({"b"});
  auto r = j.append(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "injected failure: append");
  EXPECT_FALSE(j.snapshot({1, "s"}));
  EXPECT_EQ(j.last_seq(), 1);
  j.reset();
  EXPECT_EQ(*j.append(b), 2);
}

// Removes this process's scratch databases at the end.
class CleanUp : public ::testing::Environment {
 public:
  void TearDown() override {
    fs::remove_all(fs::temp_directory_path() / ("gwang_store_test_" + std::to_string(::getpid())));
  }
};
const auto* const kCleanUp = ::testing::AddGlobalTestEnvironment(new CleanUp);

}  // namespace
}  // namespace gwang::store

#include "store/committer.h"

namespace gwang::store {
namespace {

// Concurrent appends through the group committer all become durable, each exactly once, in fewer
// transactions than records.
TEST(GroupCommitter, GathersConcurrentAppendsIntoBatches) {
  const fs::path db = temp_db("group");
  auto j = open_sqlite_journal(db.string());
  ASSERT_TRUE(j);
  std::vector<std::int64_t> seqs(8 * 25);
  std::uint64_t batches = 0;
  {
    GroupCommitter committer(**j);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          auto r = committer.append_and_wait({0, 1, "k", std::to_string(t * 25 + i)});
          seqs[t * 25 + i] = r ? *r : -1;
        }
      });
    }
    for (auto& th : threads) th.join();
    batches = committer.batches();
  }
  std::set<std::int64_t> distinct(seqs.begin(), seqs.end());
  EXPECT_EQ(distinct.size(), seqs.size());
  EXPECT_EQ(*distinct.begin(), 1);
  EXPECT_EQ(*distinct.rbegin(), 200);
  EXPECT_LT(batches, 200u);
  auto loaded = (*j)->load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->records.size(), 200u);
  for (const Record& r : loaded->records) EXPECT_EQ(seqs[std::stoi(r.payload)], r.seq);
}

// A journal that says what it was asked, in order, and can hold the first piece of a snapshot until
// told to go on.
class Recording final : public Journal {
 public:
  Recording() : inner_(make_memory_journal()) {}
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  void hold_first_piece() { hold_ = true; }
  void wait_until_held() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void go_on() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }

  Result<std::int64_t> append(std::vector<Record>& b) override {
    note("append " + std::to_string(b.size()));
    return inner_->append(b);
  }
  Result<void> snapshot(const Snapshot& s) override { return inner_->snapshot(s); }
  Result<void> begin_snapshot(std::int64_t seq) override {
    note("begin " + std::to_string(seq));
    return inner_->begin_snapshot(seq);
  }
  Result<void> snapshot_piece(std::string_view bytes) override {
    note("piece " + std::to_string(bytes.size()));
    std::unique_lock lock(mu_);
    held_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    return inner_->snapshot_piece(bytes);
  }
  Result<void> end_snapshot() override {
    note("end");
    return inner_->end_snapshot();
  }
  Result<std::int64_t> compact(std::int64_t limit) override {
    note("compact");
    return inner_->compact(limit);
  }
  Result<Recovered> load() override { return inner_->load(); }
  std::int64_t last_seq() const override { return inner_->last_seq(); }
  Result<void> restore(const Recovered& state) override { return inner_->restore(state); }

 private:
  void note(std::string call) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(call));
  }
  std::unique_ptr<Journal> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
  bool hold_ = false, held_ = false;
};

// A large snapshot is written in pieces, and a record appended while a piece is written is
// durable before the next piece, long before the snapshot ends; it comes after the snapshot.
TEST(GroupCommitter, AppendsGoOnBetweenTheSnapshotsPieces) {
  Recording j;
  GroupCommitter committer(j);
  ASSERT_TRUE(committer.append_and_wait({0, 1, "k", "covered"}));
  j.hold_first_piece();
  const std::string state(2 * GroupCommitter::kSnapshotPiece + 10, 's');
  auto snap = committer.snapshot({1, state});
  j.wait_until_held();
  auto between = committer.append({0, 1, "k", "between"});
  j.go_on();
  const auto seq = between.get();
  ASSERT_TRUE(seq) << seq.error().message;
  EXPECT_EQ(*seq, 2);
  ASSERT_TRUE(snap.get());
  const std::vector<std::string> calls = j.calls();
  const std::vector<std::string> expected{"append 1",
                                          "begin 1",
                                          "piece " + std::to_string(GroupCommitter::kSnapshotPiece),
                                          "append 1",
                                          "piece " + std::to_string(GroupCommitter::kSnapshotPiece),
                                          "piece 10",
                                          "end"};
  ASSERT_GE(calls.size(), expected.size());
  EXPECT_EQ(std::vector<std::string>(calls.begin(), calls.begin() + static_cast<long>(expected.size())), expected);
  auto loaded = j.load();
  ASSERT_TRUE(loaded && loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->state, state);
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].payload, "between");
}

// A piece that fails fails the snapshot; the snapshot before it stays, and appends go on.
TEST(GroupCommitter, AFailedPieceLeavesTheSnapshotBefore) {
  FaultyJournal j(make_memory_journal());
  GroupCommitter committer(j);
  ASSERT_TRUE(committer.append_and_wait({0, 1, "k", "a"}));
  ASSERT_TRUE(committer.snapshot({1, "one"}).get());
  ASSERT_TRUE(committer.append_and_wait({0, 1, "k", "b"}));
  j.fail_after(2);  // begin, the first piece; then the second fails
  auto r = committer.snapshot({2, std::string(GroupCommitter::kSnapshotPiece + 1, 't')}).get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "injected failure: snapshot_piece");
  j.reset();
  auto c = committer.append_and_wait({0, 1, "k", "c"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c, 3);
  auto loaded = j.load();
  ASSERT_TRUE(loaded && loaded->snapshot);
  EXPECT_EQ(loaded->snapshot->state, "one");
  ASSERT_EQ(loaded->records.size(), 2u);
}

// A batch that fails reaches every waiter of that batch as the error.
TEST(GroupCommitter, FailuresReachTheWaiters) {
  FaultyJournal j(make_memory_journal());
  j.fail_after(0);
  GroupCommitter committer(j);
  auto r = committer.append_and_wait({0, 1, "k", "x"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "injected failure: append");
}

}  // namespace
}  // namespace gwang::store
