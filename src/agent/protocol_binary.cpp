// The binary form of the agent protocol's bodies: a magic that says which body and its version,
// the string table, then the fields in the order of their structs (protocol.h). Counts, enums and
// flags are unsigned varints, numbers that may be negative zigzag varints.
#include "agent/protocol_binary.h"

#include <algorithm>
#include <limits>

#include "api/codec.h"

namespace gwang::agent::protocol::binary {

namespace {

// JSON never starts with a control character.
// Version 2 of each adds the CPUs at the end: a node's CPU topology, the launches' CPUs. Version 3
// adds signals: the last each task was sent (request), signals to send (answer). A controller
// reads every version; an agent is answered in version 2 only when a launch has CPUs, which only
// an agent that reported its CPU ids gets, and in version 3 only when it has signals to send,
// which only an agent that takes signals (a version 3 request) gets. Version 4 of the request adds
// the node's features and the size of its temporary file system; version 4 of the answer adds the
// launches' terminals, sent only when a launch has one, which only an agent that takes terminals
// (a version 5 request says so) gets.
constexpr std::string_view kRequestMagic1 = "\x01gwang-sync-1\n";
constexpr std::string_view kRequestMagic2 = "\x01gwang-sync-2\n";
constexpr std::string_view kRequestMagic3 = "\x01gwang-sync-3\n";
constexpr std::string_view kRequestMagic4 = "\x01gwang-sync-4\n";
constexpr std::string_view kRequestMagic5 = "\x01gwang-sync-5\n";
constexpr std::string_view kRequestMagic = "\x01gwang-sync-6\n";
constexpr std::string_view kResponseMagic1 = "\x01gwang-orders-1\n";
constexpr std::string_view kResponseMagic2 = "\x01gwang-orders-2\n";
constexpr std::string_view kResponseMagic3 = "\x01gwang-orders-3\n";
constexpr std::string_view kResponseMagic4 = "\x01gwang-orders-4\n";
constexpr std::string_view kResponseMagic = "\x01gwang-orders-5\n";

int small_int(api::Decoder& d) {
  const std::int64_t v = d.i();
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    d.fail("a value out of range");
    return 0;
  }
  return static_cast<int>(v);
}

TaskEnd task_end(api::Decoder& d) {
  return static_cast<TaskEnd>(d.u(static_cast<std::uint64_t>(TaskEnd::OutOfMemory)));
}

using api::decode_each;
using api::decode_ints;
using api::decode_strings;
using api::encode_ints;
using api::encode_strings;

template <typename T>
Result<T> done(api::Decoder& d, T value, const char* what) {
  if (d.ok() && !d.at_end()) d.fail("bytes after the end");
  if (!d.ok()) return fail(std::string("malformed ") + what + " (binary): " + d.error());
  return value;
}

}  // namespace

bool is_binary(std::string_view body) {
  for (const std::string_view magic :
       {kRequestMagic, kRequestMagic5, kRequestMagic4, kRequestMagic3, kRequestMagic2, kRequestMagic1, kResponseMagic,
        kResponseMagic4, kResponseMagic3, kResponseMagic2, kResponseMagic1}) {
    if (body.starts_with(magic)) return true;
  }
  return false;
}

std::string encode(const SyncRequest& r) {
  api::Encoder e;
  e.s(r.node);
  e.s(r.instance);
  e.s(r.address);
  e.i(r.host.cpus);
  e.i(r.host.memory_bytes);
  encode_devices(e, r.host.devices);
  e.s(r.tracking);
  encode_strings(e, r.running);
  e.u(r.finished.size());
  for (const Finished& f : r.finished) {
    e.s(f.task);
    e.u(static_cast<std::uint64_t>(f.status.end));
    e.i(f.status.exit_code);
    e.i(f.status.signal);
    e.s(f.message);
    e.u(f.fenced);
  }
  e.u(r.logs.size());
  for (const LogChunk& c : r.logs) {
    e.s(c.task);
    e.u(c.stderr_stream);
    e.i(c.offset);
    e.bytes(c.data);
  }
  e.i(r.wait_ms);
  // Added later, at the end: the CPU topology (a controller of the previous version stops before).
  encode_ints(e, r.host.cpu_ids);
  encode_ints(e, r.host.cpu_cores);
  for (const Device& d : r.host.devices) encode_ints(e, d.near_cpus);
  // Version 3: the signals sent.
  e.u(r.signalled.size());
  for (const auto& [task, serial] : r.signalled) {
    e.s(task);
    e.i(serial);
  }
  // Version 4: the node's features and temporary file system; 5: whether it takes terminals; 6:
  // whether it serves sessions.
  encode_strings(e, r.host.features);
  e.i(r.host.tmp_bytes);
  e.u(r.takes_terminals);
  e.u(r.takes_services);
  return e.finish(kRequestMagic);
}

