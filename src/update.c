/*
 * update.c - the closed-form weight updates of one node (see update.h).
 *
 * Shapes: n units per node, K samples per batch, column-major storage.
 * Large products go to OpenBLAS, factorisations to LAPACKE.
 */
#include "update.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct UpdateWork {
    double *H;          /* Gamma + l2 I, then its eigenvectors V */
    double *h;          /* eigenvalues, then their square roots s */
    double *M;          /* V^T C, then diag(1/s) V^T C, destroyed by SVD */
    double *Qm;         /* left singular vectors Q */
    double *RT;         /* right singular vectors, transposed: R^T */
    double *sig;        /* singular values */
    double *d;          /* solutions of the scalar equations */
    double *Z;          /* R diag(d) Q^T diag(1/s) */
    double *Gamma;      /* update_forward only */
    double *C;
};

UpdateWork *update_work_new(int n)
{
    size_t nn = (size_t)n * n;
    UpdateWork *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->H = malloc(nn * sizeof(double));
    w->M = malloc(nn * sizeof(double));
    w->Qm = malloc(nn * sizeof(double));
    w->RT = malloc(nn * sizeof(double));
    w->Z = malloc(nn * sizeof(double));
    w->Gamma = malloc(nn * sizeof(double));
    w->C = malloc(nn * sizeof(double));
    w->h = malloc((size_t)n * sizeof(double));
    w->sig = malloc((size_t)n * sizeof(double));
    w->d = malloc((size_t)n * sizeof(double));
    if (!w->H || !w->M || !w->Qm || !w->RT || !w->Z || !w->Gamma || !w->C
        || !w->h || !w->sig || !w->d) {
        update_work_free(w);
        return NULL;
    }
    return w;
}

void update_work_free(UpdateWork *w)
{
    if (!w)
        return;
    free(w->H);
    free(w->M);
    free(w->Qm);
    free(w->RT);
    free(w->Z);
    free(w->Gamma);
    free(w->C);
    free(w->h);
    free(w->sig);
    free(w->d);
    free(w);
}

/* copy the lower triangle of the n x n matrix S into its upper triangle */
static void symmetrise_lower(double *S, int n)
{
    for (int c = 0; c < n; c++)
        for (int r = c + 1; r < n; r++)
            S[(size_t)r * n + c] = S[(size_t)c * n + r];
}

void update_gram(const double *Uin, const double *Ein, const double *W, int n,
              int K, const UpdateParams *p, double *Gamma, double *C)
{
    double s = p->mean ? 1.0 / K : 1.0;

    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, K, s, Uin, n,
                0.0, Gamma, n);
    if (Ein && p->lb != 0.0)
        cblas_dsyr2k(CblasColMajor, CblasLower, CblasNoTrans, n, K,
                     s * p->lb / 2.0, Uin, n, Ein, n, 1.0, Gamma, n);
    symmetrise_lower(Gamma, n);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, K, s, Uin, n,
                W, n, 0.0, C, n);
}

/* phi'(x) and phi''(x) of phi(x) = x^2/2 - c x + (l3/2)(a x^2 - 1)^2
 * - 2 l4 log x */
static double scalar_grad(double x, double c, double a, double l3,
                          double l4)
{
    return x - c + 2.0 * l3 * a * x * (a * x * x - 1.0) - 2.0 * l4 / x;
}

static double scalar_curv(double x, double a, double l3, double l4)
{
    return 1.0 + 2.0 * l3 * a * (3.0 * a * x * x - 1.0)
           + 2.0 * l4 / (x * x);
}

double update_scalar_min(double c, double a, double l3, double l4)
{
    double lo = 0.0, hi = 1.0, x;

    /* without the barrier and the linear pull, x -> 0 or the quartic's
     * own minimum: the cubic's positive root in closed form */
    if (l4 <= 0.0 && c <= 0.0) {
        double q = 2.0 * l3 * a - 1.0;

        return q > 0.0 ? sqrt(q / (2.0 * l3 * a * a)) : 0.0;
    }

    /* phi' < 0 near 0 and > 0 far out, with one sign change between
     * (Descartes' rule on the quartic 2 l3 a^2 x^4 + (1 - 2 l3 a) x^2
     * - c x - 2 l4): double hi until it brackets the root */
    while (scalar_grad(hi, c, a, l3, l4) < 0.0 && hi < 1e300)
        hi *= 2.0;
    x = 0.5 * hi;
    for (int it = 0; it < 200; it++) {
        double g = scalar_grad(x, c, a, l3, l4);
        double step, nx;

        if (g < 0.0)
            lo = x;
        else
            hi = x;
        step = g / scalar_curv(x, a, l3, l4);
        nx = x - step;
        if (!(nx > lo && nx < hi))
            nx = 0.5 * (lo + hi);
        if (fabs(nx - x) <= 1e-15 * nx || hi - lo <= 1e-15 * hi)
            return nx;
        x = nx;
    }
    return x;
}

/* H = Gamma + l2 I = V diag(h) V^T, then s = sqrt(max(h, 1e-10 max h)).
 * The clamp matters only when the lb term makes Gamma indefinite. */
