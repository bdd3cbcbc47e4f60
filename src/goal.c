/*
 * goal.c - the discrimination goal of one node (see goal.h).
 */
#include "goal.h"

#include <stdlib.h>

/* per-class sums of U^2 for every coordinate: S is n x classes */
static void class_energy(const double *U, int n, int K, const int *label,
                         double *S)
{
    for (int k = 0; k < K; k++) {
        const double *u = U + (size_t)k * n;
        double *s = S + (size_t)label[k] * n;

        for (int j = 0; j < n; j++)
            s[j] += u[j] * u[j];
    }
}

void goal_exact(const double *U, int n, int K, const int *label,
                    int classes, double *G, int *owner)
{
    double *S = calloc((size_t)n * classes, sizeof(*S));
    int *own = owner ? owner : malloc((size_t)n * sizeof(*own));

    class_energy(U, n, K, label, S);

    /* owner(j) = argmax_c S[j, c]; strict > keeps the lowest class on ties */
    for (int j = 0; j < n; j++) {
        int best = 0;

        for (int c = 1; c < classes; c++)
            if (S[(size_t)c * n + j] > S[(size_t)best * n + j])
                best = c;
        own[j] = best;
    }

    for (int k = 0; k < K; k++) {
        const double *u = U + (size_t)k * n;
        double *g = G + (size_t)k * n;

        for (int j = 0; j < n; j++)
            g[j] = own[j] == label[k] ? u[j] : 0.0;
    }
    if (!owner)
        free(own);
    free(S);
}

double goal_discrimination(const double *G, int n, int K,
                               const int *label, int classes)
{
    size_t cells = (size_t)n * classes;
    double *P = calloc(3 * cells, sizeof(*P));
    double *M = P + cells, *S = P + 2 * cells;
    double total = 0.0;

    for (int k = 0; k < K; k++) {
        size_t off = (size_t)label[k] * n;

        for (int j = 0; j < n; j++) {
            double g = G[(size_t)k * n + j];

            P[off + j] += g > 0.0 ? g : 0.0;
            M[off + j] += g < 0.0 ? -g : 0.0;
            S[off + j] += g * g;
        }
    }

    /* ordered pairs c != c', so each unordered pair counts twice */
    for (int c = 0; c < classes; c++)
        for (int e = 0; e < classes; e++) {
            if (c == e)
                continue;
            for (int j = 0; j < n; j++) {
                size_t a = (size_t)c * n + j, b = (size_t)e * n + j;

                total += P[a] * P[b] + M[a] * M[b] + S[a] * S[b];
            }
        }
    free(P);
    return total;
}

double goal_error(const double *U, const double *G, size_t len,
                      double *E)
{
    double sq = 0.0;

    for (size_t i = 0; i < len; i++) {
        E[i] = U[i] - G[i];
        sq += E[i] * E[i];
    }
    return sq;
}

