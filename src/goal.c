/*
 * goal.c - the discrimination goal of one node (see goal.h).
 */
#include "goal.h"

#include <math.h>
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


/* Working state of the penalised goal: per-class means of max(g, 0),
 * max(-g, 0) and g^2 (n x classes each), their sums over all classes
 * (n each), and the K samples grouped by class: class c owns
 * idx[start[c] .. start[c + 1] - 1]. */
typedef struct {
    int n, K, classes;
    double *P, *M, *S;
    double *tP, *tM, *tS;
    int *start, *idx;
} Means;

static void means_free(Means *w)
{
    free(w->P);
    free(w->start);
    free(w->idx);
}

/* counting sort of the samples by label into start/idx */
static void group_by_class(int K, const int *label, int classes,
                           int *start, int *idx)
{
    for (int k = 0; k < K; k++)
        start[label[k] + 1]++;
    for (int c = 0; c < classes; c++)
        start[c + 1] += start[c];
    /* filling advances start[c] to the old start[c + 1]; shift it back */
    for (int k = 0; k < K; k++)
        idx[start[label[k]]++] = k;
    for (int c = classes; c > 0; c--)
        start[c] = start[c - 1];
    start[0] = 0;
}

static int means_init(Means *w, int n, int K, const int *label,
                      int classes)
{
    size_t cells = (size_t)n * classes;

    w->n = n;
    w->K = K;
    w->classes = classes;
    /* + 1 so that empty sizes still give a pointer to test */
    w->P = calloc(3 * cells + 3 * (size_t)n + 1, sizeof(*w->P));
    w->start = calloc((size_t)classes + 1, sizeof(*w->start));
    w->idx = malloc(((size_t)K + 1) * sizeof(*w->idx));
    if (!w->P || !w->start || !w->idx) {
        means_free(w);
        return -1;
    }
    w->M = w->P + cells;
    w->S = w->M + cells;
    w->tP = w->S + cells;
    w->tM = w->tP + n;
    w->tS = w->tM + n;
    group_by_class(K, label, classes, w->start, w->idx);
    return 0;
}

/* recompute class c's means from its columns of G */
static void class_means(Means *w, const double *G, int c)
{
    int n = w->n, Kc = w->start[c + 1] - w->start[c];
    size_t off = (size_t)c * n;
    double *p = w->P + off, *m = w->M + off, *s = w->S + off;

    for (int j = 0; j < n; j++)
        p[j] = m[j] = s[j] = 0.0;
    for (int i = w->start[c]; i < w->start[c + 1]; i++) {
        const double *g = G + (size_t)w->idx[i] * n;

        for (int j = 0; j < n; j++) {
            p[j] += g[j] > 0.0 ? g[j] : 0.0;
            m[j] += g[j] < 0.0 ? -g[j] : 0.0;
            s[j] += g[j] * g[j];
        }
    }
    for (int j = 0; j < n && Kc > 0; j++) {
        p[j] /= Kc;
        m[j] /= Kc;
        s[j] /= Kc;
    }
}

/* add sign * class c's means to the sums over classes */
static void add_class(Means *w, int c, double sign)
{
    size_t off = (size_t)c * w->n;

    for (int j = 0; j < w->n; j++) {
        w->tP[j] += sign * w->P[off + j];
        w->tM[j] += sign * w->M[off + j];
        w->tS[j] += sign * w->S[off + j];
    }
}

/* sums over classes from scratch (removes the drift of running updates) */
static void class_totals(Means *w)
{
    for (int j = 0; j < w->n; j++)
        w->tP[j] = w->tM[j] = w->tS[j] = 0.0;
    for (int c = 0; c < w->classes; c++)
        add_class(w, c, 1.0);
}

/* the other classes' share of a total: total - own, never below zero */
static double others(double total, double own)
{
    double d = total - own;

    return d > 0.0 ? d : 0.0;
}

