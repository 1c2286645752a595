#include "ganpp/train/validate.h"

#include <fmt/format.h>

#include "ganpp/core/device.h"
#include "ganpp/core/error.h"
#include "ganpp/losses/loss.h"
#include "ganpp/nn/diffaugment.h"

namespace ganpp {

double gp_weight(const Config& cfg) {
  if (cfg.is_set("loss.gp")) return cfg.get_float("loss.gp");
  return create_loss(cfg)->default_gp();
}

void validate_config(const Config& cfg) {
  (void)parse_amp(cfg.get_str("train.amp"), parse_device(cfg.get_str("device")));
  auto loss = create_loss(cfg);
  const double gp = gp_weight(cfg);
  if (cfg.get_float("loss.clip") > 0 && gp > 0)
    throw Error(fmt::format("loss.clip={} and a gradient penalty (weight {}) both enforce D's Lipschitz constraint; "
                            "use one (WGAN: loss.name=wgan with loss.clip, or loss.name=wgan-gp)",
                            cfg.get_float("loss.clip"), gp));
  if (cfg.get_int("loss.gp_steps") > 0 && gp <= 0)
    throw Error(fmt::format("loss.gp_steps={} anneals the gradient penalty, but there is none: set loss.gp > 0 (or use "
                            "loss.name=wgan-gp)",
                            cfg.get_int("loss.gp_steps")));
  if (cfg.get_float("loss.label_smoothing") > 0 && !loss->is_likelihood())
    throw Error(fmt::format("loss.label_smoothing only applies to likelihood losses (ns, minimax); loss.name={} has "
                            "no real-label target",
                            cfg.get_str("loss.name")));
  const int64_t batch = cfg.get_int("train.batch_size"), pack = cfg.get_int("train.pack");
  if (batch % pack != 0)
    throw Error(fmt::format("train.batch_size={} is not divisible by train.pack={}: D needs whole packs", batch, pack));
  const int64_t g = cfg.get_int("model.mbstd_group"), d_batch = batch / pack;
  if (g > 0 && d_batch % std::min(g, d_batch) != 0)
    throw Error(fmt::format("model.mbstd_group={} does not divide D's batch of {} (train.batch_size / train.pack)", g, d_batch));
  if (cfg.get_bool("augment.ada") && cfg.get_str("augment.policy").empty())
    throw Error("augment.ada=true needs augment.policy (e.g. color,translation,cutout): ADA adapts how often those ops apply");
  DiffAugment check(cfg.get_str("augment.policy"));  // validates op names
  const std::string cond = cfg.get_str("model.conditional");
  if (cond != "none" && pack > 1)
    throw Error(fmt::format("model.conditional={} with train.pack={}: packed D inputs mix several labels; use pack 1",
                            cond, pack));
  if (cfg.get_str("optim.flat") == "true" && cfg.get_str("model.name") == "progan")
    throw Error("optim.flat=true with model.name=progan: a progressive model uses some layers only from a later level "
                "on, and the flat Adam would update them with zero gradients meanwhile; use optim.flat=auto or false");
  if (cfg.get_int("data.crops_per_image") > 1 && cfg.get_str("data.dataset") != "image-folder")
    throw Error(fmt::format("data.crops_per_image={} applies to data.dataset=image-folder, not '{}'",
                            cfg.get_int("data.crops_per_image"), cfg.get_str("data.dataset")));
}

}  // namespace ganpp
