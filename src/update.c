/*
 * update.c - the closed-form weight updates of one node (see update.h).
 *
 * Shapes: n units per node, K samples per batch, column-major storage.
 * Large products go to OpenBLAS, factorisations to LAPACKE.
 *
 * Both forward candidates write A = B diag(1/s) V^T with
 * Gamma + l2 I = V diag(s^2) V^T, which turns the data and l2 terms of J
 * into 1/2 ||B||^2 - tr(B diag(1/s) V^T C), and differ in the B they try:
 * R takes the SVD of diag(1/s) V^T C (exact when l3 = 0), K takes
 * B = O diag(d) with O from the SVD of V^T C (exact in its l3 term).
 */
#include "update.h"
#include "mixed.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct UpdateWork {
    double *H;          /* Gamma + l2 I, then its eigenvectors V */
    double *h;          /* eigenvalues, then their square roots s */
    double *hraw;       /* the eigenvalues h before the clamp */
    double *M0;         /* V^T C, kept for both candidates */
    double *M;          /* a copy of M0 the SVD destroys */
    double *Qm;         /* R: left singular vectors Q, then diag(1/s) Q */
    double *RT;         /* R: right singular vectors, transposed */
    double *sig;        /* R: singular values */
    double *d;          /* R: solutions of the scalar equations */
    double *Pk, *ZTk;   /* K: singular vectors P and Z^T of V^T C */
    double *sigk, *dk;  /* K: singular values, scalar solutions */
    double *ck;         /* K: the coefficients s_i c_i */
    double *Z;          /* scratch of the candidate products */
    double *Ahat;       /* update_forward: the minimiser */
    double *Gamma;      /* update_forward: Gamma; update_backward: G */
    double *C;          /* update_forward: C; update_backward: B_hat^T */
    int *piv;           /* LU pivots for log |det A| */
    double trace;       /* tr(Gamma) of the prepared node */
    int prepared;       /* H, hraw and trace hold update_prepare's result */
    double t[UPDATE_PHASES];    /* seconds per phase (update_work_times) */
    double mark;        /* when the phase being timed began */
};

/* The phase clock: clock_start marks the start of a timed stretch, and
 * each tick charges the seconds since the last mark to one phase. A few
 * dozen clock reads per update against its 1-2 s at full size. */
static double clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void clock_start(UpdateWork *w)
{
    w->mark = clock_now();
}

static void tick(UpdateWork *w, int phase)
{
    double now = clock_now();

    w->t[phase] += now - w->mark;
    w->mark = now;
}

void update_work_times(UpdateWork *w, double t[UPDATE_PHASES])
{
    memcpy(t, w->t, sizeof(w->t));
    memset(w->t, 0, sizeof(w->t));
}

UpdateWork *update_work_new(int n)
{
    size_t nn = (size_t)n * n;
    UpdateWork *w = calloc(1, sizeof(*w));
    double **mats[] = { &w->H, &w->M0, &w->M, &w->Qm, &w->RT, &w->Pk,
                        &w->ZTk, &w->Z, &w->Ahat, &w->Gamma, &w->C };
    double **vecs[] = { &w->h, &w->hraw, &w->sig, &w->d, &w->sigk, &w->dk,
                        &w->ck };
    int ok = 1;

    if (!w)
        return NULL;
    ok &= (w->piv = malloc((size_t)n * sizeof(int))) != NULL;
    for (size_t i = 0; i < sizeof(mats) / sizeof(mats[0]); i++)
        ok &= (*mats[i] = malloc(nn * sizeof(double))) != NULL;
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
        ok &= (*vecs[i] = malloc((size_t)n * sizeof(double))) != NULL;
    if (!ok) {
        update_work_free(w);
        return NULL;
    }
    return w;
}

void update_work_free(UpdateWork *w)
{
    if (!w)
        return;
    double *all[] = { w->H, w->M0, w->M, w->Qm, w->RT, w->Pk, w->ZTk, w->Z,
                      w->Ahat, w->Gamma, w->C, w->h, w->hraw, w->sig, w->d,
                      w->sigk, w->dk, w->ck };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]);
    free(w->piv);
    free(w);
}

