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

#endif
