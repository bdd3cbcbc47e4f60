/*
 * engine.c - the sparsifying transforms of one node (see engine.h).
 *
 * Shapes: n units per node, K samples per batch, column-major storage.
 * This file does not know about ranks, files or schedules.
 */
#include "engine.h"
#include "mixed.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* the value of rank `want` (0-based, descending) among a[0..len-1], by
 * insertion sort; for short runs only */
static double select_small(double *a, int len, int want)
{
    for (int i = 1; i < len; i++) {
        double x = a[i];
        int j = i;

        for (; j > 0 && a[j - 1] < x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
    return a[want];
}

/* median of three */
static double med3(double x, double y, double z)
{
    return x > y ? (y > z ? y : (x > z ? z : x))
                 : (x > z ? x : (y > z ? z : y));
}

/* The value of rank `want` (0-based, descending) among |q[0..n-1]|.
 * Quickselect with three-way partitions written without branches: each
 * pass copies every value into both halves and advances only the right
 * cursor (values above the pivot, below it; equal ones end the search),
 * so the cost does not depend on how well the CPU guesses comparisons.
 * work holds 3n doubles: the two halves and the next pass's input
 * rotate through its three thirds. */
static double select_abs_desc(const double *q, int n, int want,
                              double *work)
{
    double *buf[3] = { work, work + n, work + 2 * (size_t)n };
    const double *in = q;
    int len = n, cur = -1, absval = 1;

    while (len > 24) {
        double *hi = buf[cur == 0 ? 1 : 0], *lo = buf[cur == 2 ? 1 : 2];
        double p = med3(fabs(in[0]), fabs(in[len / 2]), fabs(in[len - 1]));
        int nh = 0, nl = 0;

        if (!absval)
            p = med3(in[0], in[len / 2], in[len - 1]);
        for (int i = 0; i < len; i++) {
            double x = absval ? fabs(in[i]) : in[i];

            hi[nh] = x;
            nh += x > p;
            lo[nl] = x;
            nl += x < p;
        }
        if (want < nh) {
            len = nh;
            in = hi;
            cur = hi == buf[0] ? 0 : 1;
        } else if (want < len - nl) {
            return p;
        } else {
            want -= len - nl;
            len = nl;
            in = lo;
            cur = lo == buf[2] ? 2 : 1;
        }
        absval = 0;
    }
    if (absval) {
        for (int i = 0; i < len; i++)
            buf[0][i] = fabs(in[i]);
        in = buf[0];
    }
    return select_small((double *)in, len, want);
}

void eng_topk_tau(const double *Q, int n, int K, int keep, double *tau,
                  double *work)
{
    for (int k = 0; k < K; k++)
        tau[k] = keep >= n ? 0.0
                 : select_abs_desc(Q + (size_t)k * n, n, keep, work);
}

void eng_soft(const double *Q, const double *tau, int n, int K, double *U)
{
    for (int k = 0; k < K; k++) {
        const double *q = Q + (size_t)k * n;
        double *u = U + (size_t)k * n;
        double t = tau[k];

        for (int j = 0; j < n; j++) {
            double a = fabs(q[j]) - t;

            u[j] = a > 0.0 ? copysign(a, q[j]) : 0.0;
        }
    }
}

void eng_threshold(const double *Q, int n, int K, const EngThreshold *t,
                   double *tau, double *work)
{
    if (t->keep > 0) {
        eng_topk_tau(Q, n, K, t->keep, tau, work);
        return;
    }
    for (int k = 0; k < K; k++)
        tau[k] = t->tau;
}

void eng_forward(const double *A, const double *Uin, int n, int K,
                 const EngThreshold *t, double *Q, double *tau, double *U,
                 double *work)
{
    mixed_gemm(CblasNoTrans, CblasNoTrans, n, K, n, 1.0, A, n, Uin, n, 0.0, Q,
               n);
    eng_threshold(Q, n, K, t, tau, work);
    eng_soft(Q, tau, n, K, U);
}

int eng_propagation(const double *A, const double *Ein, const double *BE,
                    int n, int K, double lf, double lb, double *P)
{
    size_t len = (size_t)n * K;
    int have_be = BE && lf != 0.0, have_ein = Ein && lb != 0.0;

    if (!have_be && !have_ein)
        return 0;
    if (have_be) {
        memcpy(P, BE, len * sizeof(double));
        if (lf != 1.0)
            cblas_dscal((int)len, lf, P, 1);
    }
    if (have_ein)
        mixed_gemm(CblasNoTrans, CblasNoTrans, n, K, n, lb, A, n, Ein, n,
                   have_be ? 1.0 : 0.0, P, n);
    return 1;
}

void eng_csnt(const double *Q, const double *tau, const double *E,
              const double *P, int n, int K, double *Y)
{
    size_t len = (size_t)n * K;

    /* Y = Q - nu, nu = E + P (eq. 15); zero blocks skipped */
    memcpy(Y, Q, len * sizeof(*Y));
    if (E)
        cblas_daxpy((int)len, -1.0, E, 1, Y, 1);
    if (P)
        cblas_daxpy((int)len, -1.0, P, 1, Y, 1);
    eng_soft(Y, tau, n, K, Y);
}

int eng_all_finite(const double *x, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}
