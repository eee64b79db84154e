// Slurm's dependencies (--dependency) as the scheduler core's conditions: the one mapping that the
// controller and the simulator share. Header only: the core's types, no code of the core's.
#pragma once

#include <vector>

#include "core/job.h"
#include "slurm/specs.h"

namespace gwang::slurm {

inline core::DependencyKind core_kind(Dependency::Kind k) {
  switch (k) {
    case Dependency::Kind::After:
      return core::DependencyKind::After;
    case Dependency::Kind::AfterAny:
      return core::DependencyKind::AfterAny;
    case Dependency::Kind::AfterOk:
      return core::DependencyKind::AfterOk;
    case Dependency::Kind::AfterNotOk:
      return core::DependencyKind::AfterNotOk;
    case Dependency::Kind::AfterCorr:
      return core::DependencyKind::AfterCorr;
    case Dependency::Kind::Singleton:
      return core::DependencyKind::Singleton;
  }
  return core::DependencyKind::AfterAny;
}

// Sets `spec`'s dependencies: one per target (a singleton has none), the jobs by the ids written.
inline void set_core_dependencies(const DependencySpec& d, core::JobSpec& spec) {
  spec.depends_any = d.any;
  for (const Dependency& dep : d.all) {
    const core::DependencyKind kind = core_kind(dep.kind);
    if (dep.targets.empty()) spec.depends.push_back({kind, core::JobId{}, -1, 0});
    for (const Dependency::Target& t : dep.targets) {
      spec.depends.push_back({kind, core::JobId{t.job}, t.task.value_or(-1), t.delay_minutes * 60});
    }
  }
}

}  // namespace gwang::slurm
