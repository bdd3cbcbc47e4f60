/*
 * test_goal.c - the discrimination goal against independent values: a
 * property of the math (D(G) = 0) and a brute-force owner per coordinate;
 * the penalised goal against F written out from its definition, a
 * brute-force 1-D minimum, and its two limits (lambda0 = 0 and large).
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
#include "harness.h"
#include "rng.h"

/* the tests' random inputs: run seed 7, one stream per input */
#define randn(len, stream) harness_randn((len), 7, (stream))

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

/* ---- penalised goal -------------------------------------------------- */

enum { PN = 12, PK = 30, PC = 3 };

/* interleaved classes of unequal sizes: 5, 10 and 15 samples */
static void penalised_labels(int *label)
{
    for (int k = 0; k < PK; k++)
        label[k] = k % 6 == 0 ? 0 : k % 2 ? 2 : 1;
}

/* mean over class c of max(g,0) (kind 0), max(-g,0) (1) or g^2 (2) at
 * coordinate j, straight from the definition; 0 for an empty class */
static double naive_mean(const double *G, int n, int K, const int *label,
                         int c, int j, int kind)
{
    double sum = 0.0;
    int count = 0;

    for (int k = 0; k < K; k++) {
        double g = G[k * n + j];

        if (label[k] != c)
            continue;
        count++;
        sum += kind == 0 ? fmax(g, 0.0) : kind == 1 ? fmax(-g, 0.0) : g * g;
    }
    return count ? sum / count : 0.0;
}

/* F(G) = 1/2 ||Q - G||^2 + lambda1 ||G||_1 + lambda0 D~(G), written out */
static double naive_F(const double *Q, const double *G, int n, int K,
                      const int *label, int classes, double l0, double l1)
{
    double fit = 0.0, D = 0.0;

    for (int i = 0; i < n * K; i++)
        fit += 0.5 * (Q[i] - G[i]) * (Q[i] - G[i]) + l1 * fabs(G[i]);
    for (int j = 0; j < n; j++)
        for (int c = 0; c < classes; c++)
            for (int e = 0; e < classes; e++)
                for (int kind = 0; kind < 3 && e != c; kind++)
                    D += naive_mean(G, n, K, label, c, j, kind)
                         * naive_mean(G, n, K, label, e, j, kind);
    return fit + l0 * D;
}

static double soft(double q, double l1)
{
    return q > l1 ? q - l1 : q < -l1 ? q + l1 : 0.0;
}

/* F is recomputed by naive_F after 0, 1, ..., 6 sweeps. It must never
 * increase beyond rounding (1e-12 relative: F ~ 1e2 is a sum of ~1e3
 * terms, so its rounding is ~1e-14 relative), the reported values must
 * equal it to the same tolerance, and the first sweep must lower F. */
static void test_penalised_objective_never_increases(void **state)
{
    const double lam[4][2] = { {0.1, 0.1}, {1.0, 0.5}, {10.0, 0.05},
                               {0.5, 0.0} };
    double *Q = randn(PN * PK, 11), G[PN * PK], F[7];
    int label[PK];

    (void)state;
    penalised_labels(label);
    for (int t = 0; t < 4; t++) {
        double l0 = lam[t][0], l1 = lam[t][1], prev = 0.0;

        for (int s = 0; s <= 6; s++) {
            double now;

            assert_int_equal(goal_penalised(Q, PN, PK, label, PC, l0, l1,
                                            s, G, F), 0);
            now = naive_F(Q, G, PN, PK, label, PC, l0, l1);
            assert_true(fabs(F[s] - now) <= 1e-12 * now);
            assert_true(fabs(goal_penalised_objective(Q, G, PN, PK, label,
                                                      PC, l0, l1) - now)
                        <= 1e-12 * now);
            if (s > 0)
                assert_true(now <= prev * (1.0 + 1e-12));
            if (s == 1)
                assert_true(now < prev - 1e-3);
            prev = now;
        }
    }
    free(Q);
}

/* the 1-D function of one block coordinate, from its definition */
typedef struct {
    double q, l1, m, sp, sm, s2;
    int Kc;
} Coord;

