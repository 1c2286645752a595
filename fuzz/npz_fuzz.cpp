// NumPy .npz (zip, stored or deflated) and .npy readers, as FID statistics and feature files use them.
#include "fuzz_common.h"
#include "targets.h"

GANPP_FUZZ_TARGET(ganpp::fuzz::npz(bytes))
