// The PC / PC-ALM inference loop of pcviz.rules.infer as one XLA FFI call on the CPU.
//
// Same maths as the lax.scan in _infer.py (docs/science.md, "PC-ALM"): T primal steps
//   lambda <- lambda + alpha r   (from the second step on)
//   h      <- h - eta dL/dh,     dL/dh_i = e_i - J_{i+1}^T e_{i+1} (+ the loss's gradient on top)
// with e = lambda + rho r the credit, then r_i = h_i - f_i(h_{i-1}) from the new states.
//
// XLA runs each step as about ten kernels, each a pass over every layer's (B, N) block; on a
// CPU those passes, not the arithmetic, set the pace. Here one sweep goes up the layers once
// per step and does each layer's work a block of rows at a time, right after the block's
// small matrix product and while it is in the core's registers and cache: the new state
// from the credit passed down (e_{i+1} W_{i+1}), the new error from the new state below
// (phi(h_{i-1}) W_i^T), and from that error the next step's multipliers and credit (see
// `run`). The products are register-blocked over PCVIZ_VEC_BYTES-wide vectors (setup.py
// builds it for AVX-512 and AVX2, 64 and 32 bytes; _fused_blocks.h). With `record`, BP's
// adjoints at the starting states come from one sweep down first, and the telemetry's batch
// sums per step and layer are taken in the same sweep up, in the same pass over each block as
// the next step's credit. The batch's rows are split into parts (the samples are independent
// during inference), a few per thread, which the threads take in turn: `threads` of them, or
// as many as the process's cores that no other call holds (batch_threads, _fused_parts.h).
//
// Layout: states, errors, multipliers (M, B, N) row-major, M = L - 1 hidden layers; `incoming`
// (M, N, N) with entry i the W that predicts state i from state i - 1 (entry 0 unused);
// `w_out` (K, N); `y` (B, K); `scalars` = (eta, rho, alpha). Without `record` the telemetry's
// outputs are empty.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "_fused_blocks.h"
#include "_fused_parts.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using namespace pcviz_fused;

struct Shape {
  int64_t M, B, N, K;
};

template <typename T>
struct Problem {
  Shape s;
  const T* first;     // (B, N): f_1(x)
  const T* incoming;  // (M, N, N)
  const T* incoming_t;  // (M, N, N), each transposed
  const T* w_out;     // (K, N)
  const T* w_out_t;   // (N, K)
  const T* y;         // (B, K)
  T* adjoint;         // (M, B, N) scratch for BP's adjoints when recording, else null
  T eta, rho, alpha, scale_hidden, scale_out;
  bool skip;
  int64_t steps;
  int64_t stride;     // elements from one layer's block to the next: the whole batch's B N
};

// The telemetry's batch sums. `run` takes three per step and layer, of the error r and the
// step's multiplier m: sum r^2, sum m r and sum r delta (delta BP's adjoint), into error_sq,
// multiplier_sq and credit_against_adjoint; `telemetry_sums` turns them into sum e^2, sum r^2,
// sum m^2 and -sum e delta of the credit e = m + rho r.
template <typename T>
struct Sums {  // each (T, M) but the loss (T,); null when not recording
  T* credit_sq;
  T* error_sq;
  T* multiplier_sq;
  T* credit_against_adjoint;
  T* loss;
  T* adjoint_sq;  // (M,): the batch sums of BP's squared adjoints
};

