#include <gtest/gtest.h>

#include <cmath>

#include "ganpp/core/error.h"
#include "ganpp/models/latent.h"
#include "test_util.h"

using namespace ganpp;

TEST(Latent, LinearEndpointsAndMidpoint) {
  auto a = torch::randn({3, 5}), b = torch::randn({3, 5});
  auto z = interpolate_latents(a, b, 5, Interpolation::Linear).view({3, 5, 5});
  EXPECT_TRUE(torch::allclose(z.select(1, 0), a));
  EXPECT_TRUE(torch::allclose(z.select(1, 4), b));
  EXPECT_TRUE(torch::allclose(z.select(1, 2), (a + b) / 2, 1e-6, 1e-6));
}

TEST(Latent, SphericalFollowsTheGreatCircleWithLinearNorms) {
  // Orthogonal unit codes: slerp is (cos(t pi/2), sin(t pi/2)) in their plane (closed form).
  auto a = torch::zeros({1, 4}), b = torch::zeros({1, 4});
  a[0][0] = 1;
  b[0][1] = 1;
  auto z = interpolate_latents(a, b, 7, Interpolation::Spherical);
  for (int64_t i = 0; i < 7; ++i) {
    double t = i / 6.0;
    EXPECT_NEAR(z[i][0].item<double>(), std::cos(t * M_PI / 2), 1e-6) << t;
    EXPECT_NEAR(z[i][1].item<double>(), std::sin(t * M_PI / 2), 1e-6) << t;
    EXPECT_NEAR(z[i][2].item<double>(), 0.0, 1e-7);
  }
  // General codes: equal angles between consecutive directions, norms linear in t, exact endpoints.
  torch::manual_seed(1);
  auto p = torch::randn({2, 16}), q = torch::randn({2, 16}) * 3;
  auto s = interpolate_latents(p, q, 9, Interpolation::Spherical).view({2, 9, 16});
  EXPECT_TRUE(torch::allclose(s.select(1, 0), p, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(s.select(1, 8), q, 1e-5, 1e-5));
  for (int64_t r = 0; r < 2; ++r) {
    auto u = s[r] / s[r].norm(2, 1, true);
    auto cosines = (u.slice(0, 0, 8) * u.slice(0, 1, 9)).sum(1);
    EXPECT_LT((cosines - cosines[0]).abs().max().item<double>(), 1e-5);
    double na = p[r].norm().item<double>(), nb = q[r].norm().item<double>();
    for (int64_t i = 0; i < 9; ++i)
      EXPECT_NEAR(s[r][i].norm().item<double>(), na + i / 8.0 * (nb - na), 1e-4);
  }
  // Parallel codes: slerp degenerates to the linear path (no division by sin 0).
  auto c = torch::ones({1, 3}), d = 2 * torch::ones({1, 3});
  auto par = interpolate_latents(c, d, 3, Interpolation::Spherical);
  EXPECT_TRUE(torch::allclose(par, interpolate_latents(c, d, 3, Interpolation::Linear), 1e-6, 1e-6));
}

TEST(Latent, BadArguments) {
  auto a = torch::randn({2, 4});
  EXPECT_EQ(test::error_message([&] { interpolate_latents(a, a, 1, Interpolation::Linear); }),
            "interpolation needs at least 2 steps, got 1");
  EXPECT_EQ(test::error_message([&] { interpolate_latents(a, torch::randn({2, 5}), 3, Interpolation::Linear); }),
            "interpolation: codes must be two [N, D] tensors of one shape, got 2x4 and 2x5");
  EXPECT_EQ(test::error_message([] { parse_interpolation("cubic"); }), "interpolation 'cubic': expected lerp or slerp");
}
