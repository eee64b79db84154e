// The records' parts in the binary encoding of codec.h, each encoder beside its decoder: devices,
// a job's tasks and steps, and a whole job as the snapshot lays it out (each snapshot format from
// 2 on). Decoders read what the encoders write; a damaged input leaves the Decoder failed (with
// the byte offset), or returns an error naming what is wrong.
#pragma once

#include <optional>
#include <vector>

#include "agent/protocol_binary.h"
#include "api/codec.h"
#include "controller/records.h"
#include "core/result.h"

namespace gwang::controller {

using api::Decoder;
using api::Encoder;

// Lists of strings and environments (api/codec.h), and a node's devices as the agent protocol
// lays them out (agent/protocol_binary.h).
using agent::decode_devices;
using agent::encode_devices;
using api::decode_ints;
using api::decode_pairs;
using api::decode_strings;
using api::encode_ints;
using api::encode_pairs;
using api::encode_strings;

// A request's program and shape, from its name to whether it is requeued: the fields the first
// binary snapshot format had, in its order (the rest of a request follows apart in each layout).
void encode_request_shape(Encoder& e, const api::SubmitRequest& r);
void decode_request_shape(Decoder& d, api::SubmitRequest& r);

// A state by its name; a step task's Running as "" (the snapshot's form).
void encode_state(Encoder& e, JobState state);
JobState decode_state(Decoder& d);
void encode_task_state(Encoder& e, JobState state);
JobState decode_task_state(Decoder& d);

void encode_task(Encoder& e, const TaskRecord& t);
TaskRecord decode_task(Decoder& d);

// Errors: an unknown target.
void encode_signal(Encoder& e, const SignalRecord& s);
SignalRecord decode_signal(Decoder& d);

// A session's app, port, idle timeout and secret (api/session.h).
void encode_session(Encoder& e, const api::SessionRequest& s);
api::SessionRequest decode_session(Decoder& d);

void encode_step(Encoder& e, const StepRecord& st);
// Errors: a task on a node the job does not have (of `job_tasks`).
Result<StepRecord> decode_step(Decoder& d, std::size_t job_tasks);

// The latest snapshot format's layout of a job.
inline constexpr int kJobFormat = 29;
// The snapshot's layout of a job, with the first failure of its ranks if one is kept, as format
// `format` has it (25 to the latest: older readers are tested with it).
void encode_job(Encoder& e, const JobRecord& j, const Failure* failure, int format = kJobFormat);
// Reads a job written in snapshot format `format` (2 to the latest) into `j` (as constructed);
// `failure` gets its ranks' first failure if it was kept.
Result<void> decode_job(Decoder& d, int format, JobRecord& j, std::optional<Failure>& failure);

}  // namespace gwang::controller
