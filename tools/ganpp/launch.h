#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ganpp/core/distributed.h"

namespace ganpp::cli {

// Records argv (main does this) so that the launcher can start workers with the same command.
void set_command_line(int argc, char** argv);
// `--nproc N` with N > 1 outside a worker (WORLD_SIZE unset): this process launches the workers.
bool is_launcher(int nproc);
// Starts N local workers running this command without --nproc (plus `extra_args`), with RANK, LOCAL_RANK,
// WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT; waits for them. When one fails, the others are stopped
// and the error names it.
int launch_workers(int nproc, const std::vector<std::string>& extra_args);
// In a worker (WORLD_SIZE > 1, torchrun conventions; `rdzv` = HOST:PORT overrides MASTER_ADDR/MASTER_PORT): joins
// the process group and makes it current. Null in a single process.
std::shared_ptr<ProcessGroup> join_workers_from_env(const std::string& rdzv);

}  // namespace ganpp::cli