/* copy the lower triangle of the n x n matrix S into its upper triangle */
static void symmetrise_lower(double *S, int n)
{
    for (int c = 0; c < n; c++)
        for (int r = c + 1; r < n; r++)
            S[(size_t)r * n + c] = S[(size_t)c * n + r];
}

/* Gamma = s (Uin Uin^T + (lb/2)(Uin Ein^T + Ein Uin^T)), whole */
static void gram_gamma(const double *Uin, const double *Ein, int n, int K,
                       const UpdateParams *p, double *Gamma)
{
    double s = p->mean ? 1.0 / K : 1.0;

    mixed_syrk(n, K, s, Uin, n, 0.0, Gamma, n);
    if (Ein && p->lb != 0.0)
        mixed_syr2k(n, K, s * p->lb / 2.0, Uin, n, Ein, n, 1.0, Gamma, n);
    symmetrise_lower(Gamma, n);
}

/* C = s Uin W^T */
static void gram_cross(const double *Uin, const double *W, int n, int K,
                       const UpdateParams *p, double *C)
{
    double s = p->mean ? 1.0 / K : 1.0;

    mixed_gemm(CblasNoTrans, CblasTrans, n, n, K, s, Uin, n, W, n, 0.0, C, n);
}

void update_gram(const double *Uin, const double *Ein, const double *W, int n,
              int K, const UpdateParams *p, double *Gamma, double *C)
{
    gram_gamma(Uin, Ein, n, K, p, Gamma);
    gram_cross(Uin, W, n, K, p, C);
}

/* ---- the scalar problem ---------------------------------------------- */

/* phi(x) = x^2/2 - c x + (l3/2)(a x^2 - 1)^2 - 2 l4 log x, and its phi'
 * and phi'' */
static double scalar_phi(double x, double c, double a, double l3,
                         double l4)
{
    double q = a * x * x - 1.0;

    return 0.5 * x * x - c * x + 0.5 * l3 * q * q - 2.0 * l4 * log(x);
}

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

/* A root of phi' where it turns from - to + (a local minimum), by
 * safeguarded Newton on a doubling bracket. Needs phi' < 0 near 0: l4 > 0,
 * or l4 = 0 and c > 0. */
static double newton_bracket(double c, double a, double l3, double l4)
{
    double lo = 0.0, hi = 1.0, x;

    while (scalar_grad(hi, c, a, l3, l4) < 0.0 && hi < 1e300)
        hi *= 2.0;
    x = 0.5 * hi;
    for (int it = 0; it < 200; it++) {
        double g = scalar_grad(x, c, a, l3, l4);
        double nx;

        if (g < 0.0)
            lo = x;
        else
            hi = x;
        nx = x - g / scalar_curv(x, a, l3, l4);
        if (!(nx > lo && nx < hi))
            nx = 0.5 * (lo + hi);
        if (fabs(nx - x) <= 1e-15 * nx || hi - lo <= 1e-15 * hi)
            return nx;
        x = nx;
    }
    return x;
}

/* p(x) = x phi'(x) = p4 x^4 + p2 x^2 + p1 x + p0 and p'(x); k[] holds
 * { p0, p1, p2, 0, p4 } */
static double quartic(const double *k, double x)
{
    return (((k[4] * x + k[3]) * x + k[2]) * x + k[1]) * x + k[0];
}

static double quartic_d(const double *k, double x)
{
    return ((4.0 * k[4] * x + 3.0 * k[3]) * x + 2.0 * k[2]) * x + k[1];
}

/* the real roots of k[2] x^2 + k[1] x + k[0] into r[]; returns their
 * count */
static int quadratic_roots(const double *k, double *r)
{
    double disc = k[1] * k[1] - 4.0 * k[2] * k[0], q;

    if (k[2] == 0.0 && k[1] == 0.0)
        return 0;
    if (k[2] == 0.0) {
        r[0] = -k[0] / k[1];
        return 1;
    }
    if (disc < 0.0)
        return 0;
    q = -0.5 * (k[1] + copysign(sqrt(disc), k[1]));
    r[0] = q / k[2];
    if (q == 0.0)
        return 1;
    r[1] = k[0] / q;
    return 2;
}

