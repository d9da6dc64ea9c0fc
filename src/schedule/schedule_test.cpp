#include "schedule/schedule.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

TEST(Schedule, Placeholder) {}

}  // namespace
}  // namespace weft
