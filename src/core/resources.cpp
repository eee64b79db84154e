#include "core/resources.h"

#include <cassert>

namespace gwang::core {

ResourceRegistry::ResourceRegistry() {
  intern("cpu");
  intern("memory");
}

ResourceKind ResourceRegistry::intern(std::string_view name) {
  if (auto found = find(name)) return *found;
  assert(names_.size() < 0xffff);
  names_.emplace_back(name);
  accelerator_.push_back(name.find(':') != std::string_view::npos);
  return ResourceKind{static_cast<std::uint16_t>(names_.size() - 1)};
}

std::optional<ResourceKind> ResourceRegistry::find(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return ResourceKind{static_cast<std::uint16_t>(i)};
  }
  return std::nullopt;
}

std::optional<int> ResourceRegistry::intern_feature(std::string_view name) {
  if (auto found = find_feature(name)) return found;
  if (features_.size() >= static_cast<std::size_t>(kMaxFeatures)) return std::nullopt;
  features_.emplace_back(name);
  return static_cast<int>(features_.size() - 1);
}

std::optional<int> ResourceRegistry::find_feature(std::string_view name) const {
  for (std::size_t i = 0; i < features_.size(); ++i) {
    if (features_[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

void ResourceVector::set(ResourceKind kind, Milli amount) {
  if (kind.value >= amounts_.size()) {
    if (amount == 0) return;
    amounts_.resize(kind.value + 1, 0);
  }
  amounts_[kind.value] = amount;
}

bool ResourceVector::fits_in(const ResourceVector& other) const {
  for (std::size_t i = 0; i < amounts_.size(); ++i) {
    const Milli have = i < other.amounts_.size() ? other.amounts_[i] : 0;
    if (amounts_[i] > have) return false;
  }
  return true;
}

ResourceVector& ResourceVector::operator+=(const ResourceVector& other) {
  if (other.amounts_.size() > amounts_.size()) amounts_.resize(other.amounts_.size(), 0);
  for (std::size_t i = 0; i < other.amounts_.size(); ++i) amounts_[i] += other.amounts_[i];
  return *this;
}

ResourceVector& ResourceVector::operator-=(const ResourceVector& other) {
  if (other.amounts_.size() > amounts_.size()) amounts_.resize(other.amounts_.size(), 0);
  for (std::size_t i = 0; i < other.amounts_.size(); ++i) amounts_[i] -= other.amounts_[i];
  return *this;
}

ResourceVector ResourceVector::scaled(std::int64_t factor) const {
  ResourceVector out = *this;
  for (auto& amount : out.amounts_) amount *= factor;
  return out;
}

bool ResourceVector::empty() const {
  return std::all_of(amounts_.begin(), amounts_.end(), [](Milli a) { return a == 0; });
}

bool ResourceVector::operator==(const ResourceVector& other) const {
  const std::size_t n = std::max(amounts_.size(), other.amounts_.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (get(ResourceKind{static_cast<std::uint16_t>(i)}) != other.get(ResourceKind{static_cast<std::uint16_t>(i)}))
      return false;
  }
  return true;
}

}  // namespace gwang::core