/* the real parts of the quartic's roots, eigenvalues of its (balanced)
 * companion matrix, into r[]; returns their count, 0 if LAPACK fails */
static int quartic_roots(const double *k, double *r)
{
    double F[16] = { 0 }, wi[4];

    for (int j = 0; j < 4; j++)
        F[4 * j] = -k[3 - j] / k[4];
    for (int i = 1; i < 4; i++)
        F[4 * (i - 1) + i] = 1.0;
    if (LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', 4, F, 4, r, wi, NULL, 1,
                      NULL, 1) != 0)
        return 0;
    return 4;
}

/* two Newton steps on the quartic, each kept only if it lowers |p| */
static double polish(const double *k, double x)
{
    for (int it = 0; it < 2; it++) {
        double dp = quartic_d(k, x), nx;

        if (dp == 0.0)
            break;
        nx = x - quartic(k, x) / dp;
        if (!(nx > 0.0 && fabs(quartic(k, nx)) <= fabs(quartic(k, x))))
            break;
        x = nx;
    }
    return x;
}

/* c < 0 (or l4 = 0 and c = 0): up to three positive stationary points;
 * compare phi at each, and at 0+ when l4 = 0 (phi(0+) = l3/2) */
static double scalar_min_global(double c, double a, double l3, double l4)
{
    const double k[5] = { -2.0 * l4, -c, 1.0 - 2.0 * l3 * a, 0.0,
                          2.0 * l3 * a * a };
    double r[5], best_x = 0.0;
    double best_f = l4 > 0.0 ? INFINITY : 0.5 * l3;
    int m;

    /* the candidates: the roots, and a sure local minimum when l4 > 0 */
    m = k[4] != 0.0 ? quartic_roots(k, r) : quadratic_roots(k, r);
    if (l4 > 0.0)
        r[m++] = newton_bracket(c, a, l3, l4);

    /* the positive one with the smallest phi */
    for (int i = 0; i < m; i++) {
        double x = r[i] > 0.0 ? polish(k, r[i]) : 0.0, f;

        if (!(x > 0.0))
            continue;
        f = scalar_phi(x, c, a, l3, l4);
        if (f < best_f) {
            best_f = f;
            best_x = x;
        }
    }
    return best_x;
}

/* x phi'(x) = 2 l3 a^2 x^4 + (1 - 2 l3 a) x^2 - c x - 2 l4. By Descartes'
 * rule it has one positive root when c > 0, or c = 0 and l4 > 0: that
 * root is the minimum, found by Newton. For c < 0 it may have three (two
 * local minima) and all are compared. */
double update_scalar_min(double c, double a, double l3, double l4)
{
    if (c > 0.0 || (c == 0.0 && l4 > 0.0))
        return newton_bracket(c, a, l3, l4);
    return scalar_min_global(c, a, l3, l4);
}

/* ---- the forward candidates ------------------------------------------ */

/* H = Gamma + l2 I = V diag(h) V^T: V into w->H, h into w->hraw */
static int eig_gamma(const double *Gamma, int n, double l2, UpdateWork *w)
{
    memcpy(w->H, Gamma, (size_t)n * n * sizeof(double));
    for (int i = 0; i < n; i++)
        w->H[(size_t)i * n + i] += l2;
    return LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', n, w->H, n, w->hraw);
}

/* h += shift (the proximal step's mu: Gamma + (l2 + mu) I has the same
 * eigenvectors), then s = sqrt(max(h, 1e-10 max h)) into w->h. The clamp
 * matters only when the lb term makes Gamma indefinite; the objective
 * reads the unclamped h in w->hraw. */
static int eig_roots(int n, double shift, UpdateWork *w)
{
    double hmax;

    for (int i = 0; shift != 0.0 && i < n; i++)
        w->hraw[i] += shift;
    hmax = w->hraw[n - 1];
    if (!(hmax > 0.0))
        return -1000;
    for (int i = 0; i < n; i++)
        w->h[i] = sqrt(w->hraw[i] > 1e-10 * hmax ? w->hraw[i]
                                                 : 1e-10 * hmax);
    return 0;
}

