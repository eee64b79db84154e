#!/usr/bin/env bash
# Builds and runs one fuzz target for a while.
#
#   tests/fuzz/run_fuzz.sh TARGET SECONDS [BUILD_DIR]
#
# TARGET is swf, alibaba, job_table, submit, config, protocol, books or script (tests/fuzz/fuzz_TARGET.cpp). The target and the sources it reads are compiled
# with clang++-14 and libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer into BUILD_DIR/TARGET
# (BUILD_DIR defaults to $GWANG_FUZZ_BUILD, else build-fuzz/ in the repository), rebuilt only when a
# source changed. The corpus there is seeded from fixtures and kept between runs.
# GWANG_FUZZ_RUNS=N stops after N executions (SECONDS still bounds the run).
# Exits non-zero when the build fails or the fuzzer finds a crash, a leak or undefined behaviour;
# the input that did it is left in BUILD_DIR/TARGET/artifacts/.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 swf|alibaba|job_table|submit|config|protocol|books|script SECONDS [BUILD_DIR]" >&2
  exit 2
fi
target=$1
seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${3:-${GWANG_FUZZ_BUILD:-$root/build-fuzz}}
cxx=${GWANG_FUZZ_CXX:-clang++-14}

case $target in
  swf) seeds=("$root"/tests/trace/data/*.swf) ;;
  alibaba) seeds=("$root"/tests/trace/data/*.csv) ;;
  job_table) seeds=("$root"/tests/fuzz/seeds/job_table*.json) ;;
  submit) seeds=("$root"/tests/fuzz/seeds/submit*.json) ;;
  config) seeds=("$root"/tests/fuzz/seeds/config*.toml) ;;
  protocol) seeds=("$root"/tests/fuzz/seeds/protocol*.json "$root"/tests/fuzz/seeds/protocol*.bin) ;;
  books) seeds=("$root"/tests/fuzz/seeds/books*.txt) ;;
  script) seeds=("$root"/tests/fuzz/seeds/script*.txt) ;;
  *) echo "$0: unknown target '$target' (swf, alibaba, job_table, submit, config, protocol, books or script)" >&2; exit 2 ;;
esac

dir=$build/$target
mkdir -p "$dir/corpus" "$dir/artifacts"
binary=$dir/fuzz_$target
libs=()
if [ "$target" = job_table ]; then
  sources=("$root/tests/fuzz/fuzz_$target.cpp" "$root/src/api/job_table.cpp")
  headers=("$root/src/api/job_table.h" "$root/src/api/json_writer.h" "$root/src/api/utf8.h" "$root/src/core/result.h")
elif [ "$target" = submit ]; then
  sources=("$root/tests/fuzz/fuzz_$target.cpp" "$root/src/api/request.cpp" "$root/src/api/session.cpp"
           "$root/src/api/units.cpp" "$root/src/core/calendar.cpp" "$root/src/slurm/specs.cpp" "$root/src/slurm/mail.cpp"
           "$root/src/slurm/signals.cpp" "$root/src/slurm/features.cpp" "$root/src/slurm/binding.cpp")
  headers=("$root/src/api/request.h" "$root/src/api/session.h" "$root/src/api/units.h" "$root/src/core/calendar.h"
           "$root/src/core/result.h"
           "$root/src/slurm/specs.h" "$root/src/slurm/mail.h")
elif [ "$target" = config ]; then
  sources=("$root/tests/fuzz/fuzz_$target.cpp" "$root/src/config/config.cpp" "$root/src/agent/devices.cpp"
           "$root/src/api/units.cpp" "$root/src/core/calendar.cpp" "$root/src/core/queue_policy.cpp"
           "$root/src/core/cpus.cpp" "$root/src/slurm/hostlist.cpp" "$root/src/slurm/licenses.cpp"
           "$root/src/api/urls.cpp")
  headers=("$root/src/config/config.h" "$root/src/agent/devices.h" "$root/src/api/units.h" "$root"/src/core/*.h
           "$root/src/api/partition.h" "$root/src/slurm/hostlist.h" "$root/src/slurm/licenses.h" "$root/src/api/urls.h")
elif [ "$target" = protocol ]; then
  sources=("$root/tests/fuzz/fuzz_$target.cpp" "$root/src/agent/protocol.cpp" "$root/src/agent/task.cpp"
           "$root/src/agent/tracker.cpp" "$root/src/agent/node.cpp" "$root/src/agent/devices.cpp"
           "$root/src/agent/account.cpp" "$root/src/api/base64.cpp" "$root/src/agent/protocol_binary.cpp"
           "$root/src/core/cpus.cpp" "$root/src/slurm/membind.cpp" "$root/src/agent/cpufreq.cpp"
           "$root/src/slurm/cpufreq.cpp" "$root/src/agent/gpufreq.cpp" "$root/src/slurm/specs.cpp"
           "$root/src/core/calendar.cpp" "$root/src/agent/terminal_link.cpp" "$root/src/api/urls.cpp"
           "$root/src/agent/service_link.cpp" "$root/src/api/service_frame.cpp" "$root/src/net/tls.cpp")
  headers=("$root"/src/agent/*.h "$root/src/core/result.h" "$root/src/core/cpus.h" "$root/src/api/base64.h"
           "$root/src/api/codec.h" "$root/src/api/utf8.h" "$root/src/slurm/membind.h" "$root/src/slurm/cpufreq.h"
           "$root/src/api/urls.h" "$root/src/api/service_frame.h" "$root"/src/net/*.h)
  libs=(-lssl -lcrypto)
elif [ "$target" = books ]; then
  sources=("$root/tests/fuzz/fuzz_$target.cpp" "$root/src/controller/accounting.cpp" "$root"/src/core/*.cpp)
  headers=("$root/src/controller/accounting.h" "$root/src/api/codec.h" "$root/src/api/utf8.h" "$root"/src/core/*.h)
elif [ "$target" = script ]; then
  sources=("$root/tests/fuzz/fuzz_$target.cpp" "$root"/src/slurm/*.cpp)
  headers=("$root"/src/slurm/*.h "$root/src/core/result.h")
else
  sources=("$root/tests/fuzz/fuzz_$target.cpp" "$root"/src/trace/*.cpp)
  headers=("$root"/src/trace/*.h "$root/src/core/result.h")
fi

stale=0
if [ ! -x "$binary" ]; then
  stale=1
else
  for f in "${sources[@]}" "${headers[@]}" "$0"; do
    if [ "$f" -nt "$binary" ]; then stale=1; break; fi
  done
fi
if [ $stale = 1 ]; then
  echo "fuzz_$target: building with $cxx" >&2
  "$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Wpedantic -I "$root/src" "${sources[@]}" -lz -ldl "${libs[@]}" -o "$binary.tmp"
  mv "$binary.tmp" "$binary"
fi

# Seed the corpus: the fixtures whole, and (traces) each of their lines alone.
for seed in "${seeds[@]}"; do
  name=$(basename "$seed")
  cp "$seed" "$dir/corpus/seed_$name"
  [ "$target" = job_table ] || [ "$target" = submit ] || [ "$target" = config ] || [ "$target" = protocol ] || [ "$target" = books ] || [ "$target" = script ] && continue
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    if [ "$target" = alibaba ]; then
      printf '\001%s\n' "$line" > "$dir/corpus/seed_${name}_$n"  # first byte 1: header added
    else
      printf '%s\n' "$line" > "$dir/corpus/seed_${name}_$n"
    fi
  done < "$seed"
done

cd "$dir"
# GWANG_FUZZ_RUNS=N: stop after N executions instead (SECONDS still bounds the run).
runs=()
[ -n "${GWANG_FUZZ_RUNS:-}" ] && runs=(-runs="$GWANG_FUZZ_RUNS")
exec "$binary" -max_total_time="$seconds" "${runs[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus"
