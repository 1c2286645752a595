#include <gtest/gtest.h>

#include <set>

#include "ganpp/core/error.h"
#include "ganpp/data/augment.h"
#include "ganpp/data/loader.h"
#include "test_util.h"

using namespace ganpp;

namespace {
std::vector<uint64_t> seeds(size_t n, uint64_t base) {
  std::vector<uint64_t> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = mix64(base + i);
  return s;
}
}  // namespace

TEST(Augment, ProbabilityZeroIsIdentityAndFlipIsExact) {
  auto x = torch::rand({6, 3, 8, 10}) * 2 - 1;
  AugmentOptions none;
  EXPECT_TRUE(torch::equal(augment_images(x, none, seeds(6, 1)), x));
  AugmentOptions flip;
  flip.hflip = 1.0;
  auto y = augment_images(x, flip, seeds(6, 1));
  EXPECT_LT((y - x.flip({3})).abs().max().item<float>(), 1e-5);
}

TEST(Augment, TranslationIsAnIntegerShiftWithBackgroundFill) {
  auto x = torch::rand({8, 1, 16, 16}) * 2 - 1;
  AugmentOptions t;
  t.translate = 1.0;
  t.translate_frac = 0.25;
  auto y = augment_images(x, t, seeds(8, 5));
  int shifted = 0;
  for (int64_t i = 0; i < 8; ++i) {
    bool found = false;
    for (int dy = -4; dy <= 4 && !found; ++dy)
      for (int dx = -4; dx <= 4 && !found; ++dx) {
        // Expected: out[r][c] = in[r+dy][c+dx], -1 outside.
        auto e = torch::full({16, 16}, -1.0f);
        for (int r = 0; r < 16; ++r)
          for (int c = 0; c < 16; ++c)
            if (r + dy >= 0 && r + dy < 16 && c + dx >= 0 && c + dx < 16) e[r][c] = x[i][0][r + dy][c + dx];
        if ((y[i][0] - e).abs().max().item<float>() < 1e-4) found = true, shifted += (dx != 0 || dy != 0);
      }
    EXPECT_TRUE(found) << "sample " << i << " is not an integer shift";
  }
  EXPECT_GT(shifted, 4);  // with 81 possible shifts, almost all samples move
}

TEST(Augment, RotationKeepsRadialImagesAndIsSeeded) {
  // A centred blob is (nearly) rotation invariant; a bar is not.
  auto r = torch::arange(32, torch::kFloat) - 15.5;
  auto d2 = r.view({32, 1}).pow(2) + r.view({1, 32}).pow(2);
  auto blob = (torch::exp(-d2 / 40.0) * 2 - 1).view({1, 1, 32, 32}).repeat({4, 1, 1, 1});
  AugmentOptions rot;
  rot.rotate = 1.0;
  rot.rotate_degrees = 45;
  auto y = augment_images(blob, rot, seeds(4, 9));
  EXPECT_LT((y - blob).abs().max().item<float>(), 0.05);
  auto bar = torch::full({4, 1, 32, 32}, -1.0f);
  bar.narrow(2, 14, 4).fill_(1.0f);
  auto yb = augment_images(bar, rot, seeds(4, 9));
  EXPECT_GT((yb - bar).abs().max().item<float>(), 0.5);
  EXPECT_TRUE(torch::equal(yb, augment_images(bar, rot, seeds(4, 9))));
}

namespace {
std::shared_ptr<Dataset> counting(int64_t n) {
  auto x = torch::arange(n, torch::kFloat).view({n, 1});
  return std::make_shared<TensorDataset>(x, torch::arange(n, torch::kLong), DataSpec{"count", {1}, 0, {}});
}
std::vector<int64_t> ids(const Batch& b) {
  auto v = b.x.view({-1}).to(torch::kLong);
  return std::vector<int64_t>(v.data_ptr<int64_t>(), v.data_ptr<int64_t>() + v.numel());
}
}  // namespace

TEST(Loader, EpochsAreShuffledPermutationsAndLabelsFollow) {
  Loader l(counting(10), 3, 42);
  EXPECT_EQ(l.batches_per_epoch(), 3);
  std::vector<std::set<int64_t>> epochs(2);
  std::vector<int64_t> first;
  for (int e = 0; e < 2; ++e)
    for (int k = 0; k < 3; ++k) {
      Batch b = l.next();
      EXPECT_TRUE(torch::equal(b.y, b.x.view({-1}).to(torch::kLong)));
      for (auto i : ids(b)) {
        EXPECT_TRUE(epochs[e].insert(i).second) << "index repeated within an epoch";
        if (e == 0) first.push_back(i);
      }
    }
  EXPECT_EQ(epochs[0].size(), 9u);
  EXPECT_EQ(l.state(), (LoaderState{1, 9}));
  EXPECT_NE(l.permutation(0), l.permutation(1));
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(first, sorted);  // shuffled
}

