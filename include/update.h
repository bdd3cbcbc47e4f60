/*
 * update.h - the closed-form weight updates of one node (design note
 * section 4.2-4.3). Serial, deterministic, no MPI, no I/O; failures
 * return -1 with LAPACK's info.
 */
#ifndef NLPC_UPDATE_H
#define NLPC_UPDATE_H

#include <stddef.h>

/* Which closed-form candidate the forward update takes (section 4.2). */
typedef enum {
    UPDATE_SOLVER_BEST = 0,     /* both, keep the smaller J (ties: R) */
    UPDATE_SOLVER_R,            /* R-candidate: SVD of diag(1/s) V^T C */
    UPDATE_SOLVER_K             /* K-candidate: Kostadinov et al. 2018 */
} UpdateSolver;

/* How the forward update moves A towards the minimiser. */
typedef enum {
    UPDATE_STEP_DAMPED = 0,     /* A <- (1 - rho) A + rho A_hat */
    UPDATE_STEP_PROXIMAL        /* A <- argmin J + (mu/2)||A - A_t||^2 */
} UpdateStep;

/* Constants of the forward update (eq. 16) and of the untied backward
 * update (eq. 19), as resolved from the config. Zero-initialised fields
 * give the defaults BEST and DAMPED. */
typedef struct {
    double lb;          /* weight of the backward propagation term */
    double lf;          /* weight of the forward propagation term */
    double l2;          /* Frobenius regulariser */
    double l3;          /* coherence regulariser ||A A^T - I||_F^2 */
    double l4;          /* log-determinant regulariser, >= 0 */
    double l5;          /* backward weight tie ||B - A^T||_F^2 */
    double rho;         /* on-line step size in [0, 1] */
    int mean;           /* 1: data term divided by the batch size K */
    int solver;         /* UpdateSolver */
    int step;           /* UpdateStep (forward update only) */
    int fit_y;          /* 1: fit A Uin to Y alone (no E, BE, lb terms) */
} UpdateParams;

/* What a forward solve did: J of each candidate (NAN when it was not
 * computed) and of the one kept, and which one that was (UPDATE_SOLVER_R
 * or UPDATE_SOLVER_K; UPDATE_SOLVER_BEST when nothing was solved). In
 * the proximal step the values are those of the proximal objective
 * J(A) + (mu/2)||A - A_t||^2 - (mu/2)||A_t||^2. */
typedef struct {
    double J;
    double J_R;
    double J_K;
    int chose;
} UpdateReport;

/* Workspace of the updates for n x n weights (11 n^2 doubles);
 * NULL on no memory. */
typedef struct UpdateWork UpdateWork;

UpdateWork *update_work_new(int n);
void update_work_free(UpdateWork *w);

/* Wall-clock seconds the updates spent in each phase, summed in the
 * workspace over calls until update_work_times reads them. Together the
 * phases cover the whole of update_forward and update_backward. */
enum {
    UPDATE_T_GRAM,      /* W = Y - E - lf BE, Gamma and C (SYRK, GEMM) */
    UPDATE_T_EIG,       /* Gamma + l2 I = V diag(h) V^T (dsyevd) */
    UPDATE_T_SVD,       /* the SVD of each candidate (dgesdd) */
    UPDATE_T_SCALAR,    /* the n scalar problems and their coefficients */
    UPDATE_T_CAND,      /* V^T C, candidate products, J, on-line step */
    UPDATE_T_BWD,       /* the untied backward update, all of it */
    UPDATE_PHASES
};

/* Copy the seconds of each phase since the last call into t and restart
 * the sums at zero. */
void update_work_times(UpdateWork *w, double t[UPDATE_PHASES]);

/* The matrices of eq. (16)-(17), lower triangle and all:
 * Gamma = s (Uin Uin^T + (lb/2)(Uin Ein^T + Ein Uin^T)), C = s Uin W^T,
 * with s = 1/K when p->mean, else 1. Ein may be NULL (zero). */
void update_gram(const double *Uin, const double *Ein, const double *W, int n,
              int K, const UpdateParams *p, double *Gamma, double *C);

