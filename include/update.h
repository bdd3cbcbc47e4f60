/*
 * update.h - the closed-form weight updates of one node (design note
 * section 4.2-4.3). Serial, deterministic, no MPI, no I/O; failures
 * return -1 with LAPACK's info.
 */
#ifndef NLPC_UPDATE_H
#define NLPC_UPDATE_H

#include <stddef.h>

/* Constants of the forward update (eq. 16), as resolved from the config. */
typedef struct {
    double lb;          /* weight of the backward propagation term */
    double lf;          /* weight of the forward propagation term */
    double l2;          /* Frobenius regulariser */
    double l3;          /* coherence regulariser ||A A^T - I||_F^2 */
    double l4;          /* log-determinant regulariser */
    double rho;         /* on-line step, A <- (1 - rho) A + rho A_hat */
    int mean;           /* 1: data term divided by the batch size K */
} UpdateParams;

/* Workspace of the forward update for n x n weights (about 9 n^2
 * doubles); NULL on no memory. */
typedef struct UpdateWork UpdateWork;

UpdateWork *update_work_new(int n);
void update_work_free(UpdateWork *w);

/* The matrices of eq. (16)-(17), lower triangle and all:
 * Gamma = s (Uin Uin^T + (lb/2)(Uin Ein^T + Ein Uin^T)), C = s Uin W^T,
 * with s = 1/K when p->mean, else 1. Ein may be NULL (zero). */
void update_gram(const double *Uin, const double *Ein, const double *W, int n,
              int K, const UpdateParams *p, double *Gamma, double *C);

/* A_hat, the R-candidate minimiser of J (see update_objective) for the given
 * Gamma and C, written to Ahat (n x n). Returns 0, or -1 with the LAPACK
 * info in *lapack_info. */
int update_solve_forward(const double *Gamma, const double *C, int n,
                      const UpdateParams *p, UpdateWork *w, double *Ahat,
                      int *lapack_info);

/* The forward weight update of node l, eq. (16)-(17), R-candidate
 * (section 4.2): builds Gamma and C from Uin = U_{l-1}, Ein = E_{l-1},
 * Y = Y_l, E = E_l and BE = B_l E_{l+1} (NULL blocks are zero), solves for
 * A_hat and applies the on-line step to A in place. Y is overwritten (it
 * becomes W). Returns 0, or -1 when LAPACK fails (info in *lapack_info). */
int update_forward(double *A, const double *Uin, const double *Ein,
                       double *Y, const double *E, const double *BE,
                       int n, int K, const UpdateParams *p,
                       UpdateWork *w, int *lapack_info);

/* The objective the update minimises, for tests and logging:
 * J(A) = 1/2 tr(A Gamma A^T) - tr(A C) + (l2/2)||A||^2
 *        + (l3/2)||A A^T - I||^2 - l4 log det(A^T A),
 * with Gamma and C (n x n) given. Returns NAN when A is singular or on no
 * memory. */
double update_objective(const double *A, const double *Gamma, const double *C,
                     int n, const UpdateParams *p);

/* The minimiser over x > 0 of
 * 1/2 x^2 - c x + (l3/2)(a x^2 - 1)^2 - 2 l4 log x, for c >= 0 (the case
 * of the R-candidate), by safeguarded Newton on a doubling bracket. */
double update_scalar_min(double c, double a, double l3, double l4);

#endif