// N > 0: the width, known at compile time; N == 0: any width.
//
// Each step goes up the layers once, and each layer's work is done a block of rows at a time
// right after the block's product, while the block is in cache: layer l's new state from the
// credit it receives (e_{l+1} W_{l+1}) with phi of it kept for the layer above, then its new
// error from the new state below (phi(h_{l-1}) W_l^T), and from that error the dual step of
// the next iteration, lambda_l += alpha r_l, and its credit e_l = lambda_l + rho r_l. Until the
// last step the errors' buffer `err` holds the credits (the only use of an error is the next
// step's credit); the last step stores the errors and leaves the multipliers.
template <typename T, int N, int ACT, bool RECORD>
void run(const Problem<T>& p, T* h, T* err, T* mult, Sums<T> sums) {
  // this part's B rows of each layer, `p.stride` apart
  const int64_t M = p.s.M, B = p.s.B, W = N > 0 ? N : p.s.N, K = p.s.K, S = B * W;
  const int64_t D = p.stride;
  constexpr int lanes = kVecBytes / sizeof(T);
  std::vector<T> product(N > 0 ? block_rows<T, N>() * N : S), act_a(S), act_b(S), top(S),
      out_err(B * K), out_grad(S);
  T* const credit = err;
  const T eta = p.eta, rho = p.rho, alpha = p.alpha, sh = p.scale_hidden, so = p.scale_out;
  const bool skip = p.skip;
  // the output loss's gradient at the top layer's `state` before its slope, (yhat - y) W_L,
  // into out_grad; returns the summed loss 1/2 |yhat - y|^2
  auto loss_gradient = [&](const T* __restrict state) {
    #pragma GCC ivdep
    for (int64_t i = 0; i < S; ++i) top[i] = phi<T, ACT>(state[i]);
    matmul_any<T>(top.data(), p.w_out_t, out_err.data(), B, W, K);
    T loss = T(0);
    for (int64_t i = 0; i < B * K; ++i) {
      out_err[i] = so * out_err[i] - p.y[i];
      loss += out_err[i] * out_err[i];
    }
    matmul_any<T>(out_err.data(), p.w_out, out_grad.data(), B, K, W);
    return T(0.5) * loss;
  };
  if constexpr (RECORD) {
    // BP's per-sample adjoints at the forward pass (the starting states), top down:
    //   delta_top = a_L phi'(h) (yhat - y) W_L,
    //   delta_i = s delta_{i+1} + a_h phi'(h_i) delta_{i+1} W_{i+1}
    for (int64_t l = M - 1; l >= 0; --l) {
      const T* __restrict hl = h + l * D;
      T* __restrict dl = p.adjoint + l * D;
      if (l == M - 1) {
        loss_gradient(hl);
        #pragma GCC ivdep
        for (int64_t i = 0; i < S; ++i) dl[i] = so * slope<T, ACT>(hl[i]) * out_grad[i];
      } else {
        const T* __restrict up = p.adjoint + (l + 1) * D;
        matmul_then<T, N>(up, p.incoming + (l + 1) * W * W, B, W, product.data(),
                          [&](int64_t i0, int64_t i1, const T* __restrict product_rows) {
          #pragma GCC ivdep
          for (int64_t i = i0; i < i1; ++i) {
            const T from_above = up[i];
            dl[i] = (skip ? from_above : T(0)) + sh * slope<T, ACT>(hl[i]) * product_rows[i - i0];
          }
        });
      }
      T total = T(0);
      #pragma GCC ivdep
      for (int64_t i = 0; i < S; ++i) total += dl[i] * dl[i];
      sums.adjoint_sq[l] = total;
    }
  }
  if (p.steps > 0)  // the first step's credit: lambda = 0, e = rho r
    for (int64_t l = 0; l < M; ++l) {
      T* __restrict cl = credit + l * D;
      #pragma GCC ivdep
      for (int64_t i = 0; i < S; ++i) cl[i] *= rho;
    }
  // the telemetry's three batch sums of one layer and step (see Sums), each over `lanes`
  // partial sums so that they vectorise
  T partial[3][lanes];
  for (int64_t t = 0; t < p.steps; ++t) {
    const bool last = t + 1 == p.steps;
    for (int64_t l = 0; l < M; ++l) {
      T* __restrict hl = h + l * D;
      const T* __restrict cl = credit + l * D;
      T* __restrict act = l % 2 == 0 ? act_a.data() : act_b.data();  // phi(h_l), for l + 1
      const T* __restrict act_below = l % 2 == 0 ? act_b.data() : act_a.data();
      if (l + 1 < M) {  // the new state from the credit it receives from the layer above
        const T* __restrict above = credit + (l + 1) * D;
        matmul_then<T, N>(above, p.incoming + (l + 1) * W * W, B, W, product.data(),
                          [&](int64_t i0, int64_t i1, const T* __restrict passed_rows) {
          #pragma GCC ivdep
          for (int64_t i = i0; i < i1; ++i) {
            const T from_above = above[i];  // loaded either way: a select, not a branch
            const T down = sh * slope<T, ACT>(hl[i]) * passed_rows[i - i0] +
                           (skip ? from_above : T(0));
            const T state = hl[i] - eta * (cl[i] - down);
            hl[i] = state;
            act[i] = phi<T, ACT>(state);
          }
        });
      } else {  // the top layer: the output loss's gradient
        const T loss = loss_gradient(hl);
        if constexpr (RECORD) sums.loss[t] = loss;
        #pragma GCC ivdep
        for (int64_t i = 0; i < S; ++i)
          hl[i] -= eta * (cl[i] + so * slope<T, ACT>(hl[i]) * out_grad[i]);
      }
      if constexpr (RECORD)
        for (int f = 0; f < 3; ++f)
          for (int j = 0; j < lanes; ++j) partial[f][j] = T(0);
      // the new errors r_l = h_l - (s h_{l-1} + a_h `product`) of elements i0..i1 (layer 0:
      // s h_0 = f_1(x)), and from them the next step's multipliers and credit (or, at the
      // last step, the errors); a PC run (alpha = 0) keeps its multipliers at zero
      auto finish = [&](int64_t i0, int64_t i1, const T* __restrict below,
                        const T* __restrict product_rows, bool link, T scale) {
        T* __restrict ml = mult + l * D;
        T* __restrict out = err + l * D;
        const T* __restrict adj = RECORD ? p.adjoint + l * D : nullptr;
        const T* __restrict pr = product_rows - i0;
        // r = h - (s h_below + a_h product), of one element or of a vector of them
        auto error_of = [&](auto state, auto from_below, auto product) {
          return state - ((link ? from_below : decltype(state){}) + scale * product);
        };
        auto error = [&](int64_t i) {  // below[i] loaded either way: a select, not a branch
          return error_of(hl[i], below[i], pr[i]);
        };
        // the next step's credit from the error e and this step's multiplier m (updating m),
        // of one element or of a vector of them; at the last step, the error itself
        auto credit_next = [&](auto e, auto& m) {
          if (last) return e;
          if (alpha == T(0)) return rho * e;
          m = m + alpha * e;
          return m + rho * e;
        };
        const bool keeps_multiplier = last || alpha == T(0);
        if constexpr (RECORD) {  // one pass: the telemetry's three sums (of the error, with
          // this step's multipliers and the adjoints), added up in vector registers (summed
          // into `partial` itself, in memory, each block's sums waited on the last block's
          // store), and the next credit
          typedef typename Vec<T>::type V;
          V sum[3];
          for (int f = 0; f < 3; ++f) std::memcpy(&sum[f], partial[f], kVecBytes);
          int64_t i = i0;
          for (; i + lanes <= i1; i += lanes) {
            V state, from_below, product, m, a;
            std::memcpy(&state, hl + i, kVecBytes);
            std::memcpy(&from_below, below + i, kVecBytes);
            std::memcpy(&product, pr + i, kVecBytes);
            std::memcpy(&m, ml + i, kVecBytes);
            std::memcpy(&a, adj + i, kVecBytes);
            const V e = error_of(state, from_below, product);
            sum[0] += e * e;
            sum[1] += m * e;
            sum[2] += a * e;
            const V next = credit_next(e, m);
            std::memcpy(out + i, &next, kVecBytes);
            if (!keeps_multiplier) std::memcpy(ml + i, &m, kVecBytes);
          }
          for (int f = 0; f < 3; ++f) std::memcpy(partial[f], &sum[f], kVecBytes);
          for (; i < i1; ++i) {
            T e = error(i), m = ml[i];
            partial[0][0] += e * e;
            partial[1][0] += m * e;
            partial[2][0] += adj[i] * e;
            out[i] = credit_next(e, m);
            if (!keeps_multiplier) ml[i] = m;
          }
        } else if (last) {
          #pragma GCC ivdep
          for (int64_t i = i0; i < i1; ++i) out[i] = error(i);
        } else if (alpha == T(0)) {
          #pragma GCC ivdep
          for (int64_t i = i0; i < i1; ++i) out[i] = rho * error(i);
        } else {
          #pragma GCC ivdep
          for (int64_t i = i0; i < i1; ++i) {
            T m = ml[i];
            out[i] = credit_next(error(i), m);
            ml[i] = m;
          }
        }
      };
      if (l == 0) {  // r_1 = h_1 - f_1(x)
        finish(0, S, p.first, p.first, true, T(0));
      } else {  // r_l = h_l - (s h_{l-1} + a_h phi(h_{l-1}) W_l^T), from the new state below
        matmul_then<T, N>(act_below, p.incoming_t + l * W * W, B, W, product.data(),
                          [&](int64_t i0, int64_t i1, const T* __restrict passed_rows) {
          finish(i0, i1, h + (l - 1) * D, passed_rows, skip, sh);
        });
      }
      if constexpr (RECORD) {
        T total[3] = {};
        for (int f = 0; f < 3; ++f)
          for (int j = 0; j < lanes; ++j) total[f] += partial[f][j];
        sums.error_sq[t * M + l] = total[0];
        sums.multiplier_sq[t * M + l] = total[1];
        sums.credit_against_adjoint[t * M + l] = total[2];
      }
    }
  }
}

