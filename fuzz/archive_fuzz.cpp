// Checkpoint / weights archive reader (header JSON, sizes, CRCs); loading into a module checks names and shapes.
#include "fuzz_common.h"
#include "targets.h"

GANPP_FUZZ_TARGET(ganpp::fuzz::archive(bytes))