/* the full SVD of w->M (destroyed): M = L diag(sig) RT */
static int svd_m(int n, UpdateWork *w, double *L, double *sig, double *RT)
{
    return LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'A', n, n, w->M, n, sig, L, n,
                          RT, n);
}

/* The objective of both candidates in closed form. Each is A = X' V^T
 * with V^T H V = diag(h), so 1/2 tr(A Gamma A^T) + (l2/2)||A||^2 =
 * 1/2 tr(X' diag(h) X'^T), and the singular values of A are those of X'.
 * The callers pass the O(n) pieces; see candidate_r and candidate_k. */
static double j_closed(double quad, double lin, double coher, double logabs,
                       const UpdateParams *p)
{
    double j = 0.5 * quad - lin + 0.5 * p->l3 * coher;

    /* -l4 log det(A^T A) = -2 l4 log |det A| */
    if (p->l4 != 0.0)
        j -= 2.0 * p->l4 * logabs;
    return j;
}

/* sum over i of log s_i */
static double sum_log(const double *s, int n)
{
    double t = 0.0;

    for (int i = 0; i < n; i++)
        t += log(s[i]);
    return t;
}

/* R-candidate: diag(1/s) M0 = Q diag(sig) R^T, kappa_i = sum_r
 * Q[r,i]^2 / s_r^2, d_i the scalar minimum, A_R = R diag(d) Q^T
 * diag(1/s) V^T (formed by form_r). Its J, without forming A_R:
 * with Qs = diag(1/s) Q and X = Qs diag(d), A_R^T A_R = V X X^T V^T, so
 *   tr(A H A^T) = sum_i d_i^2 sum_r Q[r,i]^2 h_r / s_r^2,
 *   tr(A C) = tr(diag(d) Q^T diag(1/s) M0 R) = sum_i d_i sig_i,
 *   ||A A^T - I||^2 = ||X^T X - I||^2, X^T X = diag(d) Qs^T Qs diag(d),
 *   log |det A| = sum log d_i - sum log s_i.
 * One SYRK (Qs^T Qs, into w->M) instead of a product, a SYRK and an LU. */
static int candidate_r(int n, const UpdateParams *p, UpdateWork *w,
                       double *J)
{
    const double *s = w->h, *hr = w->hraw;
    double quad = 0.0, lin = 0.0, coher = 0.0, logd = 0.0;
    int info;

    /* SVD of diag(1/s) V^T C */
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++)
            w->M[(size_t)c * n + r] = w->M0[(size_t)c * n + r] / s[r];
    tick(w, UPDATE_T_CAND);
    info = svd_m(n, w, w->Qm, w->sig, w->RT);
    tick(w, UPDATE_T_SVD);
    if (info != 0)
        return info;

    /* Qs = diag(1/s) Q in place, kappa_i = ||Qs[:, i]||^2, d_i */
    for (int i = 0; i < n; i++) {
        double *q = w->Qm + (size_t)i * n, kappa = 0.0, t = 0.0;

        for (int r = 0; r < n; r++) {
            t += q[r] * q[r] * hr[r] / (s[r] * s[r]);
            q[r] /= s[r];
            kappa += q[r] * q[r];
        }
        w->d[i] = update_scalar_min(w->sig[i], kappa, p->l3, p->l4);
        quad += w->d[i] * w->d[i] * t;
        lin += w->d[i] * w->sig[i];
        logd += log(w->d[i]);
    }
    tick(w, UPDATE_T_SCALAR);

    /* ||diag(d) Qs^T Qs diag(d) - I||^2 from the lower triangle */
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, n, n, 1.0, w->Qm, n,
                0.0, w->M, n);
    for (int c = 0; c < n; c++)
        for (int r = c; r < n; r++) {
            double v = w->d[r] * w->d[c] * w->M[(size_t)c * n + r]
                       - (r == c ? 1.0 : 0.0);

            coher += v * v * (r == c ? 1.0 : 2.0);
        }
    *J = j_closed(quad, lin, coher, logd - sum_log(s, n), p);
    tick(w, UPDATE_T_CAND);
    return 0;
}