Result<SyncRequest> decode_request(std::string_view body) {
  constexpr std::string_view kMagics[] = {kRequestMagic1, kRequestMagic2, kRequestMagic3,
                                          kRequestMagic4, kRequestMagic5, kRequestMagic};
  int version = 1;
  for (int v = 2; v <= 6; ++v) {
    if (body.starts_with(kMagics[v - 1])) version = v;
  }
  const bool v2 = version >= 2;
  api::Decoder d(body, kMagics[version - 1]);
  SyncRequest r;
  r.node = d.s();
  r.instance = d.s();
  r.address = d.s();
  r.host.cpus = small_int(d);
  r.host.memory_bytes = d.i();
  r.host.devices = decode_devices(d);
  r.tracking = d.s();
  r.running = decode_strings(d);
  decode_each(d, r.finished, [&](Finished& f) {
    f.task = d.s();
    f.status.end = task_end(d);
    f.status.exit_code = small_int(d);
    f.status.signal = small_int(d);
    f.message = d.s();
    f.fenced = d.u(1) != 0;
  });
  decode_each(d, r.logs, [&](LogChunk& c) {
    c.task = d.s();
    c.stderr_stream = d.u(1) != 0;
    c.offset = d.i();
    c.data = d.bytes();
  });
  r.wait_ms = small_int(d);
  if (v2) {
    r.host.cpu_ids = decode_ints(d);
    r.host.cpu_cores = decode_ints(d);
    for (Device& x : r.host.devices) x.near_cpus = decode_ints(d);
  }
  if (version >= 3) {
    r.takes_signals = true;
    for (std::size_t n = d.count(); n > 0 && d.ok(); --n) {
      std::string task(d.s());
      r.signalled[std::move(task)] = small_int(d);
    }
  }
  if (version >= 4) {
    r.host.features = decode_strings(d);
    r.host.tmp_bytes = d.i();
  }
  if (version >= 5) r.takes_terminals = d.u(1) != 0;
  if (version >= 6) r.takes_services = d.u(1) != 0;
  return done(d, std::move(r), "sync request");
}

std::string encode(const SyncResponse& r) {
  api::Encoder e;
  e.u(r.launch.size());
  for (const Launch& l : r.launch) {
    e.s(l.task);
    e.i(l.job);
    e.i(l.attempt);
    e.i(l.rank);
    e.i(l.step);
    e.s(l.user);
    encode_strings(e, l.argv);
    e.s(l.workdir);
    api::encode_pairs(e, l.env);
    encode_strings(e, l.devices);
    e.i(l.memory_limit_bytes);
    e.s(l.script);
    e.s(l.output);
    e.s(l.error);
    e.u(l.output_append);
    e.s(l.input);
  }
  e.u(r.terminate.size());
  for (const Terminate& t : r.terminate) {
    e.s(t.task);
    e.u(static_cast<std::uint64_t>(t.why));
    e.s(t.message);
  }
  encode_strings(e, r.acked);
  e.u(r.log_offsets.size());
  for (const auto& [key, offset] : r.log_offsets) {
    e.s(key);
    e.i(offset);
  }
  e.i(r.node_timeout_ms);
  // The launches' CPUs, at the end and only when some launch has them: an agent of the previous
  // version (which reports no CPU ids, so gets none) reads the answer as before.
  // Likewise the signals, after them, only when there are some.
  // Then the launches' terminals, only when one has one (version 4); then their services (5).
  const bool v5 = std::any_of(r.launch.begin(), r.launch.end(), [](const Launch& l) { return l.service_port >= 0; });
  const bool v4 =
      v5 || std::any_of(r.launch.begin(), r.launch.end(), [](const Launch& l) { return l.terminal_rows > 0; });
  const bool v3 = v4 || !r.signal.empty();
  const bool v2 = v3 || std::any_of(r.launch.begin(), r.launch.end(), [](const Launch& l) { return !l.cpus.empty(); });
  if (v2) {
    for (const Launch& l : r.launch) {
      encode_ints(e, l.cpus);
      e.u(static_cast<unsigned>(l.cpu_bind_verbose) | static_cast<unsigned>(l.cpu_bind_none) << 1);
    }
  }
  if (v3) {
    e.u(r.signal.size());
    for (const Signal& s : r.signal) {
      e.s(s.task);
      e.i(s.serial);
      e.i(s.number);
      e.u(s.main_only);
    }
  }
  if (v4) {
    for (const Launch& l : r.launch) {
      e.i(l.terminal_rows);
      e.i(l.terminal_cols);
      e.s(l.terminal_secret);
    }
  }
  if (v5) {
    for (const Launch& l : r.launch) {
      e.i(l.service_port);
      e.s(l.service_secret);
    }
  }
  return e.finish(v5   ? kResponseMagic
                  : v4 ? kResponseMagic4
                  : v3 ? kResponseMagic3
                  : v2 ? kResponseMagic2
                       : kResponseMagic1);
}