static double coord_f(const Coord *p, double g)
{
    return 0.5 * (p->q - g) * (p->q - g) + p->l1 * fabs(g)
           + p->m * (fmax(g, 0.0) / p->Kc * p->sp
                     + fmax(-g, 0.0) / p->Kc * p->sm + g * g / p->Kc * p->s2);
}

/* dense grid over [-|q|-1, |q|+1] (the minimiser has |g| <= |q|), then
 * golden-section search in the best grid cell */
static double golden_min(const Coord *p)
{
    const double R = fabs(p->q) + 1.0, phi = (sqrt(5.0) - 1.0) / 2.0;
    const int N = 4000;
    double best = -R, lo, hi;

    for (int i = 1; i <= N; i++) {
        double x = -R + 2.0 * R * i / N;

        if (coord_f(p, x) < coord_f(p, best))
            best = x;
    }
    lo = best - 2.0 * R / N;
    hi = best + 2.0 * R / N;
    for (int it = 0; it < 200; it++) {
        double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);

        if (coord_f(p, a) < coord_f(p, b))
            hi = b;
        else
            lo = a;
    }
    return 0.5 * (lo + hi);
}

/* one-sided derivative of coord_f at x, from the right (right = 1) or the
 * left (right = 0); the kinked terms switch side at x = 0 */
static double coord_slope(const Coord *p, double x, int right)
{
    double a = p->m / p->Kc;
    int pos = right ? x >= 0.0 : x > 0.0;

    return x - p->q + 2.0 * a * p->s2 * x
           + (pos ? p->l1 + a * p->sp : -(p->l1 + a * p->sm));
}

/* bisection on the subgradient: x is the minimiser iff left slope <= 0
 * <= right slope; resolves x to rounding, unlike a search on values */
static double bisect_min(const Coord *p)
{
    double lo = -(fabs(p->q) + 1.0), hi = fabs(p->q) + 1.0;

    for (int it = 0; it < 300; it++) {
        double mid = 0.5 * (lo + hi);

        if (coord_slope(p, mid, 1) < 0.0)
            lo = mid;
        else if (coord_slope(p, mid, 0) > 0.0)
            hi = mid;
        else
            return mid;
    }
    return 0.5 * (lo + hi);
}

static Coord random_coord(Rng *r)
{
    double u[6];
    Coord p;

    rng_normal(r, &p.q, 1);
    rng_uniform(r, u, 6);
    p.q *= 3.0;
    p.l1 = u[0];
    p.m = 4.0 * u[1];
    p.sp = 2.0 * u[2];
    p.sm = 2.0 * u[3];
    p.s2 = 2.0 * u[4];
    p.Kc = 1 + (int)rng_below(r, 20);
    return p;
}

/* 1000 random coordinates. Against the subgradient bisection: 1e-9
 * relative, plus 1e-14 (1 + |q|) absolute for the rounding of q minus the
 * threshold. Against grid + golden section: golden section compares
 * values, so it fixes x only to ~sqrt(eps) (1e-6 (1 + |q|) allowed), but
 * the closed form's value must be no worse than its value, to the
 * rounding of coord_f (1e-13 relative). All three branches must occur. */
static void test_penalised_step_matches_brute_force(void **state)
{
    int hits[3] = {0, 0, 0};
    Rng r;

    (void)state;
    rng_init(&r, 7, 12);
    for (int t = 0; t < 1000; t++) {
        Coord p = random_coord(&r);
        double g = goal_penalised_step(p.q, p.l1, p.m, p.sp, p.sm, p.s2,
                                       p.Kc);
        double b = bisect_min(&p), gs = golden_min(&p);

        assert_true(fabs(g - b)
                    <= 1e-9 * fabs(b) + 1e-14 * (1.0 + fabs(p.q)));
        assert_true(fabs(g - gs) <= 1e-6 * (1.0 + fabs(p.q)));
        assert_true(coord_f(&p, g)
                    <= coord_f(&p, gs) + 1e-13 * (1.0 + coord_f(&p, gs)));
        hits[g > 0.0 ? 0 : g < 0.0 ? 1 : 2]++;
    }
    for (int i = 0; i < 3; i++)
        assert_true(hits[i] >= 50);
}

