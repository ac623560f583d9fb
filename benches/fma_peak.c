// Single-core f32 fused multiply-add peak: ten independent chains of 512-bit (where the CPU has
// AVX-512F), then of 256-bit FMAs, so that throughput, not latency, bounds the loop. The ceiling
// for W3 in BENCHMARKS.md. The 512-bit part is compiled for AVX-512F on its own and run only when
// the CPU reports it, so the same binary measures AVX2-only CPUs too.
//
//   gcc -O2 -mavx2 -mfma benches/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS(F) \
    a0 = F(a0, m, c); a1 = F(a1, m, c); a2 = F(a2, m, c); a3 = F(a3, m, c); a4 = F(a4, m, c); \
    a5 = F(a5, m, c); a6 = F(a6, m, c); a7 = F(a7, m, c); a8 = F(a8, m, c); a9 = F(a9, m, c);
#define KEEP __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), \
                                  "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9))

static const long rounds = 300000000;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f"))) static void peak_512(void) {
    __m512 a0 = _mm512_set1_ps(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
           a7 = a0, a8 = a0, a9 = a0, m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
    double t = now();
    for (long i = 0; i < rounds; i++) { CHAINS(_mm512_fmadd_ps) KEEP; }
    t = now() - t;
    printf("512-bit: %.1f GFLOP/s (%.3f)\n", rounds * 10 * 32.0 / t / 1e9,
           _mm512_reduce_add_ps(_mm512_add_ps(a0, a9)));
}

static void peak_256(void) {
    __m256 a0 = _mm256_set1_ps(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
           a7 = a0, a8 = a0, a9 = a0, m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
    double t = now();
    for (long i = 0; i < rounds; i++) { CHAINS(_mm256_fmadd_ps) KEEP; }
    t = now() - t;
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(a0, a9));
    printf("256-bit: %.1f GFLOP/s (%.3f)\n", rounds * 10 * 16.0 / t / 1e9, lanes[0]);
}

int main(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        peak_512();
    } else {
        printf("512-bit: not measured, the CPU has no AVX-512F\n");
    }
    peak_256();
    return 0;
}
