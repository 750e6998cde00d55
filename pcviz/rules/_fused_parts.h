// How pcviz's fused inference kernel (_fused_loop.cc, its one includer) shares the cores: the
// threads a call takes, and the parts of the batch's rows they take in turn (the samples of a
// batch are independent during inference).

#pragma once

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "_fused_blocks.h"

namespace pcviz_fused {

// Cores this process may run on, and how many the kernel's calls in flight hold: a call
// takes the free ones (at least one), so that one run alone uses every core while calls that
// run side by side (rules on separate devices) take one each instead of crowding them.
inline std::atomic<int> cores_held{0};

inline int usable_cores() {  // at most PCVIZ_KERNEL_THREADS when set
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = std::max(1, CPU_COUNT(&set));
  const char* cap = std::getenv("PCVIZ_KERNEL_THREADS");
  if (cap != nullptr && std::atoi(cap) > 0) cores = std::min(cores, std::atoi(cap));
  return cores;
}

constexpr int64_t kMinRows = 8;  // fewer rows per part than this are not worth a thread
constexpr int64_t kPartsPerThread = 2;  // see part_rows

// Threads for a batch of B, each holding a core until release_cores: `threads` > 0, that
// many (a program laid over several devices gives each device's calls its share of the
// cores); 0, the cores no other call holds
inline int batch_threads(int64_t B, int64_t threads) {
  static const int cores = usable_cores();
  int taken = threads > 0 ? static_cast<int>(std::min<int64_t>(threads, cores))
                          : std::max(1, cores - cores_held.load());
  taken = static_cast<int>(std::min<int64_t>(taken, std::max<int64_t>(1, B / kMinRows)));
  cores_held += taken;
  return taken;
}

inline void release_cores(int taken) { cores_held -= taken; }

// Rows per part when `threads` threads share a batch of B: kPartsPerThread parts per thread,
// whole register blocks each, which the threads take in turn as they finish the last one, so
// that a thread whose core is also busy with other work (the dashboard's browser, say) takes
// fewer of them rather than holding up the call
template <typename T>
int64_t part_rows(int64_t B, int threads, int64_t width) {
  if (threads <= 1) return B;
  const int64_t block = row_block<T>(width);
  const int64_t parts = threads * kPartsPerThread;
  int64_t rows = std::max(kMinRows, (B + parts - 1) / parts);
  rows = (rows + block - 1) / block * block;
  return std::min(rows, B);
}

}  // namespace pcviz_fused
