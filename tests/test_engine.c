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
#include "rng.h"

static double *randn(int len, unsigned stream)
{
    double *x = malloc((size_t)len * sizeof(double));
    Rng r;

    rng_init(&r, 7, stream);
    rng_normal(&r, x, len);
    return x;
}

static void test_topk_keeps_exactly_k_nonzeros(void **state)
{
    const int n = 50, K = 7;
    double *Q = randn(n * K, 1), *U = malloc(n * K * sizeof(double));
    double tau[7], work[50];

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

static void test_soft_threshold_shrinks_by_tau(void **state)
{
    double q[4] = { 3.0, -2.5, 0.5, -1.0 }, tau[1] = { 1.0 }, u[4];

    (void)state;
    eng_soft(q, tau, 4, 1, u);
    assert_true(u[0] == 2.0 && u[1] == -1.5 && u[2] == 0.0 && u[3] == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_keeps_exactly_k_nonzeros),
        cmocka_unit_test(test_soft_threshold_shrinks_by_tau),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
