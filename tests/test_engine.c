/*
 * test_engine.c - the sNT against independent values: brute-force counts
 * of what exceeds each threshold, and hand-computed soft thresholds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "harness.h"
#include "rng.h"

/* the tests' random inputs: run seed 7, one stream per input */
#define randn(len, stream) harness_randn((len), 7, (stream))

static void test_topk_keeps_exactly_k_nonzeros(void **state)
{
    const int n = 50, K = 7;
    double *Q = randn(n * K, 1), *U = malloc(n * K * sizeof(double));
    double tau[7], work[150];

    (void)state;
    for (int keep = 1; keep < n; keep += 7) {
        eng_topk_tau(Q, n, K, keep, tau, work);
        eng_soft(Q, tau, n, K, U);
        for (int k = 0; k < K; k++) {
            int nz = 0, larger = 0;

            for (int j = 0; j < n; j++) {
                nz += U[k * n + j] != 0.0;
                /* brute force: how many |q| exceed the threshold */
                larger += fabs(Q[k * n + j]) > tau[k];
            }
            assert_int_equal(nz, keep);
            assert_int_equal(larger, keep);
        }
    }
    free(Q);
    free(U);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x < y) - (x > y);
}

/* the threshold is the (keep+1)-th largest |q|, as a full sort finds it:
 * columns of 784 with many ties (integers -3..3), an all-zero column and
 * a sorted one, which defeat careless pivots */
static void test_topk_tau_is_the_sorted_value_with_ties(void **state)
{
    const int n = 784, K = 4;
    double *Q = randn(n * K, 2), *s = malloc(n * sizeof(double));
    double tau[4], *work = malloc(3 * n * sizeof(double));

    (void)state;
    for (int j = 0; j < n; j++) {
        Q[j] = round(Q[j] * 1.5);
        Q[n + j] = 0.0;
        Q[2 * n + j] = (double)j - 300.0;
    }
    for (int keep = 0; keep < n; keep += 13) {
        eng_topk_tau(Q, n, K, keep, tau, work);
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < n; j++)
                s[j] = fabs(Q[k * n + j]);
            qsort(s, n, sizeof(double), cmp_desc);
            assert_true(tau[k] == s[keep]);
        }
    }
    free(Q);
    free(s);
    free(work);
}

static void test_soft_threshold_shrinks_by_tau(void **state)
{
    double q[4] = { 3.0, -2.5, 0.5, -1.0 }, tau[1] = { 1.0 }, u[4];

    (void)state;
    eng_soft(q, tau, 4, 1, u);
    assert_true(u[0] == 2.0 && u[1] == -1.5 && u[2] == 0.0 && u[3] == 0.0);
}

static void test_csnt_without_correction_is_the_snt(void **state)
{
    const int n = 20, K = 9;
    double *Q = randn(n * K, 11), U[180], Y[180], tau[9], work[60];
    EngThreshold t = { .keep = 5 };

    (void)state;
    eng_threshold(Q, n, K, &t, tau, work);
    eng_soft(Q, tau, n, K, U);
    eng_csnt(Q, tau, NULL, NULL, n, K, Y);
    assert_memory_equal(U, Y, sizeof(U));
    free(Q);
}

static void test_csnt_subtracts_error_and_flow(void **state)
{
    const int n = 6, K = 4;
    double *Q = randn(n * K, 12), *E = randn(n * K, 13);
    double *P = randn(n * K, 14), Y[24], tau[4] = { 0.1, 0.2, 0.3, 0.0 };

    (void)state;
    eng_csnt(Q, tau, E, P, n, K, Y);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < n; j++) {
            double v = Q[k * n + j] - E[k * n + j] - P[k * n + j];
            double a = fabs(v) - tau[k];

            /* one rounding per subtraction */
            assert_true(fabs(Y[k * n + j] - (a > 0 ? copysign(a, v) : 0.0))
                        < 1e-14);
        }
    free(Q);
    free(E);
    free(P);
}

static void test_propagation_flow_matches_naive_loops(void **state)
{
    const int n = 5, K = 7;
    double *A = randn(n * n, 15), *Ein = randn(n * K, 16);
    double *BE = randn(n * K, 17), P[35];

    (void)state;
    assert_int_equal(eng_propagation(A, NULL, NULL, n, K, 1, 1, P), 0);
    assert_int_equal(eng_propagation(A, Ein, BE, n, K, 0.5, 2.0, P), 1);
    for (int k = 0; k < K; k++)
        for (int r = 0; r < n; r++) {
            double v = 0.5 * BE[k * n + r];

            for (int i = 0; i < n; i++)
                v += 2.0 * A[i * n + r] * Ein[k * n + i];
            /* a sum of six O(1) products */
            assert_true(fabs(P[k * n + r] - v) < 1e-13);
        }
    free(A);
    free(Ein);
    free(BE);
}

static void test_absolute_threshold_is_the_same_everywhere(void **state)
{
    double q[6] = { 3, -2, 0.5, 1, -4, 0 }, tau[2], work[9];
    EngThreshold t = { .keep = 0, .tau = 0.75 };

    (void)state;
    eng_threshold(q, 3, 2, &t, tau, work);
    assert_true(tau[0] == 0.75 && tau[1] == 0.75);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_keeps_exactly_k_nonzeros),
        cmocka_unit_test(test_topk_tau_is_the_sorted_value_with_ties),
        cmocka_unit_test(test_soft_threshold_shrinks_by_tau),
        cmocka_unit_test(test_csnt_without_correction_is_the_snt),
        cmocka_unit_test(test_csnt_subtracts_error_and_flow),
        cmocka_unit_test(test_propagation_flow_matches_naive_loops),
        cmocka_unit_test(test_absolute_threshold_is_the_same_everywhere),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
