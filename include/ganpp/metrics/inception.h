#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace ganpp {

// pytorch-fid's FID Inception-v3 ("fid_inception_v3"): torchvision's Inception3 with 1008 classes, no aux logits,
// no input transform, and the FID variants of the A/C/E blocks (average pools that exclude padding; max pool in
// Mixed_7c). Parameter names follow pytorch-fid's state dict (Conv2d_1a_3x3.conv.weight, ...bn.running_var, fc.*).
class FidInceptionV3Impl : public torch::nn::Module {
 public:
  FidInceptionV3Impl();
  // x: [N,3,299,299], already normalised to [-1,1]. Returns pool3 features [N,2048].
  torch::Tensor pool3(const torch::Tensor& x);
  // IS logits (torch-fidelity convention): pool3 @ fc.weight^T, without the bias.
  torch::Tensor logits_from_pool3(const torch::Tensor& pool3) { return pool3.mm(fc->weight.t()); }

  torch::nn::Linear fc{nullptr};

 private:
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> stem_;
  std::vector<std::shared_ptr<torch::nn::Module>> blocks_;
};
TORCH_MODULE(FidInceptionV3);

// How images reach 299x299 (named in every report).
enum class ResizeMode {
  PytorchFid,  // float [0,1] -> bilinear (align_corners=False) -> 2x-1 (pytorch-fid)
  Tf1,         // uint8 -> TensorFlow-1 bilinear (no half-pixel offset) -> (x-128)/128 (torch-fidelity legacy)
  Bicubic,     // float [0,1] -> antialiased bicubic (close to clean-fid's PIL bicubic, not bit-identical) -> 2x-1
};
ResizeMode parse_resize_mode(const std::string& s);
std::string resize_mode_name(ResizeMode m);

// Images [N,C,H,W] in [0,1] (C = 1 is replicated to 3) -> normalised [N,3,299,299] input for the network.
torch::Tensor inception_input(const torch::Tensor& images01, ResizeMode mode);

// Loads pytorch-fid's weights from an .npz with its state-dict keys (scripts/convert_fid_weights.py makes one
// from pt_inception-2015-12-05-6726825d.pth). A missing file says where to get the weights.
void load_fid_inception_npz(FidInceptionV3Impl& net, const std::filesystem::path& npz);

}  // namespace ganpp
