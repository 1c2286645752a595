#include "launch.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "ganpp/core/distributed.h"
#include "ganpp/core/error.h"

namespace ganpp::cli {
namespace {

std::vector<std::string> g_args;

// A TCP port that is free right now on loopback (the OS picks it).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(fmt::format("cannot open a socket to pick MASTER_PORT: {}", std::strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw Error(fmt::format("cannot bind a loopback socket to pick MASTER_PORT: {}", std::strerror(errno)));
  }
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

}  // namespace

void set_command_line(int argc, char** argv) { g_args.assign(argv, argv + argc); }

bool is_launcher(int nproc) {
  const char* w = std::getenv("WORLD_SIZE");
  return nproc > 1 && !(w && *w);
}

int launch_workers(int nproc, const std::vector<std::string>& extra_args) {
  if (g_args.empty()) throw Error("internal: the command line was not recorded");
  // The workers run this same command without --nproc (and with the extra arguments the launcher resolved).
  std::vector<std::string> args{"/proc/self/exe"};
  for (size_t i = 1; i < g_args.size(); ++i) {
    if (g_args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (g_args[i].rfind("--nproc=", 0) == 0) continue;
    args.push_back(g_args[i]);
  }
  for (auto& a : extra_args) args.push_back(a);
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    pid_t pid = ::fork();
    if (pid < 0) throw Error(fmt::format("cannot start worker {}: {}", r, std::strerror(errno)));
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // workers never outlive the launcher
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> cargv;
      for (auto& a : args) cargv.push_back(const_cast<char*>(a.c_str()));
      cargv.push_back(nullptr);
      ::execv("/proc/self/exe", cargv.data());
      std::cerr << fmt::format("ganpp: error: cannot start worker {}: {}\n", r, std::strerror(errno));
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  // Wait for all; the first failure stops the others (SIGTERM, then SIGKILL after 10 s).
  int failed_rank = -1, failed_status = 0, remaining = nproc;
  auto stop_rest = [&] {
    for (auto p : pids)
      if (p > 0) ::kill(p, SIGTERM);
  };
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (remaining > 0) {
    int status = 0;
    pid_t done = ::waitpid(-1, &status, failed_rank >= 0 ? WNOHANG : 0);
    if (done == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        for (auto p : pids)
          if (p > 0) ::kill(p, SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (done < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int r = 0; r < nproc; ++r) {
      if (pids[r] != done) continue;
      pids[r] = -1;
      --remaining;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && failed_rank < 0) {
        failed_rank = r;
        failed_status = status;
        stop_rest();
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      }
    }
  }
  if (failed_rank >= 0)
    throw Error(fmt::format("worker {} of {} {}; the other workers were stopped. Resume all of them from the last "
                            "checkpoint with `ganpp resume --run DIR --nproc {}`",
                            failed_rank, nproc, describe(failed_status), nproc));
  return 0;
}

std::shared_ptr<ProcessGroup> join_workers_from_env(const std::string& rdzv) {
  if (!rdzv.empty()) {
    auto colon = rdzv.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(fmt::format("--rdzv '{}': expected HOST:PORT of the rank-0 worker", rdzv));
    ::setenv("MASTER_ADDR", rdzv.substr(0, colon).c_str(), 1);
    ::setenv("MASTER_PORT", rdzv.substr(colon + 1).c_str(), 1);
  }
  DistOptions o = DistOptions::from_env();
  if (o.world <= 1) return nullptr;
  auto pg = ProcessGroup::create(o);
  set_current_process_group(pg);
  return pg;
}

}  // namespace ganpp::cli
