// c10d's Gloo process group is only declared when USE_C10D_GLOO is defined (libtorch is built with it).
#define USE_C10D_GLOO 1
#include "ganpp/core/distributed.h"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "ganpp/core/error.h"

namespace ganpp {
namespace {

int env_int(const char* name, int def, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi)
    throw Error(fmt::format("environment variable {}='{}': expected an integer in {}..{}", name, v, lo, hi));
  return static_cast<int>(x);
}

using Clock = std::chrono::steady_clock;

// The local IP address the kernel would use to reach host:port (a connected UDP socket sends nothing).
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0 || !res)
    throw Error(fmt::format("MASTER_ADDR '{}': cannot resolve it: {}", host, ::gai_strerror(rc)));
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::string out;
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      char buf[INET_ADDRSTRLEN];
      if (::inet_ntop(AF_INET, &local.sin_addr, buf, sizeof buf)) out = buf;
    }
  }
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(res);
  if (out.empty()) throw Error(fmt::format("MASTER_ADDR '{}': no route to it from this host", host));
  return out;
}

class GlooGroup : public ProcessGroup {
 public:
  explicit GlooGroup(const DistOptions& o) : rank_(o.rank), world_(o.world), timeout_s_(o.timeout_s) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(o.master_port);
      so.isServer = o.rank == 0;
      so.numWorkers = static_cast<size_t>(o.world);
      so.waitWorkers = true;
      so.timeout = timeout;
      store_ = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
      auto go = c10d::ProcessGroupGloo::Options::create(timeout);
      // The Gloo device binds to GLOO_SOCKET_IFNAME when set, else to the address this host uses to reach the
      // master (loopback for local workers), so that every worker is reachable on that network.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      go->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                              : c10d::ProcessGroupGloo::createDeviceForHostname(
                                                    local_address_towards(o.master_addr, o.master_port)));
      go->threads = 2;
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, o.rank, o.world, go);
    } catch (const std::exception& e) {
      throw Error(fmt::format("rank {} of {}: cannot join the process group at {}:{} (MASTER_ADDR/MASTER_PORT) within "
                              "{:g} s: {}",
                              o.rank, o.world, o.master_addr, o.master_port, o.timeout_s, first_line(e.what())));
    }
  }
  int rank() const override { return rank_; }
  int world() const override { return world_; }

  void all_reduce_sum(std::vector<torch::Tensor>& ts) override {
    run("all-reduce", [&] { pg_->allreduce(ts)->wait(); });
  }
  std::unique_ptr<PendingCollective> all_reduce_sum_async(std::vector<torch::Tensor>& ts) override {
    c10::intrusive_ptr<c10d::Work> work;
    run("all-reduce", [&] { work = pg_->allreduce(ts); });
    return std::make_unique<Pending>(this, std::move(work));
  }
  torch::Tensor all_gather(const torch::Tensor& t) override {
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < world_; ++r) out[0].push_back(torch::empty_like(t));
    std::vector<torch::Tensor> in{t.contiguous()};
    run("all-gather", [&] { pg_->allgather(out, in)->wait(); });
    return torch::cat(out[0]);
  }
  void broadcast(std::vector<torch::Tensor>& ts, int root) override {
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    run("broadcast", [&] { pg_->broadcast(ts, bo)->wait(); });
  }
  void barrier() override {
    run("barrier", [&] { pg_->barrier()->wait(); });
  }
  double comm_seconds() const override { return comm_s_; }

 private:
  struct Pending : PendingCollective {
    Pending(GlooGroup* g, c10::intrusive_ptr<c10d::Work> w) : group(g), work(std::move(w)) {}
    void wait() override {
      if (work) group->run("all-reduce", [&] { work->wait(); });
      work.reset();
    }
    GlooGroup* group;
    c10::intrusive_ptr<c10d::Work> work;
  };

  static std::string first_line(const std::string& s) {
    auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
  }
  template <class F>
  void run(const char* what, F&& f) {
    auto t0 = Clock::now();
    try {
      f();
    } catch (const std::exception& e) {
      throw Error(fmt::format("rank {} of {}: {} failed: {} (a worker stopped or the network failed; every worker "
                              "stops, resume all of them from the last checkpoint)",
                              rank_, world_, what, first_line(e.what())));
    }
    comm_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  int rank_, world_;
  double timeout_s_, comm_s_ = 0;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};

std::mutex g_mu;
std::shared_ptr<ProcessGroup> g_pg;

struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, ProcessGroup* pg) {
    ctx->saved_data["pg"] = reinterpret_cast<int64_t>(pg);
    std::vector<torch::Tensor> v{x.clone().contiguous()};
    pg->all_reduce_sum(v);
    return v[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list g) {
    auto* pg = reinterpret_cast<ProcessGroup*>(ctx->saved_data["pg"].toInt());
    std::vector<torch::Tensor> v{g[0].clone().contiguous()};
    pg->all_reduce_sum(v);
    return {v[0], torch::Tensor()};
  }
};

}  // namespace

