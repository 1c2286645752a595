// 2-D mixture layouts (data.layout).
#include "fuzz_common.h"
#include "targets.h"

GANPP_FUZZ_TARGET(ganpp::fuzz::layout(bytes))