static int eig_sqrt(const double *Gamma, int n, double l2, UpdateWork *w)
{
    size_t nn = (size_t)n * n;
    double hmax;
    int info;

    memcpy(w->H, Gamma, nn * sizeof(double));
    for (int i = 0; i < n; i++)
        w->H[(size_t)i * n + i] += l2;
    info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', n, w->H, n, w->h);
    if (info != 0)
        return info;
    hmax = w->h[n - 1];
    if (!(hmax > 0.0))
        return -1000;
    for (int i = 0; i < n; i++)
        w->h[i] = sqrt(w->h[i] > 1e-10 * hmax ? w->h[i] : 1e-10 * hmax);
    return 0;
}

int update_solve_forward(const double *Gamma, const double *C, int n,
                      const UpdateParams *p, UpdateWork *w, double *Ahat,
                      int *lapack_info)
{
    double *V = w->H, *s = w->h;
    int info = eig_sqrt(Gamma, n, p->l2, w);

    if (info != 0) {
        *lapack_info = info;
        return -1;
    }

    /* P = diag(1/s) V^T C = Q diag(sig) R^T */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, V, n,
                C, n, 0.0, w->M, n);
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++)
            w->M[(size_t)c * n + r] /= s[r];
    info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'A', n, n, w->M, n, w->sig,
                          w->Qm, n, w->RT, n);
    if (info != 0) {
        *lapack_info = info;
        return -1;
    }

    /* scalar problems: kappa_i = sum_r Q[r,i]^2 / s_r^2 (section 4.2) */
    for (int i = 0; i < n; i++) {
        const double *q = w->Qm + (size_t)i * n;
        double kappa = 0.0;

        for (int r = 0; r < n; r++)
            kappa += q[r] * q[r] / (s[r] * s[r]);
        w->d[i] = update_scalar_min(w->sig[i], kappa, p->l3, p->l4);
    }

    /* A_hat = R diag(d) Q^T diag(1/s) V^T = (diag(d) R^T)^T Qs^T V^T with
     * Qs = diag(1/s) Q: scale the rows of R^T by d and of Q by 1/s */
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++) {
            w->RT[(size_t)c * n + r] *= w->d[r];
            w->Qm[(size_t)c * n + r] /= s[r];
        }
    cblas_dgemm(CblasColMajor, CblasTrans, CblasTrans, n, n, n, 1.0, w->RT,
                n, w->Qm, n, 0.0, w->Z, n);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, w->Z,
                n, V, n, 0.0, Ahat, n);
    *lapack_info = 0;
    return 0;
}

int update_forward(double *A, const double *Uin, const double *Ein,
                       double *Y, const double *E, const double *BE,
                       int n, int K, const UpdateParams *p,
                       UpdateWork *w, int *lapack_info)
{
    size_t len = (size_t)n * K, nn = (size_t)n * n;

    /* W = Y - E - lf BE: the target of A Uin in eq. (17), in place of Y */
    if (E)
        cblas_daxpy((int)len, -1.0, E, 1, Y, 1);
    if (BE && p->lf != 0.0)
        cblas_daxpy((int)len, -p->lf, BE, 1, Y, 1);
    update_gram(Uin, Ein, Y, n, K, p, w->Gamma, w->C);

    /* A_hat goes into Gamma's storage: the solve reads Gamma only to copy
     * it into H, before it writes A_hat. Then the on-line step. */
    if (update_solve_forward(w->Gamma, w->C, n, p, w, w->Gamma,
                          lapack_info) != 0)
        return -1;
    cblas_dscal((int)nn, 1.0 - p->rho, A, 1);
    cblas_daxpy((int)nn, p->rho, w->Gamma, 1, A, 1);
    return 0;
}

double update_objective(const double *A, const double *Gamma, const double *C,
                     int n, const UpdateParams *p)
{
    size_t nn = (size_t)n * n;
    double *T = malloc(nn * sizeof(double));
    int *piv = malloc((size_t)n * sizeof(int));
    double j = 0.0, logdet = 0.0;

    if (!T || !piv) {
        free(T);
        free(piv);
        return NAN;
    }

    /* 1/2 tr(A Gamma A^T) - tr(A C) + l2/2 ||A||^2 */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A,
                n, Gamma, n, 0.0, T, n);
    for (size_t i = 0; i < nn; i++)
        j += 0.5 * T[i] * A[i] + 0.5 * p->l2 * A[i] * A[i];
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            j -= A[(size_t)c * n + r] * C[(size_t)r * n + c];

    /* l3/2 ||A A^T - I||^2 */
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, n, 1.0, A, n,
                0.0, T, n);
    for (int c = 0; c < n; c++)
        for (int r = c; r < n; r++) {
            double v = T[(size_t)c * n + r] - (r == c ? 1.0 : 0.0);

            j += 0.5 * p->l3 * v * v * (r == c ? 1.0 : 2.0);
        }

    /* -l4 log det(A^T A) = -2 l4 log |det A|, from an LU factorisation */
    memcpy(T, A, nn * sizeof(double));
    if (LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, T, n, piv) != 0) {
        free(T);
        free(piv);
        return NAN;
    }
    for (int i = 0; i < n; i++)
        logdet += log(fabs(T[(size_t)i * n + i]));
    free(T);
    free(piv);
    return j - 2.0 * p->l4 * logdet;
}

