#pragma once
#include "ganpp/core/config.h"

namespace ganpp {

// Refuses contradictory option combinations at config time, with a message that says why.
void validate_config(const Config& cfg);
// The gradient-penalty weight in force: loss.gp when set, else what the loss implies (wgan-gp: 10).
double gp_weight(const Config& cfg);

}  // namespace ganpp
