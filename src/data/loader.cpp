#include "ganpp/data/loader.h"

#include <fmt/format.h>
#include <omp.h>

#include "ganpp/core/error.h"

namespace ganpp {

Loader::Loader(std::shared_ptr<Dataset> dataset, int64_t batch_size, uint64_t seed, AugmentOptions aug, int prefetch,
               int shard, int shards, bool balance_classes)
    : dataset_(std::move(dataset)), batch_size_(batch_size), shard_(shard), shards_(shards), seed_(seed), aug_(aug),
      prefetch_(static_cast<size_t>(std::max(prefetch, 0))) {
  if (batch_size_ < 1) throw Error(fmt::format("batch size must be at least 1, got {}", batch_size_));
  if (shards_ < 1 || shard_ < 0 || shard_ >= shards_ || batch_size_ % shards_ != 0)
    throw Error(fmt::format("train.batch_size={} cannot be split into {} equal worker batches", batch_size_, shards_));
  if (dataset_->size() < batch_size_)
    throw Error(fmt::format("dataset '{}' has {} samples, fewer than one batch of {} (lower train.batch_size)",
                            dataset_->spec().name, dataset_->size(), batch_size_));
  if (balance_classes) {
    const int64_t k = dataset_->spec().num_classes;
    if (k < 1)
      throw Error(fmt::format("data.balance_classes: dataset '{}' has no class labels", dataset_->spec().name));
    std::vector<int64_t> all(static_cast<size_t>(dataset_->size()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    auto y = dataset_->labels(all).to(torch::kLong).contiguous();
    by_class_.resize(static_cast<size_t>(k));
    for (int64_t i = 0; i < y.numel(); ++i) {
      const int64_t c = y.data_ptr<int64_t>()[i];
      if (c < 0 || c >= k) throw Error(fmt::format("dataset '{}': label {} of sample {} is outside 0..{}", dataset_->spec().name, c, i, k - 1));
      by_class_[static_cast<size_t>(c)].push_back(i);
    }
    for (int64_t c = 0; c < k; ++c)
      if (by_class_[static_cast<size_t>(c)].empty())
        throw Error(fmt::format("data.balance_classes: class {} ('{}') of dataset '{}' has no samples", c,
                                c < static_cast<int64_t>(dataset_->spec().class_names.size())
                                    ? dataset_->spec().class_names[static_cast<size_t>(c)]
                                    : std::to_string(c),
                                dataset_->spec().name));
  }
  start();
}

Loader::~Loader() { stop(); }

namespace {

void shuffle(std::vector<int64_t>& p, uint64_t s) {
  for (size_t i = p.size(); i > 1; --i) {  // Fisher-Yates
    s = mix64(s);
    size_t j = static_cast<size_t>(unit_double(s) * double(i));
    std::swap(p[i - 1], p[j]);
  }
}

}  // namespace

std::vector<int64_t> Loader::permutation(int64_t epoch) const {
  const uint64_t s = mix64(seed_, static_cast<uint64_t>(epoch) + 0x5bd1e995ULL);
  if (!by_class_.empty()) {
    // Class-balanced epoch of the same length: class c takes its share of the slots (the remainder goes to classes
    // in an order drawn per epoch), cycling through fresh permutations of its samples when it has too few.
    const int64_t n = dataset_->size(), k = static_cast<int64_t>(by_class_.size());
    std::vector<int64_t> order(static_cast<size_t>(k)), p;
    for (int64_t c = 0; c < k; ++c) order[static_cast<size_t>(c)] = c;
    shuffle(order, mix64(s, 0xC1A55ULL));
    p.reserve(static_cast<size_t>(n));
    for (int64_t r = 0; r < k; ++r) {
      const int64_t c = order[static_cast<size_t>(r)];
      const int64_t want = n / k + (r < n % k ? 1 : 0);
      for (uint64_t cycle = 0, taken = 0; static_cast<int64_t>(taken) < want; ++cycle) {
        std::vector<int64_t> pool = by_class_[static_cast<size_t>(c)];
        shuffle(pool, mix64(mix64(s, static_cast<uint64_t>(c) + 1), cycle));
        for (size_t i = 0; i < pool.size() && static_cast<int64_t>(taken) < want; ++i, ++taken) p.push_back(pool[i]);
      }
    }
    shuffle(p, s);
    return p;
  }
  std::vector<int64_t> p(static_cast<size_t>(dataset_->size()));
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int64_t>(i);
  shuffle(p, s);
  return p;
}

Batch Loader::make_batch(LoaderState& s) const {
  if (s.pos + batch_size_ > dataset_->size()) s = LoaderState{s.epoch + 1, 0};
  if (perm_epoch_ != s.epoch) {
    perm_cache_ = permutation(s.epoch);
    perm_epoch_ = s.epoch;
  }
  const int64_t local = batch_size_ / shards_, first = s.pos + shard_ * local;  // this worker's rows
  std::vector<int64_t> idx(perm_cache_.begin() + first, perm_cache_.begin() + first + local);
  std::vector<uint64_t> seeds(idx.size()), aug_seeds(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    uint64_t key = mix64(mix64(seed_, static_cast<uint64_t>(s.epoch)), static_cast<uint64_t>(first) + i);
    seeds[i] = key;
    aug_seeds[i] = mix64(key ^ 0xA5A5A5A5ULL);
  }
  torch::NoGradGuard ng;
  Batch b;
  b.x = dataset_->get(idx, seeds);
  if (dataset_->spec().is_image()) b.x = augment_images(b.x, aug_, aug_seeds);
  b.y = dataset_->labels(idx);
  s.pos += batch_size_;
  return b;
}

void Loader::start() {
  if (prefetch_ == 0) return;
  stopping_ = false;
  error_ = nullptr;
  queue_.clear();
  worker_ = std::thread([this, from = state_] { work(from); });
}

void Loader::stop() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
  queue_.clear();
}

void Loader::work(LoaderState s) {
  // This thread's torch ops (decoding, augmentation) run on one core: a second OpenMP team as wide as the training
  // thread's would spin against it. torch first sets the thread's team size to the global count (lazily, once per
  // thread), so that runs before the OpenMP setting, which is per thread.
  at::internal::lazy_init_num_threads();
  omp_set_num_threads(1);
  try {
    while (true) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || queue_.size() < prefetch_; });
        if (stopping_) return;
      }
      Batch b = make_batch(s);
      {
        std::lock_guard<std::mutex> lk(mu_);
        queue_.emplace_back(std::move(b), s);
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lk(mu_);
    error_ = std::current_exception();
    cv_.notify_all();
  }
}

Batch Loader::next() {
  if (prefetch_ == 0) return make_batch(state_);
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return !queue_.empty() || error_; });
  if (queue_.empty() && error_) std::rethrow_exception(error_);
  auto [b, s] = std::move(queue_.front());
  queue_.pop_front();
  state_ = s;
  lk.unlock();
  cv_.notify_all();
  return b;
}

void Loader::restore(LoaderState s) {
  stop();
  state_ = s;
  start();
}

}  // namespace ganpp
