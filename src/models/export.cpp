#include "ganpp/models/export.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include "ganpp/core/error.h"
#include "ganpp/nn/layers.h"

namespace fs = std::filesystem;
namespace nn = torch::nn;

namespace ganpp {
namespace {

template <size_t N>
std::string arr(const torch::ExpandingArray<N>& a) {
  return fmt::format("[{}]", fmt::join(a->begin(), a->end(), ", "));
}

template <class P>
std::string pad(const P& p) {
  auto* a = c10::get_if<torch::ExpandingArray<2>>(&p);
  if (!a) throw Error("export: convolutions with 'same'/'valid' padding are not supported");
  return arr(*a);
}

// Emits TorchScript statements for each layer; `params` collects (name, tensor, is_buffer).
struct Emitter {
  std::string code;
  std::vector<std::tuple<std::string, torch::Tensor, bool>> params;

  std::string param(const std::string& name, const torch::Tensor& t, bool buffer = false) {
    params.emplace_back(name, t.detach().clone(), buffer);
    return "self." + name;
  }
  void line(const std::string& s) { code += "        " + s + "\n"; }

  void layer(size_t i, const std::shared_ptr<nn::Module>& m) {
    std::string p = fmt::format("l{}_", i);
    if (auto sn = std::dynamic_pointer_cast<SpectralNormImpl>(m)) {
      // Export the normalised weight as a constant: the exported module is for inference.
      torch::NoGradGuard ng;
      auto w = sn->normalized_weight().detach();
      conv_or_linear(p, sn->layer(), w, sn->bias);
      return;
    }
    if (auto c = std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(m)) return conv_or_linear(p, m, c->weight, c->bias);
    if (auto c = std::dynamic_pointer_cast<nn::Conv2dImpl>(m)) return conv_or_linear(p, m, c->weight, c->bias);
    if (auto l = std::dynamic_pointer_cast<nn::LinearImpl>(m)) return conv_or_linear(p, m, l->weight, l->bias);
    if (auto u = std::dynamic_pointer_cast<nn::UnflattenImpl>(m)) {
      if (u->options.dim() != 1) throw Error("export: only Unflatten(dim=1) is supported");
      line(fmt::format("x = x.reshape([x.size(0), {}])", fmt::join(u->options.sizes(), ", ")));
    } else if (auto b = std::dynamic_pointer_cast<nn::BatchNorm2dImpl>(m)) {
      emit_bn(p, b->weight, b->bias, b->running_mean, b->running_var, b->options.eps());
    } else if (auto b = std::dynamic_pointer_cast<SyncBatchNorm2dImpl>(m)) {
      emit_bn(p, b->weight, b->bias, b->running_mean, b->running_var, b->options.eps());
    } else if (auto b = std::dynamic_pointer_cast<nn::BatchNorm1dImpl>(m)) {
      emit_bn(p, b->weight, b->bias, b->running_mean, b->running_var, b->options.eps());
    } else if (std::dynamic_pointer_cast<nn::ReLUImpl>(m)) {
      line("x = torch.relu(x)");
    } else if (auto r = std::dynamic_pointer_cast<nn::LeakyReLUImpl>(m)) {
      line(fmt::format("x = torch.leaky_relu(x, {})", r->options.negative_slope()));
    } else if (std::dynamic_pointer_cast<nn::TanhImpl>(m)) {
      line("x = torch.tanh(x)");
    } else if (std::dynamic_pointer_cast<nn::SigmoidImpl>(m)) {
      line("x = torch.sigmoid(x)");
    } else if (auto f = std::dynamic_pointer_cast<nn::FlattenImpl>(m)) {
      line(fmt::format("x = torch.flatten(x, {}, {})", f->options.start_dim(), f->options.end_dim()));
    } else if (std::dynamic_pointer_cast<nn::IdentityImpl>(m)) {
    } else {
      throw Error(fmt::format("export: layer type '{}' is not supported yet", m->name()));
    }
  }

  // A conv/linear layer `m` (its options) with the given weight and bias.
  void conv_or_linear(const std::string& p, const std::shared_ptr<nn::Module>& m, const torch::Tensor& weight,
                      const torch::Tensor& b) {
    std::string w = param(p + "weight", weight);
    std::string bias = b.defined() ? param(p + "bias", b) : "None";
    if (auto c = std::dynamic_pointer_cast<nn::ConvTranspose2dImpl>(m)) {
      auto& o = c->options;
      line(fmt::format("x = torch.conv_transpose2d(x, {}, {}, {}, {}, {}, {}, {})", w, bias, arr(o.stride()),
                       pad(o.padding()), arr(o.output_padding()), o.groups(), arr(o.dilation())));
    } else if (auto c = std::dynamic_pointer_cast<nn::Conv2dImpl>(m)) {
      auto& o = c->options;
      line(fmt::format("x = torch.conv2d(x, {}, {}, {}, {}, {}, {})", w, bias, arr(o.stride()), pad(o.padding()),
                       arr(o.dilation()), o.groups()));
    } else if (b.defined()) {
      line(fmt::format("x = torch.addmm({}, x, {}.t())", bias, w));
    } else {
      line(fmt::format("x = torch.mm(x, {}.t())", w));
    }
  }

  void emit_bn(const std::string& p, const torch::Tensor& w, const torch::Tensor& b, const torch::Tensor& mean,
               const torch::Tensor& var, double eps) {
    std::string ws = w.defined() ? param(p + "weight", w) : "None";
    std::string bs = b.defined() ? param(p + "bias", b) : "None";
    line(fmt::format("x = torch.batch_norm(x, {}, {}, {}, {}, False, 0.0, {}, False)", ws, bs,
                     param(p + "running_mean", mean, true), param(p + "running_var", var, true), eps));
  }
};

Emitter emit(GeneratorImpl& g) {
  auto* seq = dynamic_cast<SequentialGeneratorImpl*>(&g);
  if (!seq) throw Error("export: this generator is not a plain layer stack; TorchScript export is not supported for it");
  Emitter e;
  e.code = "def forward(self, z):\n        x = z\n";
  size_t i = 0;
  for (auto& child : seq->net()->children()) e.layer(i++, child);
  e.line("return x");
  return e;
}

}  // namespace

std::string torchscript_source(GeneratorImpl& g) { return emit(g).code; }

void export_torchscript(GeneratorImpl& g, const fs::path& path) {
  Emitter e = emit(g);
  torch::jit::Module m("ganpp_generator");
  for (auto& [name, t, buffer] : e.params) {
    if (buffer) m.register_buffer(name, t);
    else m.register_parameter(name, t, /*is_buffer=*/false);
  }
  m.register_attribute("z_dim", c10::IntType::get(), g.z_dim());
  m.define(e.code);
  m.eval();
  fs::path tmp = path;
  tmp += ".tmp";
  m.save(tmp.string());
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(fmt::format("cannot write '{}': {}", path.string(), ec.message()));
}

}  // namespace ganpp
