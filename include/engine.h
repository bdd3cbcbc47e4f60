/*
 * engine.h - the per-node mathematics of the method (design note sections
 * 2-4): the sparsifying transform (sNT) with per-column top-k thresholds,
 * the exact discrimination goal, the goal errors, the corrected transform
 * (c-sNT) and the closed-form forward weight update.
 *
 * Everything here is serial and deterministic: it knows nothing of MPI,
 * files or the schedule, so the single-process run and the distributed run
 * call exactly the same code and produce the same bits. Matrices are
 * column-major doubles; a "block" is an n x K matrix whose column k belongs
 * to sample k of the batch. Every node has n units and every weight is
 * n x n: the paper's square case, which its experiments use. Nothing here
 * exits; failures return -1.
 */
#ifndef NLPC_ENGINE_H
#define NLPC_ENGINE_H

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
} EngParams;

/* Sparsity level of node l (1-based) in a layer of n units, the design
 * note's reading of lambda_{l,1} = M_l / (2 l): keep floor(n / (2 l)). */
int eng_topk_level(int n, int l);

/* tau[k] = the (keep+1)-th largest |Q[:, k]| of each of the K columns of the
 * n x K block Q (0 when keep >= n). O(n) per column (quickselect); work
 * must hold n doubles. */
void eng_topk_tau(const double *Q, int n, int K, int keep, double *tau,
                  double *work);

/* U = soft(Q, tau) column by column, eq. (4): sign(q) max(|q| - tau_k, 0).
 * U may alias Q. */
void eng_soft(const double *Q, const double *tau, int n, int K, double *U);

/* The sNT of one node: Q = A Uin, tau from top-`keep`, U = soft(Q).
 * work holds n doubles. */
void eng_forward(const double *A, const double *Uin, int n, int K, int keep,
                 double *Q, double *tau, double *U, double *work);

/* The exact discrimination goal, eq. (12) with D(G) = 0 (section 3.2): each
 * coordinate j belongs to owner(j) = argmax_c sum_{k in c} U[j,k]^2 (ties
 * to the lowest class) and G keeps U[j,k] only where label[k] = owner(j).
 * G is n x K; owner (n ints) may be NULL. Labels lie in 0..classes-1. */
void eng_goal_exact(const double *U, int n, int K, const int *label,
                    int classes, double *G, int *owner);

/* The discrimination measure D(G): over ordered pairs of distinct classes
 * c, c' and coordinates j, the sum of P_cj P_c'j + M_cj M_c'j + S_cj S_c'j,
 * where P, M, S are the class sums of max(g, 0), max(-g, 0) and g^2. It is
 * zero exactly when no coordinate is used by two classes. */
double eng_goal_discrimination(const double *G, int n, int K,
                               const int *label, int classes);

/* E = U - G (elementwise, n x K); returns ||E||_F^2. */
double eng_goal_error(const double *U, const double *G, size_t len,
                      double *E);

/* The c-sNT of eq. (5) and (15): Y = soft(Q - nu, tau) with
 * nu = E + lf BE + lb A Ein, where BE = B_l E_{l+1} (NULL when zero),
 * Ein = E_{l-1} (NULL when zero), E = E_l (NULL when zero) and A is the
 * node's own A_{l-1}. Y is n x K and must not alias inputs. */
void eng_csnt(const double *Q, const double *tau, const double *E,
              const double *BE, const double *A, const double *Ein,
              int n, int K, double lf, double lb, double *Y);

/* Workspace of the forward update for n x n weights (about 9 n^2
 * doubles); NULL on no memory. */
typedef struct EngWork EngWork;

EngWork *eng_work_new(int n);
void eng_work_free(EngWork *w);

/* The matrices of eq. (16)-(17), lower triangle and all:
 * Gamma = s (Uin Uin^T + (lb/2)(Uin Ein^T + Ein Uin^T)), C = s Uin W^T,
 * with s = 1/K when p->mean, else 1. Ein may be NULL (zero). */
void eng_gram(const double *Uin, const double *Ein, const double *W, int n,
              int K, const EngParams *p, double *Gamma, double *C);

/* A_hat, the R-candidate minimiser of J (see eng_objective) for the given
 * Gamma and C, written to Ahat (n x n). Returns 0, or -1 with the LAPACK
 * info in *lapack_info. */
int eng_solve_forward(const double *Gamma, const double *C, int n,
                      const EngParams *p, EngWork *w, double *Ahat,
                      int *lapack_info);

/* The forward weight update of node l, eq. (16)-(17), R-candidate
 * (section 4.2): builds Gamma and C from Uin = U_{l-1}, Ein = E_{l-1},
 * Y = Y_l, E = E_l and BE = B_l E_{l+1} (NULL blocks are zero), solves for
 * A_hat and applies the on-line step to A in place. Y is overwritten (it
 * becomes W). Returns 0, or -1 when LAPACK fails (info in *lapack_info). */
int eng_update_forward(double *A, const double *Uin, const double *Ein,
                       double *Y, const double *E, const double *BE,
                       int n, int K, const EngParams *p,
                       EngWork *w, int *lapack_info);

/* The objective the update minimises, for tests and logging:
 * J(A) = 1/2 tr(A Gamma A^T) - tr(A C) + (l2/2)||A||^2
 *        + (l3/2)||A A^T - I||^2 - l4 log det(A^T A),
 * with Gamma and C (n x n) given. Returns NAN when A is singular or on no
 * memory. */
double eng_objective(const double *A, const double *Gamma, const double *C,
                     int n, const EngParams *p);

/* The minimiser over x > 0 of
 * 1/2 x^2 - c x + (l3/2)(a x^2 - 1)^2 - 2 l4 log x, for c >= 0 (the case
 * of the R-candidate), by safeguarded Newton on a doubling bracket. */
double eng_scalar_min(double c, double a, double l3, double l4);

/* 1 if all len values are finite. */
int eng_all_finite(const double *x, size_t len);

#endif
