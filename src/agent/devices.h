// What a node has to offer: CPUs, memory and accelerator devices.
//
// NVIDIA GPUs are found through NVML, loaded at run time (no NVIDIA header or library is needed to
// build gwang; a host without the driver simply has no NVIDIA GPUs). Other devices, an NPU or a GPU
// the agent should not probe, are declared in the agent's configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace gwang::agent {

struct Device {
  std::string kind;  // the resource kind the scheduler knows it by: "gpu:H100", "npu:ascend910"
  std::string name;  // as the vendor names it: "NVIDIA H100 80GB HBM3"
  std::string uuid;  // NVML's UUID, or "<kind>-<index>" for declared devices
  int index = 0;     // the vendor's index on this node (CUDA_VISIBLE_DEVICES uses it)
  std::int64_t memory_bytes = 0;
  bool declared = false;  // from the configuration rather than discovered
  // The device file jobs use it through ("/dev/nvidia0") and its number: a job that was not given
  // the device is kept from that file (the cgroup devices controller). Unknown: "" and -1.
  std::string file;
  char file_type = 'c';  // 'c' (character) or 'b' (block)
  int major = -1, minor = -1;
  // The CPU ids near it (its NUMA node's), where NVML or the configuration says; empty: unknown.
  std::vector<int> near_cpus;
};

struct DeclaredDevices {
  std::string kind;  // "npu:ascend910"; "family:model" with a family of letters, digits, '-' or '_'
  int count = 0;
  std::int64_t memory_bytes = 0;
  std::vector<std::string> files;  // the device file of each ("/dev/davinci0", ...), or none
  std::vector<int> near_cpus;      // the CPU ids near these devices; empty: unknown
};

// Sets a device's file and number from the device file at `path`. Errors: it does not exist, or is
// not a device file.
Result<void> set_device_file(Device& device, const std::string& path);
// The cgroup rule that keeps a task from a device: "c 195:1 rwm"; "" when its file is unknown.
std::string deny_rule(const Device& device);

struct HostResources {
  int cpus = 0;
  // The logical CPUs tasks may be bound to (cpus of them, ascending) and the physical core of
  // each; empty where they are not known or fewer than `cpus` (then tasks are not bound).
  std::vector<int> cpu_ids, cpu_cores;
  std::int64_t memory_bytes = 0;
  std::vector<Device> devices;
  std::string nvml_status;  // what NVML discovery found or why it found nothing
  // What jobs may ask of the node besides its resources (Slurm's --constraint, --tmp): the
  // features its configuration gives it, and the size of its temporary file system.
  std::vector<std::string> features;
  std::int64_t tmp_bytes = 0;
};

// The size of the file system holding `path` (a node's TmpFS), in bytes; 0 where it cannot be read.
std::int64_t file_system_bytes(const std::string& path);

// The scheduler's model name for an NVIDIA product name: vendor and line words dropped, the first
// remaining word cut at its first '-' ("NVIDIA H100 80GB HBM3" -> "H100", "NVIDIA A100-SXM4-80GB" ->
// "A100", "Tesla V100-SXM2-32GB" -> "V100"; "NVIDIA GeForce RTX 4090" -> "RTX4090").
std::string nvidia_model(const std::string& product_name);

// Checks a declared kind's form; the error names the bad part.
Result<void> validate_kind(const std::string& kind);

// NVIDIA GPUs through `library` (normally "libnvidia-ml.so.1"). A library that cannot be loaded
// means no NVIDIA GPU (not an error); one that loads but fails to answer is an error.
Result<std::vector<Device>> discover_nvidia(const std::string& library, std::string* status = nullptr);

// Keeps the first `cpus` of the host's CPU ids (and their cores), or none when it has fewer: a node
// declared with more CPUs than the host has does not bind its tasks.
void limit_cpus(HostResources& host, int cpus);

// This host's CPUs (those this process may run on, with their cores from sysfs) and memory, NVIDIA GPUs if
// `nvml_library` is not empty, and the declared devices appended (indexed from 0 per kind).
Result<HostResources> discover_host(const std::vector<DeclaredDevices>& declared,
                                    const std::string& nvml_library = "libnvidia-ml.so.1");

}  // namespace gwang::agent
