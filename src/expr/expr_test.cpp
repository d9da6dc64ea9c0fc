#include <gtest/gtest.h>
#include "expr/expr.h"
