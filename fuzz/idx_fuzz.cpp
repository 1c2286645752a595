// IDX reader (MNIST format, raw or gzipped).
#include "fuzz_common.h"
#include "targets.h"

GANPP_FUZZ_TARGET(ganpp::fuzz::idx(bytes))