/* D~ from the means: each class times the sum of the other classes */
static double mean_discrimination(const Means *w)
{
    double total = 0.0;

    for (int c = 0; c < w->classes; c++)
        for (int j = 0; j < w->n; j++) {
            size_t a = (size_t)c * w->n + j;

            total += w->P[a] * others(w->tP[j], w->P[a])
                     + w->M[a] * others(w->tM[j], w->M[a])
                     + w->S[a] * others(w->tS[j], w->S[a]);
        }
    return total;
}

/* 1/2 ||Q - G||_F^2 + lambda1 ||G||_1 */
static double fit_term(const double *Q, const double *G, size_t len,
                       double lambda1)
{
    double sq = 0.0, l1 = 0.0;

    for (size_t i = 0; i < len; i++) {
        double e = Q[i] - G[i];

        sq += e * e;
        l1 += fabs(G[i]);
    }
    return 0.5 * sq + lambda1 * l1;
}

/* F(G) from up-to-date means and totals of w */
static double objective_of(const Means *w, const double *Q, const double *G,
                           double lambda0, double lambda1)
{
    return fit_term(Q, G, (size_t)w->n * w->K, lambda1)
           + lambda0 * mean_discrimination(w);
}

double goal_penalised_objective(const double *Q, const double *G, int n,
                                int K, const int *label, int classes,
                                double lambda0, double lambda1)
{
    Means w;
    double F;

    if (means_init(&w, n, K, label, classes))
        return NAN;
    for (int c = 0; c < classes; c++)
        class_means(&w, G, c);
    class_totals(&w);
    F = objective_of(&w, Q, G, lambda0, lambda1);
    means_free(&w);
    return F;
}

double goal_penalised_step(double q, double lambda1, double m, double splus,
                           double sminus, double s2, int Kc)
{
    double a = m / Kc;
    double up = lambda1 + a * splus, down = lambda1 + a * sminus;
    double curv = 1.0 + 2.0 * a * s2;

    if (q > up)
        return (q - up) / curv;
    if (q < -down)
        return (q + down) / curv;
    return 0.0;
}

/* exact minimisation of F over class c's columns, the others held fixed;
 * given the others, F separates over the block's entries */
static void solve_block(Means *w, const double *Q, double *G, int c,
                        double m, double lambda1)
{
    int n = w->n, Kc = w->start[c + 1] - w->start[c];
    size_t off = (size_t)c * n;

    for (int i = w->start[c]; i < w->start[c + 1]; i++) {
        size_t col = (size_t)w->idx[i] * n;

        for (int j = 0; j < n; j++)
            G[col + j] = goal_penalised_step(Q[col + j], lambda1, m,
                                others(w->tP[j], w->P[off + j]),
                                others(w->tM[j], w->M[off + j]),
                                others(w->tS[j], w->S[off + j]), Kc);
    }
    add_class(w, c, -1.0);
    class_means(w, G, c);
    add_class(w, c, 1.0);
}

static void soft_threshold(const double *Q, size_t len, double lambda1,
                           double *G)
{
    for (size_t i = 0; i < len; i++)
        G[i] = Q[i] > lambda1 ? Q[i] - lambda1
             : Q[i] < -lambda1 ? Q[i] + lambda1 : 0.0;
}

int goal_penalised(const double *Q, int n, int K, const int *label,
                   int classes, double lambda0, double lambda1, int sweeps,
                   double *G, double *objective_per_sweep)
{
    double *F = objective_per_sweep;
    Means w;

    if (means_init(&w, n, K, label, classes))
        return -1;
    soft_threshold(Q, (size_t)n * K, lambda1, G);
    for (int c = 0; c < classes; c++)
        class_means(&w, G, c);
    class_totals(&w);
    if (F)
        F[0] = objective_of(&w, Q, G, lambda0, lambda1);
    for (int s = 1; s <= sweeps; s++) {
        for (int c = 0; c < classes; c++)
            solve_block(&w, Q, G, c, 2.0 * lambda0, lambda1);
        class_totals(&w);
        if (F)
            F[s] = objective_of(&w, Q, G, lambda0, lambda1);
    }
    means_free(&w);
    return 0;
}
