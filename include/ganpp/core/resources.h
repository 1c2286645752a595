#pragma once

namespace ganpp {

// Peak resident memory of this process so far, in MiB (getrusage's ru_maxrss).
double peak_rss_mb();

}  // namespace ganpp
