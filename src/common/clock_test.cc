// Times and spans as people read them.
#include "common/clock.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

TEST(ClockTest, SpansUseTheUnitAPersonWould) {
  struct Case {
    int64_t seconds;
    const char* text;
  } cases[] = {{0, "0 s"},        {59, "59 s"},  {119, "119 s"},   {120, "2 min"},
               {7199, "119 min"}, {7200, "2 h"}, {172799, "47 h"}, {172800, "2 d"}};
  for (const Case& c : cases) EXPECT_EQ(FormatSpan(c.seconds), c.text) << c.seconds;
  EXPECT_EQ(FormatIsoTime(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace pgkeep