template <typename T, int N, bool RECORD>
bool run_width(int64_t act, const Problem<T>& p, T* h, T* err, T* mult, Sums<T> sums) {
  if constexpr (N > 0 && (N * int(sizeof(T))) % kVecBytes != 0) {
    return false;  // narrower than a vector: the any-width loop takes it
  } else {
    if (N > 0 && p.s.N != N) return false;
    switch (act) {
      case kLinear: run<T, N, kLinear, RECORD>(p, h, err, mult, sums); return true;
      case kTanh: run<T, N, kTanh, RECORD>(p, h, err, mult, sums); return true;
      case kRelu: run<T, N, kRelu, RECORD>(p, h, err, mult, sums); return true;
      case kGelu: run<T, N, kGelu, RECORD>(p, h, err, mult, sums); return true;
      default: return false;
    }
  }
}

template <typename T, bool RECORD>
bool dispatch(int64_t act, const Problem<T>& p, T* h, T* err, T* mult, Sums<T> sums) {
  return run_width<T, 32, RECORD>(act, p, h, err, mult, sums) ||
         run_width<T, 16, RECORD>(act, p, h, err, mult, sums) ||
         run_width<T, 64, RECORD>(act, p, h, err, mult, sums) ||
         run_width<T, 0, RECORD>(act, p, h, err, mult, sums);
}