TEST(Loader, RestoreReproducesTheStreamWithAndWithoutPrefetch) {
  Loader a(counting(50), 4, 7, {}, 3);
  for (int i = 0; i < 5; ++i) a.next();
  LoaderState s = a.state();
  std::vector<std::vector<int64_t>> want;
  for (int i = 0; i < 20; ++i) want.push_back(ids(a.next()));
  Loader b(counting(50), 4, 7, {}, 0);
  b.restore(s);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ids(b.next()), want[i]) << i;
  Loader c(counting(50), 4, 7, {}, 2);
  c.restore(s);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ids(c.next()), want[i]) << i;
}

TEST(Loader, RefusesBatchLargerThanDataset) {
  try {
    Loader l(counting(5), 8, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("5 samples, fewer than one batch of 8"), std::string::npos) << e.what();
  }
}

TEST(Loader, BalancedClassesDrawEveryClassEquallyOftenFromAnImbalancedSet) {
  // 100 samples: 90 of class 0, 7 of class 1, 3 of class 2.
  std::vector<int64_t> y(100, 0);
  for (int i = 90; i < 97; ++i) y[i] = 1;
  for (int i = 97; i < 100; ++i) y[i] = 2;
  auto x = torch::arange(100, torch::kFloat).view({100, 1});
  auto ds = std::make_shared<TensorDataset>(x, torch::tensor(y, torch::kLong), DataSpec{"imbalanced", {1}, 3, {}});
  Loader l(ds, 10, 3, {}, 0, 0, 1, /*balance_classes=*/true);
  for (int64_t e = 0; e < 3; ++e) {
    auto p = l.permutation(e);
    ASSERT_EQ(p.size(), 100u);  // the epoch keeps the dataset's length
    std::vector<int64_t> per_class(3, 0);
    std::vector<std::set<int64_t>> distinct(3);
    for (auto i : p) {
      const auto c = static_cast<size_t>(y[static_cast<size_t>(i)]);
      ++per_class[c];
      distinct[c].insert(i);
    }
    std::vector<int64_t> sorted = per_class;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int64_t>{33, 33, 34})) << "epoch " << e;
    // The majority class is not repeated (one pass over a permutation of its 90); the minorities cycle fully.
    EXPECT_EQ(static_cast<int64_t>(distinct[0].size()), per_class[0]) << "epoch " << e;
    EXPECT_EQ(distinct[1].size(), 7u);
    EXPECT_EQ(distinct[2].size(), 3u);
  }
  EXPECT_NE(l.permutation(0), l.permutation(1));
  // Batches follow the permutation and their labels the samples.
  std::vector<torch::Tensor> stream;
  for (int i = 0; i < 14; ++i) {
    Batch b = l.next();
    EXPECT_TRUE(torch::equal(b.y, torch::tensor(y, torch::kLong).index_select(0, b.x.view({-1}).to(torch::kLong))));
    stream.push_back(b.x);
  }
  // The stream is a pure function of (seed, state), as without balancing: prefetching and restoring reproduce it.
  Loader m(ds, 10, 3, {}, 2, 0, 1, true);
  for (int i = 0; i < 14; ++i) EXPECT_TRUE(torch::equal(m.next().x, stream[static_cast<size_t>(i)])) << i;
  Loader r(ds, 10, 3, {}, 0, 0, 1, true);
  r.restore(LoaderState{1, 20});
  EXPECT_TRUE(torch::equal(r.next().x, stream[12]));
}

TEST(Loader, BalancedClassesNeedLabels) {
  auto x = torch::arange(20, torch::kFloat).view({20, 1});
  auto ds = std::make_shared<TensorDataset>(x, torch::Tensor(), DataSpec{"unlabelled", {1}, 0, {}});
  std::string m = test::error_message([&] { Loader l(ds, 4, 1, {}, 0, 0, 1, true); });
  EXPECT_NE(m.find("data.balance_classes"), std::string::npos) << m;
  EXPECT_NE(m.find("no class labels"), std::string::npos) << m;
}