/* A_R = (diag(d) R^T)^T Qs^T V^T into out (w->Qm holds Qs) */
static void form_r(int n, UpdateWork *w, double *out)
{
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++)
            w->RT[(size_t)c * n + r] *= w->d[r];
    cblas_dgemm(CblasColMajor, CblasTrans, CblasTrans, n, n, n, 1.0, w->RT,
                n, w->Qm, n, 0.0, w->Z, n);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, w->Z,
                n, w->H, n, 0.0, out, n);
}

/* K-candidate (Kostadinov et al. 2018, diagonal taken exactly): M0 =
 * P S' Z^T, O = Z P^T, c_i = (M0 O)_ii / s_i, d_i the scalar minimum with
 * a = 1/s_i^2, A_K = O diag(d / s) V^T (formed by form_k). With
 * B = O diag(d) every term of J separates over i exactly; O maximises
 * tr(O M0). Since M0 O = P S' P^T, c_i = sum_j P[i,j]^2 S'_j / s_i, and
 *   tr(A H A^T) = sum_i d_i^2 h_i / s_i^2,  tr(A C) = sum_i d_i c_i,
 *   ||A A^T - I||^2 = sum_i (d_i^2 / s_i^2 - 1)^2,
 *   log |det A| = sum_i log(d_i / s_i):
 * J costs O(n^2), and no n x n product is needed unless K wins. */
static int candidate_k(int n, const UpdateParams *p, UpdateWork *w,
                       double *J)
{
    const double *s = w->h, *hr = w->hraw;
    double quad = 0.0, lin = 0.0, coher = 0.0, logd = 0.0;
    int info;

    memcpy(w->M, w->M0, (size_t)n * n * sizeof(double));
    tick(w, UPDATE_T_CAND);
    info = svd_m(n, w, w->Pk, w->sigk, w->ZTk);
    tick(w, UPDATE_T_SVD);
    if (info != 0)
        return info;

    /* c_i from the rows of P: accumulate column by column */
    memset(w->ck, 0, (size_t)n * sizeof(double));
    for (int j = 0; j < n; j++) {
        const double *pj = w->Pk + (size_t)j * n;

        for (int i = 0; i < n; i++)
            w->ck[i] += pj[i] * pj[i] * w->sigk[j];
    }
    for (int i = 0; i < n; i++) {
        double ci = w->ck[i] / s[i], a = 1.0 / (s[i] * s[i]), di;

        di = update_scalar_min(ci, a, p->l3, p->l4);
        w->dk[i] = di;
        quad += di * di * hr[i] * a;
        lin += di * ci;
        coher += (di * di * a - 1.0) * (di * di * a - 1.0);
        logd += log(di / s[i]);
    }
    *J = j_closed(quad, lin, coher, logd, p);
    tick(w, UPDATE_T_SCALAR);
    return 0;
}

/* A_K = O diag(d/s) V^T with O = Z P^T into out */
static void form_k(int n, UpdateWork *w, double *out)
{
    double *O = w->Z;

    cblas_dgemm(CblasColMajor, CblasTrans, CblasTrans, n, n, n, 1.0, w->ZTk,
                n, w->Pk, n, 0.0, O, n);
    for (int i = 0; i < n; i++)
        cblas_dscal(n, w->dk[i] / w->h[i], O + (size_t)i * n, 1);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, O, n,
                w->H, n, 0.0, out, n);
}

/* the candidates p->solver asks for, from one eigendecomposition; only
 * the one kept is formed, in Ahat. best keeps the smaller J, ties and
 * NANs going to R. */
