// Devices, mixed precision and memory layout on the CPU build: CUDA requests fail with a way forward; bf16
// autocast and channels-last train; the float16 loss scaler skips overflowing steps and adapts its scale.
#include <gtest/gtest.h>

#include "ganpp/core/device.h"
#include "ganpp/core/error.h"
#include "ganpp/train/validate.h"
#include "test_util.h"

using namespace ganpp;

TEST(Device, CpuIsDefaultAndCudaRequestsExplainWhatIsMissing) {
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_NE(test::error_message([] { parse_device("gpu"); }).find("device 'gpu': expected cpu, cuda or cuda:N"),
            std::string::npos);
  EXPECT_NE(test::error_message([] { parse_device("cuda:x"); }).find("expected cpu, cuda or cuda:N"), std::string::npos);
  if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is present";
  const std::string m = test::error_message([] { parse_device("cuda"); });
  EXPECT_NE(m.find("device 'cuda': no CUDA device is usable"), std::string::npos) << m;
  EXPECT_NE(m.find("CMAKE_PREFIX_PATH"), std::string::npos) << m;
  // At config time, before any data is read.
  Config c;
  c.set("device", "cuda:1");
  EXPECT_NE(test::error_message([&] { validate_config(c); }).find("device 'cuda:1'"), std::string::npos);
  Config f;
  f.set("train.amp", "fp16");
  EXPECT_NE(test::error_message([&] { validate_config(f); }).find("train.amp=fp16 needs device cuda"), std::string::npos);
}

TEST(Device, AutocastScopeComputesMatmulsInBfloat16AndRestores) {
  auto a = torch::randn({8, 16}), b = torch::randn({16, 4});
  {
    AutocastScope ac(Amp::BFloat16, torch::Device(torch::kCPU));
    auto y = torch::mm(a, b);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    {
      AutocastScope none(Amp::None, torch::Device(torch::kCPU));  // a no-op scope inside keeps autocast on
      EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    }
    // bf16 keeps 8 bits of mantissa: the product is close to, not equal to, the float32 one.
    auto exact = torch::mm(a.to(torch::kDouble), b.to(torch::kDouble));
    const double err = (y.to(torch::kDouble) - exact).abs().max().item<double>();
    EXPECT_GT(err, 0);
    EXPECT_LT(err, 0.1 * exact.abs().max().item<double>());
  }
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
}

TEST(Device, LossScalerSkipsOverflowsHalvesAndGrowsItsScale) {
  LossScaler off;
  EXPECT_FALSE(off.enabled());
  auto loss = torch::tensor(2.0);
  EXPECT_TRUE(torch::equal(off.scale(loss), loss));
  LossScaler s(true, 1024.0, 3);
  EXPECT_DOUBLE_EQ(s.scale(loss).item<double>(), 2048.0);
  auto p = torch::zeros({3}, torch::requires_grad());
  p.mutable_grad() = torch::tensor({1024.0f, -2048.0f, 512.0f});
  EXPECT_TRUE(s.unscale({p}));
  EXPECT_TRUE(torch::equal(p.grad(), torch::tensor({1.0f, -2.0f, 0.5f})));  // divided back by the scale
  s.update(true);
  s.update(true);
  EXPECT_DOUBLE_EQ(s.current(), 1024.0);
  s.update(true);  // third clean step: doubled
  EXPECT_DOUBLE_EQ(s.current(), 2048.0);
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  EXPECT_FALSE(s.unscale({p}));
  s.update(false);
  EXPECT_DOUBLE_EQ(s.current(), 1024.0);
  EXPECT_EQ(s.skipped(), 1);
  LossScaler r(true);
  r.set_state(s.state());
  EXPECT_DOUBLE_EQ(r.current(), 1024.0);
  EXPECT_EQ(r.skipped(), 1);
}

TEST(Device, ChannelsLastKeepsAConvolutionsOutput) {
  torch::manual_seed(0);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 8, 3).padding(1));
  auto x = torch::randn({2, 3, 9, 9});
  auto want = conv->forward(x);
  to_channels_last(*conv);
  EXPECT_TRUE(conv->weight.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_FALSE(conv->weight.is_contiguous());
  auto y = conv->forward(x.contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(y, want, 1e-5, 1e-6));
}