Result<SyncResponse> decode_response(std::string_view body) {
  const int version = body.starts_with(kResponseMagic)    ? 5
                      : body.starts_with(kResponseMagic4) ? 4
                      : body.starts_with(kResponseMagic3) ? 3
                      : body.starts_with(kResponseMagic2) ? 2
                                                          : 1;
  const bool v2 = version >= 2;
  api::Decoder d(body, version == 5   ? kResponseMagic
                       : version == 4 ? kResponseMagic4
                       : version == 3 ? kResponseMagic3
                       : v2           ? kResponseMagic2
                                      : kResponseMagic1);
  SyncResponse r;
  decode_each(d, r.launch, [&](Launch& l) {
    l.task = d.s();
    l.job = d.i();
    l.attempt = small_int(d);
    l.rank = small_int(d);
    l.step = small_int(d);
    l.user = d.s();
    l.argv = decode_strings(d);
    l.workdir = d.s();
    l.env = api::decode_pairs(d);
    l.devices = decode_strings(d);
    l.memory_limit_bytes = d.i();
    l.script = d.s();
    l.output = d.s();
    l.error = d.s();
    l.output_append = d.u(1) != 0;
    l.input = d.s();
  });
  decode_each(d, r.terminate, [&](Terminate& t) {
    t.task = d.s();
    t.why = task_end(d);
    t.message = d.s();
  });
  r.acked = decode_strings(d);
  for (std::size_t n = d.count(); n > 0 && d.ok(); --n) {
    std::string key(d.s());
    r.log_offsets[std::move(key)] = d.i();
  }
  r.node_timeout_ms = d.i();
  if (v2) {
    for (Launch& l : r.launch) {
      l.cpus = decode_ints(d);
      const std::uint64_t flags = d.u(3);
      l.cpu_bind_verbose = (flags & 1) != 0;
      l.cpu_bind_none = (flags & 2) != 0;
    }
  }
  if (version >= 3) {
    decode_each(d, r.signal, [&](Signal& s) {
      s.task = d.s();
      s.serial = small_int(d);
      s.number = small_int(d);
      s.main_only = d.u(1) != 0;
    });
  }
  if (version >= 4) {
    for (Launch& l : r.launch) {
      l.terminal_rows = small_int(d);
      l.terminal_cols = small_int(d);
      if (l.terminal_rows < 0 || l.terminal_rows > 10000 || l.terminal_cols < 0 || l.terminal_cols > 10000)
        d.fail("a terminal's size out of range");
      l.terminal_secret = d.s();
    }
  }
  if (version >= 5) {
    for (Launch& l : r.launch) {
      l.service_port = small_int(d);
      if (l.service_port < -1 || l.service_port > 65535) d.fail("a service's port out of range");
      l.service_secret = d.s();
    }
  }
  return done(d, std::move(r), "sync answer");
}

}  // namespace gwang::agent::protocol::binary

namespace gwang::agent {

void encode_devices(api::Encoder& e, const std::vector<Device>& devices) {
  e.u(devices.size());
  for (const Device& d : devices) {
    e.s(d.kind);
    e.s(d.name);
    e.s(d.uuid);
    e.i(d.index);
    e.i(d.memory_bytes);
    e.u(d.declared);
  }
}

std::vector<Device> decode_devices(api::Decoder& d) {
  std::vector<Device> out;
  api::decode_each(d, out, [&](Device& x) {
    x.kind = d.s();
    x.name = d.s();
    x.uuid = d.s();
    x.index = protocol::binary::small_int(d);
    x.memory_bytes = d.i();
    x.declared = d.u(1) != 0;
  });
  return out;
}

}  // namespace gwang::agent
