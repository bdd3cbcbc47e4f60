/*
 * test_goal.c - the discrimination goal against independent values: a
 * property of the math (D(G) = 0) and a brute-force owner per coordinate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "rng.h"

static double *randn(int len, unsigned stream)
{
    double *x = malloc((size_t)len * sizeof(double));
    Rng r;

    rng_init(&r, 7, stream);
    rng_normal(&r, x, len);
    return x;
}

static void test_exact_goal_has_zero_discrimination(void **state)
{
    const int n = 30, K = 40, classes = 4;
    double *U = randn(n * K, 2), *G = malloc(n * K * sizeof(double));
    int label[40], owner[30];

    (void)state;
    for (int k = 0; k < K; k++)
        label[k] = k % classes;
    goal_exact(U, n, K, label, classes, G, owner);

    /* D(U) > 0 for generic data, D(G) = 0 exactly */
    assert_true(goal_discrimination(U, n, K, label, classes) > 1.0);
    assert_true(goal_discrimination(G, n, K, label, classes) == 0.0);

    /* G keeps U exactly on the owner's samples, and the owner is the
     * class with the most energy (brute force over classes) */
    for (int j = 0; j < n; j++) {
        double best = -1.0;
        int arg = -1;

        for (int c = 0; c < classes; c++) {
            double e = 0.0;

            for (int k = 0; k < K; k++)
                if (label[k] == c)
                    e += U[k * n + j] * U[k * n + j];
            if (e > best) {
                best = e;
                arg = c;
            }
        }
        assert_int_equal(owner[j], arg);
        for (int k = 0; k < K; k++)
            assert_true(G[k * n + j] == (label[k] == arg ? U[k * n + j]
                                                         : 0.0));
    }
    free(U);
    free(G);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_goal_has_zero_discrimination),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
