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

/* the value of rank `want` (0-based, descending) among a[0..len-1];
 * reorders a. Hoare-style quickselect with a median-of-three pivot. */
static double select_desc(double *a, int len, int want)
{
    int lo = 0, hi = len - 1;

    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi];
        double pivot = x > y ? (y > z ? y : (x > z ? z : x))
                             : (x > z ? x : (y > z ? z : y));
        int i = lo, j = hi;

        while (i <= j) {
            while (a[i] > pivot)
                i++;
            while (a[j] < pivot)
                j--;
            if (i <= j) {
                double t = a[i];

                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return a[want];
    }
    return a[want];
}

void eng_topk_tau(const double *Q, int n, int K, int keep, double *tau,
                  double *work)
{
    for (int k = 0; k < K; k++) {
        const double *q = Q + (size_t)k * n;

        if (keep >= n) {
            tau[k] = 0.0;
            continue;
        }
        for (int j = 0; j < n; j++)
            work[j] = fabs(q[j]);
        tau[k] = select_desc(work, n, keep);
    }
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