// rounding's negative leftovers of a sum of squares are zero; a NaN stays NaN
inline double non_negative(double v) { return v < 0.0 ? 0.0 : v; }

// The telemetry from `run`'s three sums per step t and layer, R_t = sum r^2, P_t = sum m r
// and D_t = sum r delta (every part's added up): with the multipliers' sums Q_t = sum m^2 and
// A_t = sum m delta, the credit e = m + rho r gives
//   sum e^2 = Q_t + 2 rho P_t + rho^2 R_t,   sum e delta = A_t + rho D_t,
// and the dual step m <- m + alpha r (all but the last step) gives
//   Q_{t+1} = Q_t + 2 alpha P_t + alpha^2 R_t,   A_{t+1} = A_t + alpha D_t,   Q_0 = A_0 = 0,
// taken in double. Three products per element instead of the credit and four.
template <typename T>
void telemetry_sums(const Sums<T>& sums, int64_t steps, int64_t M, double rho, double alpha) {
  for (int64_t l = 0; l < M; ++l) {
    double q = 0.0, a = 0.0;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t at = t * M + l;
      const double r = sums.error_sq[at], pm = sums.multiplier_sq[at],
                   d = sums.credit_against_adjoint[at];
      sums.credit_sq[at] = T(non_negative(q + 2.0 * rho * pm + rho * rho * r));
      sums.multiplier_sq[at] = T(q);
      sums.credit_against_adjoint[at] = T(-(a + rho * d));
      q = non_negative(q + 2.0 * alpha * pm + alpha * alpha * r);
      a += alpha * d;
    }
  }
}

