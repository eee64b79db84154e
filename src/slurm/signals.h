// Signals as Slurm names them (scancel --signal, sbatch and srun --signal): "USR1", "SIGUSR1" or
// "10", and --signal's "[{R|B}:]SIGNAL[@SECONDS]" (sent that many seconds before the job's time
// limit; 60 when not given).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gwang::slurm {

// A signal's number from a name ("USR1", "sigusr1": Slurm's names, any case, SIG optional) or a
// number ("10", 1 to 65535 as Slurm takes it); nullopt when it is neither.
std::optional<int> signal_number(std::string_view text);
// Slurm's name of a signal ("USR1"), or its number where Slurm has no name.
std::string signal_name(int number);

struct SignalSpec {
  int number = 0;
  int seconds = 60;          // before the job's end
  bool batch_only = false;   // B: the batch shell only (sbatch), not the job's steps
  bool reservation = false;  // R: (about reservations: gwang has none, so nothing changes)
  bool operator==(const SignalSpec&) const = default;
};

// --signal's value; `batch_allowed` (sbatch's) takes B:. Refused: Slurm's "Invalid --signal
// specification".
Result<SignalSpec> parse_signal_spec(std::string_view text, bool batch_allowed);
// The value back, as Slurm writes it: "B:10@90", "10@60" (a number, never a name).
std::string format_signal_spec(const SignalSpec& spec);

}  // namespace gwang::slurm