/* After a sweep, the last class's block (class 2) was minimised with the
 * others fixed at their final values, so moving any one of its entries by
 * +-d raises F. F is strongly convex with modulus >= 1 in each entry, so
 * the rise is at least d^2 / 2 = 5e-9; allowed rounding: 1e-12 F (~1e-10,
 * see above), leaving a 50x margin. */
static void test_penalised_block_step_is_block_minimum(void **state)
{
    const double d = 1e-4, l0 = 1.0, l1 = 0.1;
    double *Q = randn(PN * PK, 13), G[PN * PK];
    int label[PK];

    (void)state;
    penalised_labels(label);
    for (int s = 1; s <= 2; s++) {
        double F0;

        assert_int_equal(goal_penalised(Q, PN, PK, label, PC, l0, l1, s,
                                        G, NULL), 0);
        F0 = naive_F(Q, G, PN, PK, label, PC, l0, l1);
        for (int i = 0; i < PN * PK; i++) {
            double keep = G[i];

            if (label[i / PN] != PC - 1)
                continue;
            for (int sign = -1; sign <= 1; sign += 2) {
                G[i] = keep + sign * d;
                assert_true(naive_F(Q, G, PN, PK, label, PC, l0, l1) - F0
                            >= 0.5 * d * d - 1e-12 * F0);
            }
            G[i] = keep;
        }
    }
    free(Q);
}

/* lambda0 = 0: every sweep reproduces soft(Q, lambda1) bit for bit */
static void test_penalised_without_lambda0_is_soft_threshold(void **state)
{
    double *Q = randn(PN * PK, 14), G[PN * PK];
    int label[PK];

    (void)state;
    penalised_labels(label);
    for (int s = 0; s <= 3; s++) {
        assert_int_equal(goal_penalised(Q, PN, PK, label, PC, 0.0, 0.3, s,
                                        G, NULL), 0);
        for (int i = 0; i < PN * PK; i++)
            assert_true(G[i] == soft(Q[i], 0.3));
    }
    free(Q);
}

/* lambda0 = 1e6: D(G) (class sums, goal_discrimination) falls below
 * 1e-6 D(Q) while G keeps some energy (not the trivial G = 0) */
static void test_penalised_large_lambda0_separates_classes(void **state)
{
    double *Q = randn(PN * PK, 15), G[PN * PK], energy = 0.0;
    int label[PK];

    (void)state;
    penalised_labels(label);
    assert_int_equal(goal_penalised(Q, PN, PK, label, PC, 1e6, 0.1, 5, G,
                                    NULL), 0);
    for (int i = 0; i < PN * PK; i++)
        energy += G[i] * G[i];
    assert_true(goal_discrimination(Q, PN, PK, label, PC) > 1.0);
    assert_true(goal_discrimination(G, PN, PK, label, PC)
                < 1e-6 * goal_discrimination(Q, PN, PK, label, PC));
    assert_true(energy > 1.0);
    free(Q);
}

/* a declared class with no samples has zero means and changes nothing:
 * the result equals the one without it bit for bit */
static void test_penalised_empty_class_changes_nothing(void **state)
{
    double *Q = randn(PN * PK, 16), G3[PN * PK], G4[PN * PK];
    int label[PK];

    (void)state;
    penalised_labels(label);
    assert_int_equal(goal_penalised(Q, PN, PK, label, PC, 1.0, 0.1, 3, G3,
                                    NULL), 0);
    assert_int_equal(goal_penalised(Q, PN, PK, label, PC + 1, 1.0, 0.1, 3,
                                    G4, NULL), 0);
    assert_memory_equal(G3, G4, sizeof(G3));
    free(Q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_goal_has_zero_discrimination),
        cmocka_unit_test(test_penalised_objective_never_increases),
        cmocka_unit_test(test_penalised_step_matches_brute_force),
        cmocka_unit_test(test_penalised_block_step_is_block_minimum),
        cmocka_unit_test(test_penalised_without_lambda0_is_soft_threshold),
        cmocka_unit_test(test_penalised_large_lambda0_separates_classes),
        cmocka_unit_test(test_penalised_empty_class_changes_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
