#include "ganpp/losses/loss.h"

namespace ganpp {

std::shared_ptr<AdversarialLoss> create_loss(const Config& cfg) {
  return LossRegistry::instance().create("loss (loss.name)", cfg.get_str("loss.name"), cfg);
}

double real_label(const Config& cfg) { return 1.0 - cfg.get_float("loss.label_smoothing"); }

}  // namespace ganpp
