/*
 * engine.c - the sparsifying transforms of one node (see engine.h).
 *
 * Shapes: n units per node, K samples per batch, column-major storage.
 * This file does not know about ranks, files or schedules.
 */
#include "engine.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

int eng_topk_level(int n, int l)
{
    int k = n / (2 * l);

    return k > 0 ? k : 1;
}

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

void eng_forward(const double *A, const double *Uin, int n, int K, int keep,
                 double *Q, double *tau, double *U, double *work)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, K, n, 1.0, A,
                n, Uin, n, 0.0, Q, n);
    eng_topk_tau(Q, n, K, keep, tau, work);
    eng_soft(Q, tau, n, K, U);
}

void eng_csnt(const double *Q, const double *tau, const double *E,
              const double *BE, const double *A, const double *Ein,
              int n, int K, double lf, double lb, double *Y)
{
    size_t len = (size_t)n * K;

    /* Y = Q - nu, nu = E + lf BE + lb A Ein (eq. 15); zero blocks skipped */
    memcpy(Y, Q, len * sizeof(*Y));
    if (E)
        cblas_daxpy((int)len, -1.0, E, 1, Y, 1);
    if (BE && lf != 0.0)
        cblas_daxpy((int)len, -lf, BE, 1, Y, 1);
    if (Ein && lb != 0.0)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, K, n, -lb,
                    A, n, Ein, n, 1.0, Y, n);
    eng_soft(Y, tau, n, K, Y);
}

int eng_all_finite(const double *x, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}
