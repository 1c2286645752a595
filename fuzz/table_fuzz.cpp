// CSV and JSON-lines tables (ganpp plot).
#include "fuzz_common.h"
#include "targets.h"

GANPP_FUZZ_TARGET(ganpp::fuzz::table(bytes))
