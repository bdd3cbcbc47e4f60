/*
 * mixed.c - double or mixed-precision large products (see mixed.h).
 */
#include "mixed.h"

#include <stdlib.h>

static int use_single;
static float *scratch;
static size_t scratch_len;

void mixed_set(int single)
{
    use_single = single;
}

int mixed_get(void)
{
    return use_single;
}

/* room for `len` floats; on no memory the caller falls back to double */
static float *room(size_t len)
{
    if (len > scratch_len) {
        float *p = realloc(scratch, len * sizeof(float));

        if (!p)
            return NULL;
        scratch = p;
        scratch_len = len;
    }
    return scratch;
}

/* the rows x cols matrix X (leading dimension ld) as packed floats */
static void narrow(const double *X, int ld, int rows, int cols, float *out)
{
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
            out[(size_t)c * rows + r] = (float)X[(size_t)c * ld + r];
}

static void widen(const float *x, int rows, int cols, double *X, int ld)
{
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
            X[(size_t)c * ld + r] = x[(size_t)c * rows + r];
}

void mixed_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
                double alpha, const double *A, int lda, const double *B,
                int ldb, double beta, double *C, int ldc)
{
    int ar = ta == CblasNoTrans ? m : k, ac = ta == CblasNoTrans ? k : m;
    int br = tb == CblasNoTrans ? k : n, bc = tb == CblasNoTrans ? n : k;
    size_t la = (size_t)ar * ac, lb = (size_t)br * bc, lc = (size_t)m * n;
    float *f = use_single ? room(la + lb + lc) : NULL;

    if (!f) {
        cblas_dgemm(CblasColMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb,
                    beta, C, ldc);
        return;
    }
    narrow(A, lda, ar, ac, f);
    narrow(B, ldb, br, bc, f + la);
    if (beta != 0.0)
        narrow(C, ldc, m, n, f + la + lb);
    cblas_sgemm(CblasColMajor, ta, tb, m, n, k, (float)alpha, f, ar,
                f + la, br, (float)beta, f + la + lb, m);
    widen(f + la + lb, m, n, C, ldc);
}

void mixed_syrk(int n, int k, double alpha, const double *A, int lda,
                double beta, double *C, int ldc)
{
    size_t la = (size_t)n * k, lc = (size_t)n * n;
    float *f = use_single ? room(la + lc) : NULL;

    if (!f) {
        cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, k, alpha, A,
                    lda, beta, C, ldc);
        return;
    }
    narrow(A, lda, n, k, f);
    narrow(C, ldc, n, n, f + la);
    cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, n, k, (float)alpha,
                f, n, (float)beta, f + la, n);
    widen(f + la, n, n, C, ldc);
}

void mixed_syr2k(int n, int k, double alpha, const double *A, int lda,
                 const double *B, int ldb, double beta, double *C, int ldc)
{
    size_t la = (size_t)n * k, lc = (size_t)n * n;
    float *f = use_single ? room(2 * la + lc) : NULL;

    if (!f) {
        cblas_dsyr2k(CblasColMajor, CblasLower, CblasNoTrans, n, k, alpha, A,
                     lda, B, ldb, beta, C, ldc);
        return;
    }
    narrow(A, lda, n, k, f);
    narrow(B, ldb, n, k, f + la);
    narrow(C, ldc, n, n, f + 2 * la);
    cblas_ssyr2k(CblasColMajor, CblasLower, CblasNoTrans, n, k, (float)alpha,
                 f, n, f + la, n, (float)beta, f + 2 * la, n);
    widen(f + 2 * la, n, n, C, ldc);
}

void mixed_free(void)
{
    free(scratch);
    scratch = NULL;
    scratch_len = 0;
}
