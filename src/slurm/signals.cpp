#include "slurm/signals.h"

#include <cctype>
#include <charconv>
#include <csignal>
#include <utility>

namespace gwang::slurm {

namespace {

constexpr std::pair<std::string_view, int> kNames[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ABRT", SIGABRT}, {"KILL", SIGKILL}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"URG", SIGURG},   {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"XCPU", SIGXCPU},
};

bool same_letters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<int> signal_number(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text.front()))) {
    int n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 0xffff) return std::nullopt;
    return n;
  }
  if (text.size() > 3 && same_letters(text.substr(0, 3), "SIG")) text.remove_prefix(3);
  for (const auto& [name, number] : kNames) {
    if (same_letters(text, name)) return number;
  }
  return std::nullopt;
}

std::string signal_name(int number) {
  for (const auto& [name, n] : kNames) {
    if (n == number) return std::string(name);
  }
  return std::to_string(number);
}

Result<SignalSpec> parse_signal_spec(std::string_view text, bool batch_allowed) {
  const auto invalid = [] { return fail("Invalid --signal specification"); };
  SignalSpec spec;
  auto flag = [&](char letter, bool& on) {
    if (!text.empty() && std::toupper(static_cast<unsigned char>(text.front())) == letter) {
      on = true;
      text.remove_prefix(1);
    }
  };
  // Slurm's order: R, then (sbatch) B, then R again (BR and RB), then an optional ':'.
  flag('R', spec.reservation);
  if (batch_allowed) {
    flag('B', spec.batch_only);
    flag('R', spec.reservation);
  }
  if (!text.empty() && text.front() == ':') text.remove_prefix(1);
  const auto at = text.find('@');
  const auto number = signal_number(text.substr(0, at));
  if (!number) return invalid();
  spec.number = *number;
  if (at == std::string_view::npos) return spec;
  const std::string_view seconds = text.substr(at + 1);
  int n = 0;
  auto [end, ec] = std::from_chars(seconds.data(), seconds.data() + seconds.size(), n);
  if (seconds.empty() || ec != std::errc() || end != seconds.data() + seconds.size() || n < 0 || n > 0xffff) {
    return invalid();
  }
  spec.seconds = n;
  return spec;
}

std::string format_signal_spec(const SignalSpec& spec) {
  std::string out;
  if (spec.reservation) out += "R";
  if (spec.batch_only) out += "B";
  if (!out.empty()) out += ":";
  return out + std::to_string(spec.number) + "@" + std::to_string(spec.seconds);
}

}  // namespace gwang::slurm
