// The building blocks of pcviz's fused inference kernel (_fused_loop.cc, its one includer):
// the activations and their slopes, and the products (B, N) @ (N, N) register-blocked over
// PCVIZ_VEC_BYTES-wide vectors (setup.py builds the kernel for AVX-512 and AVX2, 64 and 32
// bytes), each block of rows handed on while it is in the core's registers and cache.

#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#ifndef PCVIZ_VEC_BYTES
#define PCVIZ_VEC_BYTES 16
#endif

namespace pcviz_fused {

constexpr int kVecBytes = PCVIZ_VEC_BYTES;

enum Activation : int64_t { kLinear = 0, kTanh = 1, kRelu = 2, kGelu = 3 };

// jax.nn.gelu's default (tanh) form and its derivative
template <typename T>
inline T gelu(T v) {
  const T c = T(0.7978845608028654), k = T(0.044715);
  return T(0.5) * v * (T(1) + std::tanh(c * (v + k * v * v * v)));
}
template <typename T>
inline T gelu_slope(T v) {
  const T c = T(0.7978845608028654), k = T(0.044715);
  const T t = std::tanh(c * (v + k * v * v * v));
  return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * c * (T(1) + T(3) * k * v * v);
}

template <typename T, int ACT>
inline T phi(T v) {
  if constexpr (ACT == kLinear) return v;
  else if constexpr (ACT == kTanh) return std::tanh(v);
  else if constexpr (ACT == kRelu) return v < T(0) ? T(0) : v;  // a NaN stays NaN, as in JAX
  else return gelu(v);
}

template <typename T, int ACT>
inline T slope(T v) {
  if constexpr (ACT == kLinear) return T(1);
  else if constexpr (ACT == kTanh) { const T t = std::tanh(v); return T(1) - t * t; }
  else if constexpr (ACT == kRelu) return static_cast<T>(v > T(0));  // branch-free: vectorises
  else return gelu_slope(v);
}

// out (B, NC) = a (B, K) @ w (K, NC), row-major, any sizes
template <typename T>
void matmul_any(const T* __restrict a, const T* __restrict w, T* __restrict out, int64_t B,
                int64_t K, int64_t NC) {
  for (int64_t b = 0; b < B; ++b) {
    T* o = out + b * NC;
    for (int64_t n = 0; n < NC; ++n) o[n] = T(0);
    for (int64_t k = 0; k < K; ++k) {
      const T c = a[b * K + k];
      const T* wr = w + k * NC;
      for (int64_t n = 0; n < NC; ++n) o[n] += c * wr[n];
    }
  }
}

template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(kVecBytes)));  // loaded and stored with memcpy
};

// R rows of out (R, N) = a (R, N) @ w (N, N), `a` and `out` pointing at their first row: the
// rows' accumulators stay in registers and each row of w is loaded once for all R rows
template <typename T, int N, int R>
inline __attribute__((always_inline)) void matmul_rows(const T* __restrict a,
                                                        const T* __restrict w,
                                                        T* __restrict out) {
  typedef typename Vec<T>::type V;
  constexpr int lanes = kVecBytes / sizeof(T);
  constexpr int nv = N / lanes;
  V acc[R][nv];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < nv; ++v) acc[r][v] = V{};
  for (int k = 0; k < N; ++k) {
    V wv[nv];
#pragma GCC unroll 16
    for (int v = 0; v < nv; ++v) std::memcpy(&wv[v], w + k * N + v * lanes, kVecBytes);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const T c = a[r * N + k];
#pragma GCC unroll 16
      for (int v = 0; v < nv; ++v) acc[r][v] += c * wv[v];
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int v = 0; v < nv; ++v) std::memcpy(out + r * N + v * lanes, &acc[r][v], kVecBytes);
}

// rows per register block of width N: as many as the vector registers hold accumulators for
// (AVX2's 16: 12 accumulators, three rows of width 32, ran a fifth faster at L = 128 than 8,
// two rows)
template <typename T, int N>
constexpr int block_rows() {
  if constexpr (N == 0) {
    return 1;
  } else {
    constexpr int nv = N * int(sizeof(T)) / kVecBytes;
    constexpr int registers = kVecBytes == 64 ? 16 : (kVecBytes == 32 ? 12 : 6);
    return nv >= registers ? 1 : registers / nv;
  }
}

// out (B, N) = a (B, N) @ w (N, N) a block of rows at a time, each block's product handed to
// `then(i0, i1, product)` (elements i0..i1 of the (B, N) arrays) while it is in cache;
// N == 0: any width, one block
template <typename T, int N, typename Then>
inline void matmul_then(const T* __restrict a, const T* __restrict w, int64_t B, int64_t W,
                        T* __restrict product, Then&& then) {
  if constexpr (N == 0) {
    matmul_any<T>(a, w, product, B, W, W);
    then(int64_t(0), B * W, static_cast<const T*>(product));
  } else {
    constexpr int R = block_rows<T, N>();
    int64_t b = 0;
    for (; b + R <= B; b += R) {
      matmul_rows<T, N, R>(a + b * N, w, product);
      then(b * N, (b + R) * N, static_cast<const T*>(product));
    }
    for (; b < B; ++b) {
      matmul_rows<T, N, 1>(a + b * N, w, product);
      then(b * N, (b + 1) * N, static_cast<const T*>(product));
    }
  }
}

// the rows of the register blocks of `matmul_then` at `width` (1 where no shape is compiled
// for it)
template <typename T>
int64_t row_block(int64_t width) {
  switch (width) {
    case 16: return block_rows<T, 16>();
    case 32: return block_rows<T, 32>();
    case 64: return block_rows<T, 64>();
    default: return 1;
  }
}

}  // namespace pcviz_fused
