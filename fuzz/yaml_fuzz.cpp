// Training configuration: YAML parsing against the schema, then the cross-key validation every run goes through.
#include "fuzz_common.h"
#include "targets.h"

GANPP_FUZZ_TARGET(ganpp::fuzz::yaml(bytes))
