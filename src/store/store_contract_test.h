// The Store contract as a parameterised GoogleTest suite, written against
// Store& alone so every implementation (sqlite/, postgres/) runs the very same
// tests. An implementation instantiates it with a harness factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
//                            ::testing::Values(StoreContractParam{"sqlite", MakeHarness}),
//                            StoreContractName);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "core/store.h"

namespace weft {

// Gives the store under test. The first Open() of a harness yields an empty
// store; once that store is destroyed, Open() again yields the same data.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual Result<std::unique_ptr<Store>> Open() = 0;
};

struct StoreContractParam {
  std::string name;  // suffix of the test names: "sqlite", "postgres"
  std::function<std::unique_ptr<StoreHarness>()> make_harness;
};

class StoreContractTest : public ::testing::TestWithParam<StoreContractParam> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Closes the store and opens it again on the same data.
  void Reopen();
  Store& store() { return *store_; }

  std::unique_ptr<StoreHarness> harness_;
  std::unique_ptr<Store> store_;
};

std::string StoreContractName(const ::testing::TestParamInfo<StoreContractParam>& info);

}  // namespace weft