static int solve_candidates(const double *C, int n, const UpdateParams *p,
                            UpdateWork *w, double *Ahat, UpdateReport *r)
{
    int info = 0;

    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, w->H,
                n, C, n, 0.0, w->M0, n);
    tick(w, UPDATE_T_CAND);
    if (p->solver != UPDATE_SOLVER_K)
        info = candidate_r(n, p, w, &r->J_R);
    if (info == 0 && p->solver != UPDATE_SOLVER_R)
        info = candidate_k(n, p, w, &r->J_K);
    if (info != 0)
        return info;
    r->chose = p->solver == UPDATE_SOLVER_BEST
               ? (r->J_K < r->J_R || (isnan(r->J_R) && !isnan(r->J_K))
                  ? UPDATE_SOLVER_K : UPDATE_SOLVER_R)
               : p->solver;
    if (r->chose == UPDATE_SOLVER_K)
        form_k(n, w, Ahat);
    else
        form_r(n, w, Ahat);
    r->J = r->chose == UPDATE_SOLVER_K ? r->J_K : r->J_R;
    tick(w, UPDATE_T_CAND);
    return 0;
}

/* the minimiser of J for the eigendecomposition in w (of Gamma + l2 I,
 * its eigenvalues shifted by `shift`) and the cross matrix C */
static int solve_prepared(const double *C, int n, const UpdateParams *p,
                          double shift, UpdateWork *w, double *Ahat,
                          UpdateReport *rep, int *lapack_info)
{
    UpdateReport r = { NAN, NAN, NAN, UPDATE_SOLVER_BEST };
    int info = eig_roots(n, shift, w);

    if (info == 0)
        info = solve_candidates(C, n, p, w, Ahat, &r);
    *lapack_info = info;
    if (info != 0)
        r = (UpdateReport){ NAN, NAN, NAN, UPDATE_SOLVER_BEST };
    if (rep)
        *rep = r;
    return info != 0 ? -1 : 0;
}

int update_solve_forward(const double *Gamma, const double *C, int n,
                      const UpdateParams *p, UpdateWork *w, double *Ahat,
                      UpdateReport *rep, int *lapack_info)
{
    int info;

    clock_start(w);
    info = eig_gamma(Gamma, n, p->l2, w);
    tick(w, UPDATE_T_EIG);
    w->prepared = 0;
    return info != 0 ? (*lapack_info = info, -1)
                     : solve_prepared(C, n, p, 0.0, w, Ahat, rep,
                                      lapack_info);
}

/* ---- the on-line steps ----------------------------------------------- */

/* damped: A <- (1 - rho) A + rho A_hat (the paper's step) */
static int step_damped(double *A, int n, const UpdateParams *p,
                       UpdateWork *w, UpdateReport *rep, int *lapack_info)
{
    size_t nn = (size_t)n * n;

    if (solve_prepared(w->C, n, p, 0.0, w, w->Ahat, rep, lapack_info) != 0)
        return -1;
    clock_start(w);
    cblas_dscal((int)nn, 1.0 - p->rho, A, 1);
    cblas_daxpy((int)nn, p->rho, w->Ahat, 1, A, 1);
    tick(w, UPDATE_T_CAND);
    return 0;
}

/* Proximal: A <- argmin J(A) + (mu/2)||A - A_t||^2. Expanding,
 * (mu/2)||A - A_t||^2 = (mu/2)||A||^2 - tr(A mu A_t^T) + const, so this is
 * J with l2 -> l2 + mu and C -> C + mu A_t^T, solved by the same closed
 * form (Gamma + (l2 + mu) I has the eigenvectors of Gamma + l2 I, its
 * eigenvalues shifted by mu). mu: for a scalar J = h a^2/2 - c a
 * (minimiser c/h) the proximal point is (c + mu a_t)/(h + mu); with
 * mu = h (1 - rho)/rho this is rho c/h + (1 - rho) a_t, the damped step.
 * For matrices h is the mean eigenvalue of Gamma + l2 I, h_mean =
 * tr(Gamma)/n + l2 (clamped at 0). rho = 1 gives mu = 0, the plain
 * minimiser; rho <= 0 leaves A as is. */
