/*
 * test_update.c - the closed-form weight updates against independent
 * values: naive loops, a gradient from the formula with a LAPACK solve,
 * brute-force minima of the scalar problems.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "update.h"
#include "rng.h"

static double *randn(int len, unsigned stream)
{
    double *x = malloc((size_t)len * sizeof(double));
    Rng r;

    rng_init(&r, 7, stream);
    rng_normal(&r, x, len);
    return x;
}

/* naive column-major product C = op(A) op(B) of n x n matrices */
static void naive_mm(const double *A, int ta, const double *B, int tb,
                     int n, double *C)
{
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            double s = 0.0;

            for (int i = 0; i < n; i++)
                s += (ta ? A[r * n + i] : A[i * n + r])
                     * (tb ? B[i * n + c] : B[c * n + i]);
            C[c * n + r] = s;
        }
}

/* the gradient of J at A, from the formula, with A^{-T} from a LAPACK
 * solve: A Gamma - C^T + l2 A + 2 l3 (A A^T - I) A - 2 l4 A^{-T} */
static void grad_J(const double *A, const double *Gamma, const double *C,
                   int n, const UpdateParams *p, double *g)
{
    size_t nn = (size_t)n * n;
    double *T = malloc(nn * sizeof(double)), *S = malloc(nn * sizeof(double));
    double *inv = calloc(nn, sizeof(double)), *At = malloc(nn * 8);
    int *piv = malloc((size_t)n * sizeof(int));

    naive_mm(A, 0, Gamma, 0, n, g);
    naive_mm(A, 0, A, 1, n, T);
    for (int i = 0; i < n; i++)
        T[i * n + i] -= 1.0;
    naive_mm(T, 0, A, 0, n, S);
    for (int i = 0; i < n; i++)
        inv[i * n + i] = 1.0;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            At[c * n + r] = A[r * n + c];
    LAPACKE_dgesv(LAPACK_COL_MAJOR, n, n, At, n, piv, inv, n);
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            size_t i = (size_t)c * n + r;

            g[i] += -C[(size_t)r * n + c] + p->l2 * A[i]
                    + 2.0 * p->l3 * S[i] - 2.0 * p->l4 * inv[i];
        }
    free(T);
    free(S);
    free(inv);
    free(At);
    free(piv);
}

/* Gamma and C by naive loops, to check update_gram independently */
static void naive_gram(const double *U, const double *E, const double *W,
                       int n, int K, const UpdateParams *p, double *Gamma,
                       double *C)
{
    double s = p->mean ? 1.0 / K : 1.0;

    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            double g = 0.0, x = 0.0;

            for (int k = 0; k < K; k++) {
                double ur = U[k * n + r], uc = U[k * n + c];

                g += ur * uc;
                if (E)
                    g += p->lb / 2 * (ur * E[k * n + c] + E[k * n + r] * uc);
                x += ur * W[k * n + c];
            }
            Gamma[c * n + r] = s * g;
            C[c * n + r] = s * x;
        }
}

static double max_abs(const double *x, size_t len)
{
    double m = 0.0;

    for (size_t i = 0; i < len; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

static void test_gram_matches_naive_loops(void **state)
{
    const int n = 9, K = 25;
    UpdateParams p = { .lb = 0.7, .mean = 1 };
    double *U = randn(n * K, 3), *E = randn(n * K, 4), *W = randn(n * K, 5);
    double G1[81], C1[81], G2[81], C2[81];

    (void)state;
    update_gram(U, E, W, n, K, &p, G1, C1);
    naive_gram(U, E, W, n, K, &p, G2, C2);
    for (int i = 0; i < n * n; i++) {
        /* a few roundings of sums of 25 O(1) products */
        assert_true(fabs(G1[i] - G2[i]) < 1e-12);
        assert_true(fabs(C1[i] - C2[i]) < 1e-12);
    }
    free(U);
    free(E);
    free(W);
}

static void test_forward_update_zero_gradient_without_l3(void **state)
{
    const int n = 8, K = 40;
    UpdateParams p = { .lb = 1, .lf = 1, .l2 = 0.5, .l3 = 0.0, .l4 = 0.3,
                    .rho = 1.0, .mean = 1 };
    double *U = randn(n * K, 6), *W = randn(n * K, 7);
    double Gamma[64], C[64], A[64], g[64];
    UpdateWork *w = update_work_new(n);
    int info;

    (void)state;
    naive_gram(U, NULL, W, n, K, &p, Gamma, C);
    assert_int_equal(update_solve_forward(Gamma, C, n, &p, w, A, &info), 0);
    grad_J(A, Gamma, C, n, &p, g);

    /* the closed form is exact when l3 = 0: only rounding remains, a few
     * hundred ulps of the O(1) terms that cancel in the gradient */
    assert_true(max_abs(g, 64) < 1e-10);
    update_work_free(w);
    free(U);
    free(W);
}

static void test_forward_update_applies_online_step(void **state)
{
    const int n = 6, K = 30;
    UpdateParams p = { .lb = 1, .lf = 1, .l2 = 0.5, .l3 = 0.2, .l4 = 0.3,
                    .rho = 0.25, .mean = 1 };
    double *U = randn(n * K, 8), *Y = randn(n * K, 9), *A = randn(n * n, 10);
    double A0[36], Ahat[36], Gamma[36], C[36];
    UpdateWork *w = update_work_new(n);
    int info;

    (void)state;
    memcpy(A0, A, sizeof(A0));
    naive_gram(U, NULL, Y, n, K, &p, Gamma, C);
    update_solve_forward(Gamma, C, n, &p, w, Ahat, &info);
    assert_int_equal(update_forward(A, U, NULL, Y, NULL, NULL, n, K, &p,
                                        w, &info), 0);
    for (int i = 0; i < n * n; i++)
        assert_true(fabs(A[i] - (0.75 * A0[i] + 0.25 * Ahat[i])) < 1e-12);
    update_work_free(w);
    free(U);
    free(Y);
    free(A);
}

/* phi(x) = x^2/2 - c x + (l3/2)(a x^2 - 1)^2 - 2 l4 log x */
static double phi(double x, double c, double a, double l3, double l4)
{
    double q = a * x * x - 1.0;

    return 0.5 * x * x - c * x + 0.5 * l3 * q * q - 2.0 * l4 * log(x);
}

static void test_scalar_root_is_the_brute_force_minimum(void **state)
{
    const double cs[] = { 0.0, 0.3, 2.0, 40.0 };
    const double as[] = { 0.01, 0.5, 1.0, 3.0 };
    const double l3s[] = { 0.0, 0.1, 2.0 };

    (void)state;
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++)
            for (size_t k = 0; k < 3; k++) {
                double c = cs[i], a = as[j], l3 = l3s[k], l4 = 0.2;
                double x = update_scalar_min(c, a, l3, l4);
                double r = 2 * l3 * a * a * pow(x, 4)
                           + (1 - 2 * l3 * a) * x * x - c * x - 2 * l4;
                double best = INFINITY;

                /* residual of the quartic, relative to its terms */
                assert_true(fabs(r) < 1e-9 * (1 + c * x + 2 * l4));

                /* a grid over (0, 100] never beats it */
                for (double t = 1e-4; t < 100.0; t *= 1.0005)
                    best = fmin(best, phi(t, c, a, l3, l4));
                assert_true(phi(x, c, a, l3, l4) <= best + 1e-12);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gram_matches_naive_loops),
        cmocka_unit_test(test_forward_update_zero_gradient_without_l3),
        cmocka_unit_test(test_forward_update_applies_online_step),
        cmocka_unit_test(test_scalar_root_is_the_brute_force_minimum),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
