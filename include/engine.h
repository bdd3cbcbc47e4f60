/*
 * engine.h - the sparsifying transforms of one node (design note sections
 * 2 and 4.1): the sNT with per-column top-k thresholds and the corrected
 * transform (c-sNT). The goal lives in goal.h, the weight updates in
 * update.h.
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

/* tau[k] = the (keep+1)-th largest |Q[:, k]| of each of the K columns of the
 * n x K block Q (0 when keep >= n). O(n) per column (quickselect); work
 * must hold 3n doubles. */
void eng_topk_tau(const double *Q, int n, int K, int keep, double *tau,
                  double *work);

/* U = soft(Q, tau) column by column, eq. (4): sign(q) max(|q| - tau_k, 0).
 * U may alias Q. */
void eng_soft(const double *Q, const double *tau, int n, int K, double *U);

/* How a node thresholds its columns (design note section 2): keep > 0
 * keeps the keep largest |q| of each column (top-k); keep = 0 subtracts
 * the absolute threshold tau everywhere. */
typedef struct {
    int keep;
    double tau;
} EngThreshold;

/* tau[k] for each of the K columns of Q under the rule t; work holds 3n
 * doubles. */
void eng_threshold(const double *Q, int n, int K, const EngThreshold *t,
                   double *tau, double *work);

/* The sNT of one node: Q = A Uin, tau by the rule t, U = soft(Q).
 * work holds 3n doubles. */
void eng_forward(const double *A, const double *Uin, int n, int K,
                 const EngThreshold *t, double *Q, double *tau, double *U,
                 double *work);

/* The local propagation flow of eq. (10)/(15): P = lf BE + lb A Ein, with
 * BE = B_l E_{l+1} and Ein = E_{l-1} (either NULL when zero) and A the
 * node's own A_{l-1}. Returns 0 and leaves P untouched when both are
 * zero, else 1. */
int eng_propagation(const double *A, const double *Ein, const double *BE,
                    int n, int K, double lf, double lb, double *P);

/* The c-sNT of eq. (5) and (15): Y = soft(Q - nu, tau) with nu = E + P,
 * E = E_l and P from eng_propagation (either NULL when zero). Y is n x K
 * and must not alias the inputs. */
void eng_csnt(const double *Q, const double *tau, const double *E,
              const double *P, int n, int K, double *Y);

/* 1 if all len values are finite. */
int eng_all_finite(const double *x, size_t len);

#endif
