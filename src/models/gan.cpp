#include "ganpp/models/gan.h"

#include <fmt/format.h>

#include "ganpp/core/error.h"
#include "ganpp/models/stages.h"

namespace ganpp {

Conditioning parse_conditioning(const std::string& name) {
  if (name == "none") return Conditioning::None;
  if (name == "projection") return Conditioning::Projection;
  if (name == "acgan") return Conditioning::AcGan;
  throw Error(fmt::format("model.conditional '{}': expected none, projection or acgan", name));
}

torch::Tensor latent_noise(int64_t n, int64_t z_dim, bool uniform, torch::Generator& gen) {
  if (uniform) return torch::rand({n, z_dim}, gen, torch::kFloat) * 2 - 1;
  return torch::randn({n, z_dim}, gen, torch::kFloat);
}

torch::Tensor cycle_labels(int64_t n, int64_t num_classes, int64_t first) {
  return torch::arange(first, first + n, torch::kLong).remainder(std::max<int64_t>(num_classes, 1));
}

torch::Tensor balanced_labels(int64_t n, int64_t num_classes, torch::Generator& gen) {
  auto perm = torch::randperm(n, gen, torch::kLong);
  return cycle_labels(n, num_classes).index_select(0, perm);
}

std::pair<int64_t, int64_t> resolution_stages(int64_t res, int64_t min_stages, const std::string& model) {
  for (int64_t base : {4, 7}) {
    int64_t r = base, n = 0;
    while (r < res) r *= 2, ++n;
    if (r == res && n >= min_stages) return {n, base};
  }
  throw Error(fmt::format("model {}: data.resolution={} is not 4*2^n or 7*2^n{} (e.g. 28, 32, 64, 128)", model, res,
                          min_stages > 1 ? fmt::format(" with n >= {}", min_stages) : std::string()));
}

Growth growth_at(int64_t step, int64_t steps_per_phase, int64_t max_level) {
  if (steps_per_phase <= 0) return {max_level, 1.0};
  const int64_t phase = step / steps_per_phase;
  if (phase == 0) return {0, 1.0};
  const int64_t level = (phase + 1) / 2;
  if (level > max_level) return {max_level, 1.0};
  if (phase % 2 == 1) return {level, double(step - phase * steps_per_phase) / double(steps_per_phase)};
  return {level, 1.0};
}

GanModels create_models(const Config& cfg, const DataSpec& spec) {
  auto m = ModelRegistry::instance().create("model (model.name)", cfg.get_str("model.name"), cfg, spec);
  return *m;
}

Generator create_generator(const Config& cfg, const DataSpec& spec) { return create_models(cfg, spec).g; }

void dcgan_init(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& mod : m.modules(/*include_self=*/true)) {
    std::string n = mod->name();
    if (n.find("Conv") != std::string::npos || n.find("Linear") != std::string::npos) {
      for (auto& p : mod->named_parameters(false)) {
        if (p.key() == "weight") torch::nn::init::normal_(p.value(), 0.0, 0.02);
        if (p.key() == "bias") torch::nn::init::zeros_(p.value());
      }
    } else if (n.find("BatchNorm") != std::string::npos) {
      for (auto& p : mod->named_parameters(false)) {
        if (p.key() == "weight") torch::nn::init::normal_(p.value(), 1.0, 0.02);
        if (p.key() == "bias") torch::nn::init::zeros_(p.value());
      }
    }
  }
}

void copy_weights(torch::nn::Module& dst, const torch::nn::Module& src) {
  torch::NoGradGuard ng;
  auto sp = src.named_parameters(true);
  auto dp = dst.named_parameters(true);
  for (auto& p : dp) {
    auto* s = sp.find(p.key());
    if (!s) throw Error(fmt::format("copy_weights: parameter '{}' missing in source", p.key()));
    p.value().copy_(*s);
  }
  auto sb = src.named_buffers(true);
  for (auto& b : dst.named_buffers(true)) {
    auto* s = sb.find(b.key());
    if (!s) throw Error(fmt::format("copy_weights: buffer '{}' missing in source", b.key()));
    b.value().copy_(*s);
  }
}

int64_t num_parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace ganpp