template <ffi::DataType DT, bool RECORD>
ffi::Error Infer(ffi::Buffer<DT> first, ffi::Buffer<DT> h0, ffi::Buffer<DT> err0,
                 ffi::Buffer<DT> incoming, ffi::Buffer<DT> w_out, ffi::Buffer<DT> y,
                 ffi::Buffer<DT> scalars,
                 ffi::ResultBuffer<DT> h_out, ffi::ResultBuffer<DT> err_out,
                 ffi::ResultBuffer<DT> mult_out, ffi::ResultBuffer<DT> credit_sq,
                 ffi::ResultBuffer<DT> error_sq, ffi::ResultBuffer<DT> multiplier_sq,
                 ffi::ResultBuffer<DT> credit_against_adjoint, ffi::ResultBuffer<DT> loss,
                 ffi::ResultBuffer<DT> adjoint_sq,
                 int64_t steps, int64_t activation, bool skip, double scale_hidden,
                 double scale_out, int64_t threads) {
  using T = ffi::NativeType<DT>;
  const auto dims = h0.dimensions();
  if (dims.size() != 3 || w_out.dimensions().size() != 2)
    return ffi::Error::InvalidArgument("pcviz_infer: states must be (M, B, N), w_out (K, N)");
  Shape s{dims[0], dims[1], dims[2], w_out.dimensions()[0]};
  const int64_t M = s.M, N = s.N, K = s.K, size = s.M * s.B * s.N;
  std::vector<T> incoming_t(M * N * N), w_out_t(N * K);
  const T* in = incoming.typed_data();
  for (int64_t l = 0; l < M; ++l)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < N; ++m) incoming_t[(l * N + m) * N + n] = in[(l * N + n) * N + m];
  const T* wo = w_out.typed_data();
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) w_out_t[n * K + k] = wo[k * N + n];
  const T* sc = scalars.typed_data();
  Problem<T> p{s, first.typed_data(), in, incoming_t.data(), wo, w_out_t.data(), y.typed_data(),
               nullptr, sc[0], sc[1], sc[2], T(scale_hidden),
               T(scale_out), skip, steps, s.B * s.N};
  T* h = h_out->typed_data();
  T* err = err_out->typed_data();
  T* mult = mult_out->typed_data();
  Sums<T> sums{credit_sq->typed_data(), error_sq->typed_data(), multiplier_sq->typed_data(),
               credit_against_adjoint->typed_data(), loss->typed_data(),
               adjoint_sq->typed_data()};
  if (activation < kLinear || activation > kGelu)
    return ffi::Error::InvalidArgument("pcviz_infer: unknown activation");
  // The samples of a batch are independent during inference: the batch's rows are split
  // into parts (part_rows), which `workers` threads (batch_threads) take in turn. Each part of
  // several runs on a copy of its rows in a block of its own: two threads writing their rows
  // in place, in the pages each layer's block of the batch shares, ran hardly faster than
  // one. The telemetry's sums are added up part by part, in the parts' order.
  const int workers = batch_threads(s.B, threads);
  const int64_t rows = part_rows<T>(s.B, workers, N);
  const int parts = static_cast<int>((s.B + rows - 1) / rows);
  if (parts == 1) {  // in place, on the outputs
    std::memcpy(h, h0.typed_data(), sizeof(T) * size);
    std::memcpy(err, err0.typed_data(), sizeof(T) * size);
    std::memset(mult, 0, sizeof(T) * size);
  }
  std::vector<T> adjoint(RECORD && parts == 1 ? size : 0);
  p.adjoint = adjoint.data();
  const int64_t per_step = steps * M, sum_sizes[6] = {per_step, per_step, per_step, per_step,
                                                      steps, M};
  std::vector<std::vector<T>> part_sums((parts - 1) * 6);
  std::vector<std::thread> helpers;
  auto part = [&](int k) {
    const int64_t b0 = k * rows, b1 = std::min(s.B, b0 + rows), n = b1 - b0;
    Problem<T> q = p;
    q.s.B = n;
    q.first = p.first + b0 * N;
    q.y = p.y + b0 * K;
    Sums<T> mine = sums;
    if (k > 0 && RECORD) {
      T** fields[6] = {&mine.credit_sq, &mine.error_sq, &mine.multiplier_sq,
                       &mine.credit_against_adjoint, &mine.loss, &mine.adjoint_sq};
      for (int f = 0; f < 6; ++f) {
        auto& buffer = part_sums[(k - 1) * 6 + f];
        buffer.assign(sum_sizes[f], T(0));
        *fields[f] = buffer.data();
      }
    }
    if (parts == 1) {
      dispatch<T, RECORD>(activation, q, h, err, mult, mine);
      return;
    }
    // this part's states, errors, multipliers (zero) and adjoints, (M, n, N) each, read
    // from the inputs and written to the outputs; `ours(l)` / `batch(l)`: layer l's rows of
    // this part in its own block / in the whole batch's
    const int64_t block = M * n * N, row_bytes = n * N * int64_t(sizeof(T));
    std::vector<T> own((RECORD ? 4 : 3) * block);
    T *own_h = own.data(), *own_err = own_h + block, *own_mult = own_err + block;
    auto ours = [&](int64_t l) { return l * n * N; };
    auto batch = [&](int64_t l) { return l * s.B * N + b0 * N; };
    for (int64_t l = 0; l < M; ++l) {
      std::memcpy(own_h + ours(l), h0.typed_data() + batch(l), row_bytes);
      std::memcpy(own_err + ours(l), err0.typed_data() + batch(l), row_bytes);
    }
    q.stride = n * N;
    q.adjoint = RECORD ? own_mult + block : nullptr;
    dispatch<T, RECORD>(activation, q, own_h, own_err, own_mult, mine);
    for (int64_t l = 0; l < M; ++l) {
      std::memcpy(h + batch(l), own_h + ours(l), row_bytes);
      std::memcpy(err + batch(l), own_err + ours(l), row_bytes);
      std::memcpy(mult + batch(l), own_mult + ours(l), row_bytes);
    }
  };
  std::atomic<int> next_part{0};
  auto work = [&] {
    for (int k = next_part++; k < parts; k = next_part++) part(k);
  };
  for (int k = 1; k < workers; ++k) helpers.emplace_back(work);
  work();
  for (auto& helper : helpers) helper.join();
  release_cores(workers);
  if (RECORD) {  // the batch sums: part 0's, plus the other parts'
    T* totals[6] = {sums.credit_sq, sums.error_sq, sums.multiplier_sq,
                    sums.credit_against_adjoint, sums.loss, sums.adjoint_sq};
    for (int k = 1; k < parts; ++k)
      for (int f = 0; f < 6; ++f) {
        const auto& buffer = part_sums[(k - 1) * 6 + f];
        for (int64_t i = 0; i < sum_sizes[f]; ++i) totals[f][i] += buffer[i];
      }
    telemetry_sums(sums, steps, M, sc[1], sc[2]);
  }
  return ffi::Error::Success();
}

}  // namespace