DistOptions DistOptions::from_env() {
  DistOptions o;
  o.world = env_int("WORLD_SIZE", 1, 1, 65536);
  o.rank = env_int("RANK", 0, 0, o.world - 1);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) o.master_addr = a;
  o.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  o.timeout_s = env_int("GANPP_DIST_TIMEOUT", 120, 1, 86400);
  return o;
}

std::shared_ptr<ProcessGroup> ProcessGroup::create(const DistOptions& opt) { return std::make_shared<GlooGroup>(opt); }

GradientBuckets::GradientBuckets(std::shared_ptr<ProcessGroup> pg, std::vector<torch::Tensor> params, int64_t bucket_bytes)
    : pg_(std::move(pg)), params_(std::move(params)), slot_(params_.size()) {
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    if (!p.requires_grad()) continue;
    if (p.scalar_type() != torch::kFloat || p.device() != params_[params_.size() - 1].device())
      throw Error("GradientBuckets: parameters must be float32 tensors on one device");
    if (buckets_.empty() || buckets_.back().numel * 4 >= bucket_bytes) buckets_.emplace_back();
    Bucket& b = buckets_.back();
    slot_[k] = {buckets_.size() - 1, b.params.size()};
    b.params.push_back(k);
    b.offsets.push_back(b.numel);
    b.numel += p.numel();
  }
  for (auto& b : buckets_) {
    b.flat = torch::zeros({b.numel}, params_[b.params.front()].options().requires_grad(false));
    b.io = {b.flat};
    b.ready.assign(b.params.size(), false);
  }
  // The hooks outlive this object when the parameters do: they check that it still exists.
  std::weak_ptr<bool> alive = alive_;
  for (auto& b : buckets_)
    for (size_t k : b.params)
      params_[k].register_hook([this, k, alive](torch::Tensor g) {
        if (!alive.expired()) on_grad(k, g);
      });
}

void GradientBuckets::begin() {
  for (auto& b : buckets_) {
    std::fill(b.ready.begin(), b.ready.end(), false);
    b.n_ready = 0;
    b.work.reset();
  }
  launched_early_ = 0;
  armed_ = true;
}

void GradientBuckets::on_grad(size_t k, const torch::Tensor& g) {
  if (!armed_) return;
  auto [bi, j] = slot_[k];
  Bucket& b = buckets_[bi];
  if (b.ready[j] || b.work)
    throw Error(fmt::format("internal: parameter {} received two gradients in one backward pass", k));
  torch::NoGradGuard ng;
  b.flat.narrow(0, b.offsets[j], g.numel()).copy_(g.reshape({-1}));
  b.ready[j] = true;
  if (++b.n_ready == b.params.size()) {
    launch(b);
    ++launched_early_;
  }
}

void GradientBuckets::launch(Bucket& b) { b.work = pg_->all_reduce_sum_async(b.io); }

void GradientBuckets::finish() {
  armed_ = false;
  for (auto& b : buckets_) {
    if (b.work || b.n_ready == 0) continue;
    for (size_t j = 0; j < b.params.size(); ++j)  // slots without a gradient this pass: defined, unused values
      if (!b.ready[j]) b.flat.narrow(0, b.offsets[j], params_[b.params[j]].numel()).zero_();
    launch(b);
  }
  torch::NoGradGuard ng;
  const double w = double(pg_->world());
  for (auto& b : buckets_) {
    if (!b.work) continue;
    b.work->wait();
    b.work.reset();
    b.flat.div_(w);
    for (size_t j = 0; j < b.params.size(); ++j) {
      if (!b.ready[j]) continue;
      auto& p = params_[b.params[j]];
      p.mutable_grad().copy_(b.flat.narrow(0, b.offsets[j], p.numel()).view_as(p));
    }
  }
}

void ProcessGroup::broadcast_module(torch::nn::Module& m) {
  if (world() == 1) return;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> ts;
  for (auto& p : m.parameters(true)) ts.push_back(p);
  for (auto& b : m.buffers(true)) ts.push_back(b);
  for (auto& t : ts) {
    std::vector<torch::Tensor> one{t};
    broadcast(one, 0);
  }
}

std::shared_ptr<ProcessGroup> current_process_group() {
  std::lock_guard<std::mutex> l(g_mu);
  return g_pg;
}
void set_current_process_group(std::shared_ptr<ProcessGroup> pg) {
  std::lock_guard<std::mutex> l(g_mu);
  g_pg = std::move(pg);
}

torch::Tensor all_reduce_sum_autograd(const torch::Tensor& x, ProcessGroup& pg) { return AllReduceSum::apply(x, &pg); }

}  // namespace ganpp
