/*
 * test_mixed.c - the mixed-precision products against the double ones:
 * equal in double mode, and within float rounding in mixed mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mixed.h"
#include "harness.h"
#include "rng.h"

/* the tests' random inputs: run seed 3, one stream per input */
#define randn(len, stream) harness_randn((len), 3, (stream))

#define M 7
#define NN 5
#define KK 300

/* largest |x - y| relative to the largest |y| */
static double rel_diff(const double *x, const double *y, int len)
{
    double d = 0.0, m = 0.0;

    for (int i = 0; i < len; i++) {
        d = fmax(d, fabs(x[i] - y[i]));
        m = fmax(m, fabs(y[i]));
    }
    return d / m;
}

static void test_double_mode_is_dgemm_exactly(void **state)
{
    double *A = randn(M * KK, 1), *B = randn(KK * NN, 2);
    double C1[M * NN], C2[M * NN];

    (void)state;
    mixed_set(0);
    mixed_gemm(CblasNoTrans, CblasNoTrans, M, NN, KK, 1.5, A, M, B, KK, 0.0,
               C1, M);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, M, NN, KK, 1.5,
                A, M, B, KK, 0.0, C2, M);
    assert_memory_equal(C1, C2, sizeof(C1));
    free(A);
    free(B);
}

static void test_mixed_gemm_within_float_rounding(void **state)
{
    double *A = randn(KK * M, 3), *B = randn(NN * KK, 4);
    double *C1 = randn(M * NN, 5), C2[M * NN];

    (void)state;
    memcpy(C2, C1, sizeof(C2));
    mixed_set(1);
    mixed_gemm(CblasTrans, CblasTrans, M, NN, KK, 0.5, A, KK, B, NN, 2.0,
               C1, M);
    mixed_set(0);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasTrans, M, NN, KK, 0.5, A, KK,
                B, NN, 2.0, C2, M);
    /* float rounding of the operands (6e-8 each) grows like sqrt(K) in a
     * sum of K = 300 random terms: about 1e-6 of the largest entry; 1e-4
     * still rejects a double product by a wrong operand, and 1e-12 shows
     * that the product really ran in float */
    assert_true(rel_diff(C1, C2, M * NN) < 1e-4);
    assert_true(rel_diff(C1, C2, M * NN) > 1e-12);
    free(A);
    free(B);
    free(C1);
}

static void test_mixed_syrk_and_syr2k_within_float_rounding(void **state)
{
    double *A = randn(NN * KK, 6), *B = randn(NN * KK, 7);
    double S1[NN * NN] = { 0 }, S2[NN * NN] = { 0 };
    double T1[NN * NN] = { 0 }, T2[NN * NN] = { 0 };

    (void)state;
    mixed_set(1);
    mixed_syrk(NN, KK, 1.0, A, NN, 0.0, S1, NN);
    mixed_syr2k(NN, KK, 0.5, A, NN, B, NN, 0.0, T1, NN);
    mixed_set(0);
    mixed_syrk(NN, KK, 1.0, A, NN, 0.0, S2, NN);
    mixed_syr2k(NN, KK, 0.5, A, NN, B, NN, 0.0, T2, NN);
    /* as above: sums of 300 products rounded to float */
    assert_true(rel_diff(S1, S2, NN * NN) < 1e-4);
    assert_true(rel_diff(T1, T2, NN * NN) < 1e-4);
    mixed_free();
    free(A);
    free(B);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_mode_is_dgemm_exactly),
        cmocka_unit_test(test_mixed_gemm_within_float_rounding),
        cmocka_unit_test(test_mixed_syrk_and_syr2k_within_float_rounding),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