#define PCVIZ_BIND(DT)                                                                       \
  ffi::Ffi::Bind()                                                                           \
      .Arg<ffi::Buffer<DT>>().Arg<ffi::Buffer<DT>>().Arg<ffi::Buffer<DT>>()                  \
      .Arg<ffi::Buffer<DT>>().Arg<ffi::Buffer<DT>>().Arg<ffi::Buffer<DT>>()                  \
      .Arg<ffi::Buffer<DT>>()                                                                \
      .Ret<ffi::Buffer<DT>>().Ret<ffi::Buffer<DT>>().Ret<ffi::Buffer<DT>>()                  \
      .Ret<ffi::Buffer<DT>>().Ret<ffi::Buffer<DT>>().Ret<ffi::Buffer<DT>>()                  \
      .Ret<ffi::Buffer<DT>>().Ret<ffi::Buffer<DT>>().Ret<ffi::Buffer<DT>>()                  \
      .Attr<int64_t>("steps").Attr<int64_t>("activation").Attr<bool>("skip")                 \
      .Attr<double>("scale_hidden").Attr<double>("scale_out").Attr<int64_t>("threads")

XLA_FFI_DEFINE_HANDLER_SYMBOL(PcvizInferF32, (Infer<ffi::DataType::F32, false>),
                              PCVIZ_BIND(ffi::DataType::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(PcvizInferF64, (Infer<ffi::DataType::F64, false>),
                              PCVIZ_BIND(ffi::DataType::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(PcvizInferRecordedF32, (Infer<ffi::DataType::F32, true>),
                              PCVIZ_BIND(ffi::DataType::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(PcvizInferRecordedF64, (Infer<ffi::DataType::F64, true>),
                              PCVIZ_BIND(ffi::DataType::F64));
