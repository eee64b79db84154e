// A batch workload written in sbatch's own terms, for `gwang sim replay --format sbatch`: one
// submission a line, "SUBMIT RUN EXIT USER OPTIONS...":
//   SUBMIT  seconds from the workload's start when it is submitted;
//   RUN     seconds it runs once started (each task of an array alike);
//   EXIT    its exit code: 0, or another that fails it (what afterok and afternotok look at);
//   USER    who submits it (fair share, singleton);
//   OPTIONS sbatch's options, read by sbatch's own reader (quotes as in a shell): -n, -N,
//           --ntasks-per-node, -c (the job's width is tasks x CPUs per task), -t (the time limit
//           and the plan; default 365 days, gwang's UNLIMITED), -J, -a (ranges, steps, %limits),
//           -d (after, afterany, afterok, afternotok, aftercorr, singleton; "?" for any),
//           -b (now+N[units] from its submission).
// Lines that are blank or start with '#' are skipped. Each line takes the next job id from 1, an
// array one per task, as gwang gives them, and -d names jobs by those ids. Errors name the file,
// the line and what is wrong; other options of sbatch's are refused by name.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "sim/replay.h"

namespace gwang::sim {

// The jobs, in submission order (an array's tasks together), each with its condition; BatchJob::id
// is its job id.
Result<std::vector<BatchJob>> read_sbatch_workload(const std::string& text, const std::string& name);

}  // namespace gwang::sim
