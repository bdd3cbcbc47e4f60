/*
 * peak.c - the machine's GEMM rate at the trainer's shapes, the yardstick
 * every GFLOP/s figure of the trainer is compared with.
 *
 *   bench/peak [n K reps]      (default 784 9000 5)
 *
 * First checks DGEMM and SGEMM against a naive triple loop on a small
 * problem, then times C = A B with A n x n and B n x K (the forward
 * product of one node; 2 n^2 K flops) after one warm-up call, and prints
 * one line per precision. OPENBLAS_NUM_THREADS chooses the cores.
 */
#include <cblas.h>
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "blas.h"

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* DGEMM and SGEMM against the naive product on a 13 x 7 x 11 problem */
static int check(void)
{
    enum { M = 13, K = 11, N = 7 };
    double a[M * K], b[K * N], c[M * N];
    float af[M * K], bf[K * N], cf[M * N];
    int bad = 0;

    for (int i = 0; i < M * K; i++)
        af[i] = (float)(a[i] = sin(i + 1.0));
    for (int i = 0; i < K * N; i++)
        bf[i] = (float)(b[i] = cos(i + 2.0));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, a,
                M, b, K, 0.0, c, M);
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f,
                af, M, bf, K, 0.0f, cf, M);
    for (int r = 0; r < M; r++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;

            for (int i = 0; i < K; i++)
                s += a[i * M + r] * b[j * K + i];
            /* sums of 11 products of size <= 1: a few ulps in double,
             * float rounding of the operands in single */
            bad |= fabs(c[j * M + r] - s) > 1e-13;
            bad |= fabs(cf[j * M + r] - s) > 1e-5;
        }
    return bad;
}

/* C = A B in double or single precision on packed n x n and n x k */
static void gemm(int single, int n, int k, const void *a, const void *b,
                 void *c)
{
    if (single)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, k, n,
                    1.0f, a, n, b, n, 0.0f, c, n);
    else
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, k, n, 1.0,
                    a, n, b, n, 0.0, c, n);
}

static void fill(int single, void *x, size_t len, int period)
{
    for (size_t i = 0; i < len; i++) {
        double v = (double)(i % (size_t)period) / period;

        if (single)
            ((float *)x)[i] = (float)v;
        else
            ((double *)x)[i] = v;
    }
}

/* GFLOP/s of reps products after one warm-up call */
static double rate(int single, int n, int k, int reps)
{
    size_t size = single ? sizeof(float) : sizeof(double);
    void *a = malloc((size_t)n * n * size), *b = malloc((size_t)n * k * size);
    void *c = malloc((size_t)n * k * size);
    double t0;

    fill(single, a, (size_t)n * n, 17);
    fill(single, b, (size_t)n * k, 13);
    gemm(single, n, k, a, b, c);
    t0 = now();
    for (int r = 0; r < reps; r++)
        gemm(single, n, k, a, b, c);
    t0 = now() - t0;
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * k * reps / t0 / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 784;
    int k = argc > 2 ? atoi(argv[2]) : 9000;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    const char *threads;

    blas_pick_kernels(argv);
    threads = getenv("OPENBLAS_NUM_THREADS");
    if (n < 1 || k < 1 || reps < 1) {
        fprintf(stderr, "usage: %s [n K reps], all positive\n", argv[0]);
        return 2;
    }
    if (check() != 0) {
        fprintf(stderr, "peak: BLAS disagrees with the naive product\n");
        return 1;
    }
    printf("dgemm %d x %d x %d  threads %s  kernels %s  %.1f GFLOP/s\n",
           n, n, k, threads ? threads : "default", openblas_get_corename(),
           rate(0, n, k, reps));
    printf("sgemm %d x %d x %d  threads %s  kernels %s  %.1f GFLOP/s\n",
           n, n, k, threads ? threads : "default", openblas_get_corename(),
           rate(1, n, k, reps));
    return 0;
}
