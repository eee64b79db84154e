// Unit tests of the resource registry, ResourceVector and AcceleratorRequest.
#include <gtest/gtest.h>

#include "core/resources.h"

namespace gwang::core {
namespace {

using R = ResourceRegistry;

ResourceKind kind(std::uint16_t v) { return ResourceKind{v}; }

// cpu and memory exist from the start, as ids 0 and 1, and are not accelerators.
TEST(ResourceRegistry, PreInternsCpuAndMemory) {
  ResourceRegistry reg;
  EXPECT_EQ(reg.size(), 2u);
  EXPECT_EQ(reg.find("cpu"), R::kCpu);
  EXPECT_EQ(reg.find("memory"), R::kMemory);
  EXPECT_EQ(reg.name(R::kCpu), "cpu");
  EXPECT_EQ(reg.name(R::kMemory), "memory");
  EXPECT_FALSE(reg.is_accelerator(R::kCpu));
  EXPECT_FALSE(reg.is_accelerator(R::kMemory));
}

// New names get the next dense id; a name with ':' is an accelerator, interning twice is stable.
TEST(ResourceRegistry, InternsDenseIdsAndMarksAcceleratorsByColon) {
  ResourceRegistry reg;
  const ResourceKind v100 = reg.intern("gpu:V100");
  const ResourceKind disk = reg.intern("disk");
  const ResourceKind npu = reg.intern("npu:910B");
  EXPECT_EQ(v100, kind(2));
  EXPECT_EQ(disk, kind(3));
  EXPECT_EQ(npu, kind(4));
  EXPECT_TRUE(reg.is_accelerator(v100));
  EXPECT_FALSE(reg.is_accelerator(disk));
  EXPECT_TRUE(reg.is_accelerator(npu));
  EXPECT_EQ(reg.intern("gpu:V100"), v100);
  EXPECT_EQ(reg.intern("cpu"), R::kCpu);
  EXPECT_EQ(reg.size(), 5u);
  EXPECT_EQ(reg.name(npu), "npu:910B");
}

// find() does not create: unknown names give nullopt and the size is unchanged.
TEST(ResourceRegistry, FindDoesNotIntern) {
  ResourceRegistry reg;
  EXPECT_FALSE(reg.find("gpu:A100").has_value());
  EXPECT_EQ(reg.size(), 2u);
}

// Reading past the end gives 0; setting 0 past the end does not widen the vector.
TEST(ResourceVector, EntriesPastTheEndAreZero) {
  ResourceVector v;
  EXPECT_EQ(v.get(kind(7)), 0);
  v.set(kind(5), 0);
  EXPECT_EQ(v.width(), 0u);
  EXPECT_TRUE(v.empty());
  v.set(kind(2), 300);
  EXPECT_EQ(v.width(), 3u);
  EXPECT_EQ(v.get(kind(2)), 300);
  EXPECT_EQ(v.get(kind(1)), 0);
  v.add(kind(2), 200);
  v.add(kind(4), 10);
  EXPECT_EQ(v.get(kind(2)), 500);
  EXPECT_EQ(v.get(kind(4)), 10);
  EXPECT_FALSE(v.empty());
}

// fits_in compares kind by kind; missing entries on either side count as zero.
TEST(ResourceVector, FitsInAcrossWidths) {
  ResourceVector small;
  small.set(R::kCpu, 1000);
  ResourceVector wide;
  wide.set(R::kCpu, 2000);
  wide.set(kind(3), 500);
  EXPECT_TRUE(small.fits_in(wide));
  EXPECT_FALSE(wide.fits_in(small));  // kind 3: 500 > 0

  ResourceVector wide_zero_tail = small;
  wide_zero_tail.set(kind(6), 1);
  wide_zero_tail.set(kind(6), 0);  // width 7, all but cpu zero
  EXPECT_EQ(wide_zero_tail.width(), 7u);
  EXPECT_TRUE(wide_zero_tail.fits_in(small));
  EXPECT_TRUE(small.fits_in(wide_zero_tail));

  ResourceVector exact;
  exact.set(R::kCpu, 2000);
  exact.set(kind(3), 500);
  EXPECT_TRUE(exact.fits_in(wide));
  exact.add(R::kCpu, 1);
  EXPECT_FALSE(exact.fits_in(wide));
  EXPECT_TRUE(ResourceVector{}.fits_in(ResourceVector{}));
}

// += and -= widen to the wider operand; scaled multiplies every entry.
TEST(ResourceVector, ArithmeticWidensAndScales) {
  ResourceVector a;
  a.set(R::kCpu, 1000);
  ResourceVector b;
  b.set(R::kMemory, 2000);
  b.set(kind(4), 3);
  a += b;
  EXPECT_EQ(a.width(), 5u);
  EXPECT_EQ(a.get(R::kCpu), 1000);
  EXPECT_EQ(a.get(R::kMemory), 2000);
  EXPECT_EQ(a.get(kind(4)), 3);

  ResourceVector c;
  c.set(R::kCpu, 400);
  c -= b;
  EXPECT_EQ(c.get(R::kCpu), 400);
  EXPECT_EQ(c.get(R::kMemory), -2000);
  EXPECT_EQ(c.get(kind(4)), -3);

  const ResourceVector d = a.scaled(3);
  EXPECT_EQ(d.get(R::kCpu), 3000);
  EXPECT_EQ(d.get(R::kMemory), 6000);
  EXPECT_EQ(d.get(kind(4)), 9);
  EXPECT_EQ(a.get(R::kCpu), 1000);  // the original is unchanged

  a -= b;
  ResourceVector only_cpu;
  only_cpu.set(R::kCpu, 1000);
  EXPECT_EQ(a, only_cpu);
}

// Equality ignores trailing zeros: vectors of different widths with the same amounts are equal.
TEST(ResourceVector, EqualityIgnoresWidth) {
  ResourceVector a;
  a.set(R::kCpu, 7);
  ResourceVector b = a;
  b.set(kind(9), 4);
  EXPECT_FALSE(a == b);
  b.set(kind(9), 0);
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(b == a);
  EXPECT_TRUE(ResourceVector{} == ResourceVector{}.scaled(5));
}

// A share is one device with less than 1000 milli; total is count x per_device; empty models allow any.
TEST(AcceleratorRequest, SharedTotalAndAllows) {
  AcceleratorRequest whole{.count = 2, .per_device = kMilli, .models = {}};
  EXPECT_FALSE(whole.shared());
  EXPECT_EQ(whole.total(), 2000);
  EXPECT_TRUE(whole.allows(kind(2)));

  AcceleratorRequest share{.count = 1, .per_device = 250, .models = {kind(3)}};
  EXPECT_TRUE(share.shared());
  EXPECT_EQ(share.total(), 250);
  EXPECT_TRUE(share.allows(kind(3)));
  EXPECT_FALSE(share.allows(kind(2)));

  AcceleratorRequest one{.count = 1, .per_device = kMilli, .models = {}};
  EXPECT_FALSE(one.shared());
}

}  // namespace
}  // namespace gwang::core
