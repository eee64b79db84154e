// Metrics in the Prometheus text exposition format (version 0.0.4): a histogram with fixed buckets,
// and writers for families and samples. Not thread-safe: the owner locks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gwang::controller::metrics {

class Histogram {
 public:
  // `bounds`: the upper bounds of the buckets, increasing; +Inf is added.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // The _bucket, _sum and _count samples of `name`, with `labels` ("a=\"b\"", or empty) on each.
  void write(std::string& out, std::string_view name, std::string_view labels = "") const;
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// "# HELP" and "# TYPE" of a family; `type`: counter, gauge or histogram.
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help);
// One sample: name{labels} value.
void sample(std::string& out, std::string_view name, std::string_view labels, double value);
// Labels, their values escaped: {{"model", "gpu:H100"}, {"state", "busy"}} -> model="gpu:H100",state="busy".
std::string labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);

// Bucket bounds, in seconds: from 1 ms to 10 s (passes, requests), and from 1 s to 30 days (waits).
std::vector<double> short_seconds();
std::vector<double> long_seconds();

}  // namespace gwang::controller::metrics
