/*
 * mixed.h - the large products of an iteration in double or in single
 * precision ([train] precision = double | mixed).
 *
 * In mixed mode the operands are rounded to float, multiplied by OpenBLAS's
 * SGEMM/SSYRK (twice the rate of DGEMM on AVX-512) and the result widened
 * back to double; every factorisation and every small product stays in
 * double. The float copies live in one scratch area per process that
 * grows on demand, so these functions are not thread-safe. Column-major,
 * BLAS argument conventions.
 */
#ifndef NLPC_MIXED_H
#define NLPC_MIXED_H

#include <cblas.h>

/* Choose the precision of every later call: 0 = double, 1 = mixed. */
void mixed_set(int single);
int mixed_get(void);

/* C = alpha op(A) op(B) + beta C, as cblas_dgemm. */
void mixed_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
                double alpha, const double *A, int lda, const double *B,
                int ldb, double beta, double *C, int ldc);

/* Lower triangle of C = alpha A A^T + beta C (A is n x k), as cblas_dsyrk
 * with CblasLower and CblasNoTrans. */
void mixed_syrk(int n, int k, double alpha, const double *A, int lda,
                double beta, double *C, int ldc);

/* Lower triangle of C = alpha (A B^T + B A^T) + beta C, as cblas_dsyr2k
 * with CblasLower and CblasNoTrans. */
void mixed_syr2k(int n, int k, double alpha, const double *A, int lda,
                 const double *B, int ldb, double beta, double *C, int ldc);

/* Release the scratch area. */
void mixed_free(void);

#endif