static int step_proximal(double *A, int n, const UpdateParams *p,
                         UpdateWork *w, UpdateReport *rep, int *lapack_info)
{
    UpdateParams q = *p;
    double hmean = w->trace / n + p->l2, mu;

    clock_start(w);
    if (!(p->rho > 0.0)) {
        if (rep)
            *rep = (UpdateReport){ NAN, NAN, NAN, UPDATE_SOLVER_BEST };
        *lapack_info = 0;
        return 0;
    }
    mu = p->rho < 1.0 ? fmax(hmean, 0.0) * (1.0 - p->rho) / p->rho : 0.0;

    /* C + mu A_t^T, and l2 + mu */
    if (mu > 0.0)
        for (int c = 0; c < n; c++)
            for (int r = 0; r < n; r++)
                w->C[(size_t)c * n + r] += mu * A[(size_t)r * n + c];
    q.l2 += mu;
    tick(w, UPDATE_T_CAND);
    if (solve_prepared(w->C, n, &q, mu, w, w->Ahat, rep, lapack_info) != 0)
        return -1;
    clock_start(w);
    memcpy(A, w->Ahat, (size_t)n * n * sizeof(double));
    tick(w, UPDATE_T_CAND);
    return 0;
}

int update_prepare(const double *Uin, const double *Ein, int n, int K,
                   const UpdateParams *p, UpdateWork *w, int *lapack_info)
{
    int info;

    clock_start(w);
    gram_gamma(Uin, p->fit_y ? NULL : Ein, n, K, p, w->Gamma);
    w->trace = 0.0;
    for (int i = 0; i < n; i++)
        w->trace += w->Gamma[(size_t)i * n + i];
    tick(w, UPDATE_T_GRAM);
    info = eig_gamma(w->Gamma, n, p->l2, w);
    tick(w, UPDATE_T_EIG);
    *lapack_info = info;
    w->prepared = info == 0;
    return info != 0 ? -1 : 0;
}

int update_forward(double *A, const double *Uin, const double *Ein,
                       double *Y, const double *E, const double *BE,
                       int n, int K, const UpdateParams *p,
                       UpdateWork *w, UpdateReport *rep, int *lapack_info)
{
    size_t len = (size_t)n * K;

    if (!w->prepared && update_prepare(Uin, Ein, n, K, p, w,
                                       lapack_info) != 0) {
        if (rep)
            *rep = (UpdateReport){ NAN, NAN, NAN, UPDATE_SOLVER_BEST };
        return -1;
    }
    w->prepared = 0;

    /* W = Y - E - lf BE: the target of A Uin in eq. (17), in place of Y */
    clock_start(w);
    if (E && !p->fit_y)
        cblas_daxpy((int)len, -1.0, E, 1, Y, 1);
    if (BE && p->lf != 0.0 && !p->fit_y)
        cblas_daxpy((int)len, -p->lf, BE, 1, Y, 1);
    gram_cross(Uin, Y, n, K, p, w->C);
    tick(w, UPDATE_T_GRAM);
    if (p->step == UPDATE_STEP_PROXIMAL)
        return step_proximal(A, n, p, w, rep, lapack_info);
    return step_damped(A, n, p, w, rep, lapack_info);
}

/* ---- the untied backward update -------------------------------------- */

/* the normal equations of f, transposed: G = s Unext Unext^T + l5 I
 * (lower) and Rt = s Unext Y^T + l5 Anext - s lf Enext (Y - Q)^T, so that
 * grad f = 0 reads G B^T = Rt */
static void backward_system(const double *Y, const double *Q,
                            const double *Unext, const double *Anext,
                            const double *Enext, int n, int K,
                            const UpdateParams *p, double *G, double *Rt)
{
    double s = p->mean ? 1.0 / K : 1.0;

    mixed_syrk(n, K, s, Unext, n, 0.0, G, n);
    for (int i = 0; i < n; i++)
        G[(size_t)i * n + i] += p->l5;
    for (size_t i = 0; i < (size_t)n * n; i++)
        Rt[i] = p->l5 * Anext[i];
    mixed_gemm(CblasNoTrans, CblasTrans, n, n, K, s, Unext, n, Y, n, 1.0, Rt,
               n);
    if (!Enext || p->lf == 0.0)
        return;
    mixed_gemm(CblasNoTrans, CblasTrans, n, n, K, -s * p->lf, Enext, n, Y, n,
               1.0, Rt, n);
    mixed_gemm(CblasNoTrans, CblasTrans, n, n, K, s * p->lf, Enext, n, Q, n,
               1.0, Rt, n);
}

