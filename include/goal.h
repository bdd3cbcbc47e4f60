/*
 * goal.h - the discrimination goal at the goal node (design note section
 * 3.2-3.3) and the goal errors. Serial, deterministic, no MPI, no I/O.
 */
#ifndef NLPC_GOAL_H
#define NLPC_GOAL_H

#include <stddef.h>

/* The exact discrimination goal, eq. (12) with D(G) = 0 (section 3.2): each
 * coordinate j belongs to owner(j) = argmax_c sum_{k in c} U[j,k]^2 (ties
 * to the lowest class) and G keeps U[j,k] only where label[k] = owner(j).
 * G is n x K; owner (n ints) may be NULL. Labels lie in 0..classes-1. */
void goal_exact(const double *U, int n, int K, const int *label,
                    int classes, double *G, int *owner);

/* The discrimination measure D(G): over ordered pairs of distinct classes
 * c, c' and coordinates j, the sum of P_cj P_c'j + M_cj M_c'j + S_cj S_c'j,
 * where P, M, S are the class sums of max(g, 0), max(-g, 0) and g^2. It is
 * zero exactly when no coordinate is used by two classes. */
double goal_discrimination(const double *G, int n, int K,
                               const int *label, int classes);

/* E = U - G (elementwise, n x K); returns ||E||_F^2. */
double goal_error(const double *U, const double *G, size_t len,
                      double *E);

/* The penalised goal (section 3.2): a G (n x K, column k = sample k) that
 * minimises F(G) = 1/2 ||Q - G||_F^2 + lambda1 ||G||_1 + lambda0 D~(G),
 * where D~ is D of goal_discrimination computed with class MEANS instead
 * of class sums (P~_cj = (1/K_c) sum_{k in c} max(g_jk, 0), M~ and S~
 * likewise; K_c = samples of class c), so lambda0 does not scale with K.
 * Starts from G = soft(Q, lambda1), the solution for lambda0 = 0, then does
 * `sweeps` block-coordinate sweeps over classes 0..classes-1; each block
 * (all columns of one class) is minimised exactly, so F never increases.
 * F is not convex for lambda0 > 0: the result is a block-wise minimum that
 * depends on the start and the class order. As lambda0 -> infinity the
 * result approaches disjoint class supports (D(G) -> 0) like goal_exact,
 * but which class keeps a shared coordinate follows the sweep order (the
 * first blocks yield), not the class energy that goal_exact uses.
 * Labels lie in 0..classes-1; lambda0, lambda1 >= 0; sweeps >= 0 (a
 * negative count does none). objective_per_sweep may be NULL, else it
 * receives sweeps + 1 values of F: before the first sweep and after each.
 * The caller owns Q, label, G and objective_per_sweep; G must not alias Q.
 * Cost O(n K + n classes) per sweep. Returns 0, or -1 when out of memory
 * (then G and objective_per_sweep are untouched). */
int goal_penalised(const double *Q, int n, int K, const int *label,
                   int classes, double lambda0, double lambda1, int sweeps,
                   double *G, double *objective_per_sweep);

/* F(G) of goal_penalised for Q, G (n x K). Classes without samples have
 * zero means. Returns NAN when out of memory. */
double goal_penalised_objective(const double *Q, const double *G, int n,
                                int K, const int *label, int classes,
                                double lambda0, double lambda1);

/* One coordinate of one block step: the exact minimiser over g of
 *   1/2 (q - g)^2 + lambda1 |g|
 *     + (m / Kc) (splus max(g, 0) + sminus max(-g, 0) + s2 g^2),
 * where m = 2 lambda0 and splus, sminus, s2 are the other classes' sums of
 * P~, M~, S~ at this coordinate. With a = m / Kc the minimiser is
 *   (q - lambda1 - a splus) / (1 + 2 a s2)   if q > lambda1 + a splus,
 *   (q + lambda1 + a sminus) / (1 + 2 a s2)  if q < -(lambda1 + a sminus),
 *   0                                        otherwise.
 * Requires lambda1, m, splus, sminus, s2 >= 0 and Kc >= 1. */
double goal_penalised_step(double q, double lambda1, double m, double splus,
                           double sminus, double s2, int Kc);

#endif