/* A_hat, the minimiser of J (see update_objective) for the given Gamma
 * and C (n x n), by the candidate p->solver selects, written to Ahat
 * (n x n, must not overlap Gamma or C). For UPDATE_SOLVER_BEST both
 * candidates share one eigendecomposition and the smaller J wins. rep may
 * be NULL; when it is not, it is filled in. Returns 0, or -1 with the
 * LAPACK info in *lapack_info. */
int update_solve_forward(const double *Gamma, const double *C, int n,
                      const UpdateParams *p, UpdateWork *w, double *Ahat,
                      UpdateReport *rep, int *lapack_info);

/* The part of node l's forward update that needs only Uin = U_{l-1} and
 * Ein = E_{l-1} (NULL when zero; ignored with p->fit_y): Gamma of
 * eq. (17) and the eigendecomposition of Gamma + l2 I, kept in w for the
 * next update_forward with the same w, which then skips it. A node can
 * run it as soon as its input arrives, before the goal is known.
 * update_backward may run in between (it does not touch the kept
 * result). Returns 0, or -1 with the LAPACK info in *lapack_info. */
int update_prepare(const double *Uin, const double *Ein, int n, int K,
                   const UpdateParams *p, UpdateWork *w, int *lapack_info);

/* The forward weight update of node l, eq. (16)-(17) (section 4.2):
 * builds Gamma and C from Uin = U_{l-1}, Ein = E_{l-1}, Y = Y_l, E = E_l
 * and BE = B_l E_{l+1} (NULL blocks are zero), solves for A_hat and
 * applies the on-line step p->step with p->rho to A (n x n) in place. Y
 * (n x K) is overwritten (it becomes W). With p->fit_y the target is Y
 * itself and Gamma has no lb term. Uses update_prepare's result when w
 * holds one (for the same Uin and Ein), else prepares first. rep may be
 * NULL. Returns 0, or -1 when LAPACK fails (info in *lapack_info). */
int update_forward(double *A, const double *Uin, const double *Ein,
                       double *Y, const double *E, const double *BE,
                       int n, int K, const UpdateParams *p,
                       UpdateWork *w, UpdateReport *rep, int *lapack_info);

/* The untied backward update of node l (section 4.3, eq. 19 corrected):
 * B_hat minimises
 *   f(B) = s/2 ||B Unext - Y||^2 + (l5/2)||B - Anext^T||^2
 *          + s lf tr(B Enext T^T),   T = Y - Q,
 * with s = 1/K when p->mean, else 1, and B <- (1 - rho) B + rho B_hat
 * (always damped: p->step applies to A only). B, Anext: n x n; Y, Q,
 * Unext, Enext: n x K; Enext may be NULL (zero). Needs
 * s Unext Unext^T + l5 I positive definite. Returns 0, or -1 with the
 * LAPACK info in *lapack_info. */
int update_backward(double *B, const double *Y, const double *Q,
                    const double *Unext, const double *Anext,
                    const double *Enext, int n, int K,
                    const UpdateParams *p, UpdateWork *w, int *lapack_info);

/* The objective the forward update minimises, for tests and logging:
 * J(A) = 1/2 tr(A Gamma A^T) - tr(A C) + (l2/2)||A||^2
 *        + (l3/2)||A A^T - I||^2 - l4 log det(A^T A),
 * with Gamma and C (n x n) given. Returns NAN on no memory, or when
 * l4 != 0 and A is singular. */
double update_objective(const double *A, const double *Gamma, const double *C,
                     int n, const UpdateParams *p);

/* The global minimiser over x > 0 of
 * phi(x) = 1/2 x^2 - c x + (l3/2)(a x^2 - 1)^2 - 2 l4 log x
 * for any sign of c (a >= 0, l3 >= 0, l4 >= 0). Returns 0 when l4 = 0
 * and the infimum is the limit x -> 0. */
double update_scalar_min(double c, double a, double l3, double l4);

/* The weight constraints of eq. (16) at A (n x n), for logging:
 * out[0] = ||A||_F^2, out[1] = ||A A^T - I||_F^2 and out[2] =
 * log det(A^T A) (NAN when A is singular). Uses w's scratch, so not
 * during an update with the same w. Returns 0. */
int update_constraints(const double *A, int n, UpdateWork *w,
                       double out[3]);

#endif