/* grad f(B) = s (B Unext - Y) Unext^T + l5 (B - Anext^T) + s lf T Enext^T
 * (d tr(B E T^T)/dB = T E^T), zero at B_hat = Rt^T G^{-1}. The step is
 * damped only: the proximal step is defined for A. */
int update_backward(double *B, const double *Y, const double *Q,
                    const double *Unext, const double *Anext,
                    const double *Enext, int n, int K,
                    const UpdateParams *p, UpdateWork *w, int *lapack_info)
{
    double *G = w->Gamma, *X = w->C;
    int info;

    clock_start(w);
    backward_system(Y, Q, Unext, Anext, Enext, n, K, p, G, X);

    /* X = G^{-1} Rt = B_hat^T, by Cholesky */
    info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, G, n);
    if (info == 0)
        info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', n, n, G, n, X, n);
    *lapack_info = info;
    if (info != 0) {
        tick(w, UPDATE_T_BWD);
        return -1;
    }

    /* B <- (1 - rho) B + rho B_hat */
    for (int c = 0; c < n; c++)
        for (int r = 0; r < n; r++) {
            double *b = B + (size_t)c * n + r;

            *b = (1.0 - p->rho) * *b + p->rho * X[(size_t)r * n + c];
        }
    tick(w, UPDATE_T_BWD);
    return 0;
}

/* ---- the objective --------------------------------------------------- */

/* -2 log |det A| from an LU factorisation in T; NAN when singular */
static double neg2_logdet(const double *A, int n, double *T, int *piv)
{
    double logdet = 0.0;

    memcpy(T, A, (size_t)n * n * sizeof(double));
    if (LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, T, n, piv) != 0)
        return NAN;
    for (int i = 0; i < n; i++)
        logdet += log(fabs(T[(size_t)i * n + i]));
    return -2.0 * logdet;
}

/* ||A A^T - I||_F^2 from one SYRK into T (lower triangle) */
static double coherence(const double *A, int n, double *T)
{
    double sum = 0.0;

    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, n, 1.0, A, n,
                0.0, T, n);
    for (int c = 0; c < n; c++)
        for (int r = c; r < n; r++) {
            double v = T[(size_t)c * n + r] - (r == c ? 1.0 : 0.0);

            sum += v * v * (r == c ? 1.0 : 2.0);
        }
    return sum;
}

int update_constraints(const double *A, int n, UpdateWork *w,
                       double out[3])
{
    out[0] = 0.0;
    for (size_t i = 0; i < (size_t)n * n; i++)
        out[0] += A[i] * A[i];
    out[1] = coherence(A, n, w->Gamma);
    out[2] = -neg2_logdet(A, n, w->Gamma, w->piv);
    return 0;
}

/* J(A) with caller scratch: T (n x n) and piv (n) */
static double objective_in(const double *A, const double *Gamma,
                           const double *C, int n, const UpdateParams *p,
                           double *T, int *piv)
{
    size_t nn = (size_t)n * n;
    double j = 0.0;

    /* 1/2 tr(A Gamma A^T) - tr(A C) + l2/2 ||A||^2 */
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A,
                n, Gamma, n, 0.0, T, n);
    for (size_t i = 0; i < nn; i++)
        j += 0.5 * T[i] * A[i] + 0.5 * p->l2 * A[i] * A[i];
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            j -= A[(size_t)c * n + r] * C[(size_t)r * n + c];

    /* l3/2 ||A A^T - I||^2 */
    j += 0.5 * p->l3 * coherence(A, n, T);

    /* -l4 log det(A^T A) = -2 l4 log |det A| */
    if (p->l4 != 0.0)
        j += p->l4 * neg2_logdet(A, n, T, piv);
    return j;
}

double update_objective(const double *A, const double *Gamma, const double *C,
                     int n, const UpdateParams *p)
{
    double *T = malloc((size_t)n * n * sizeof(double));
    int *piv = malloc((size_t)n * sizeof(int));
    double j = T && piv ? objective_in(A, Gamma, C, n, p, T, piv) : NAN;

    free(T);
    free(piv);
    return j;
}
