/*
 * eval.c - features for, and a linear SVM from, liblinear (see eval.h).
 *
 * All samples live in one growing pool of liblinear feature nodes; a row
 * is an offset into the pool, because the pool moves when it grows. The
 * row pointers liblinear wants are built only for the length of a train
 * or predict call. Each stored row is: its nonzero values (1-based
 * indices), then the bias node, then the index -1 terminator.
 *
 * Bias: every row carries a constant feature of value EVAL_BIAS at index
 * dim + 1 (liblinear's "-B 1"). Without it the separating hyperplanes must
 * pass through the origin, which hurts a linear SVM on features that are
 * not centred, such as non-negative sparse codes.
 *
 * This module deliberately does not choose C, cross-validate or talk to
 * MPI; the caller gathers features on one rank.
 */
#include "eval.h"
#include "errmsg.h"

#include <limits.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linear.h>

#define EVAL_BIAS 1.0

struct EvalFeatures {
    int dim;
    int count;                  /* rows stored */
    int row_cap;
    size_t *start;              /* row i begins at pool[start[i]] */
    double *y;                  /* label of each row */
    struct feature_node *pool;
    size_t used, cap;           /* nodes in pool, nodes allocated */
};

struct EvalModel {
    struct model *model;        /* owns its weights; keeps no problem */
    int dim;
};

/* liblinear prints progress through this; we want silence. */
static void eval_quiet(const char *s)
{
    (void)s;
}

EvalFeatures *eval_features_new(int dim)
{
    EvalFeatures *f;

    if (dim < 1 || dim == INT_MAX)
        return NULL;
    f = calloc(1, sizeof *f);
    if (f != NULL)
        f->dim = dim;
    return f;
}

/* Room for `nodes` more feature nodes in the pool. */
static int eval_reserve_nodes(EvalFeatures *f, size_t nodes)
{
    size_t cap = f->cap > 0 ? f->cap : 1024;
    struct feature_node *p;

    if (nodes > SIZE_MAX / sizeof *p - f->used)
        return -1;
    if (f->used + nodes <= f->cap)
        return 0;
    while (cap < f->used + nodes)
        cap = cap > SIZE_MAX / sizeof *p / 2 ? f->used + nodes : cap * 2;
    p = realloc(f->pool, cap * sizeof *p);
    if (p == NULL)
        return -1;
    f->pool = p;
    f->cap = cap;
    return 0;
}

/* Room for `rows` more rows: their offsets and labels. */
static int eval_reserve_rows(EvalFeatures *f, int rows)
{
    int cap = f->row_cap > 0 ? f->row_cap : 64;
    size_t *st;
    double *y;

    if (f->count > INT_MAX - rows)
        return -1;
    if (f->count + rows <= f->row_cap)
        return 0;
    while (cap < f->count + rows)
        cap = cap > INT_MAX / 2 ? f->count + rows : cap * 2;
    st = realloc(f->start, (size_t)cap * sizeof *st);
    if (st != NULL)
        f->start = st;
    y = realloc(f->y, (size_t)cap * sizeof *y);
    if (y != NULL)
        f->y = y;
    if (st == NULL || y == NULL)
        return -1;
    f->row_cap = cap;
    return 0;
}

/* Nodes needed for `count` dense columns: nonzeros plus two per row. */
static size_t eval_nodes_needed(const double *u, int dim, int count)
{
    size_t n = (size_t)dim * count;
    size_t need = 2 * (size_t)count;

    for (size_t k = 0; k < n; k++)
        need += u[k] != 0.0;
    return need;
}

/* Append one dense column as a sparse row; room is already reserved. */
static void eval_push_row(EvalFeatures *f, const double *col, int label)
{
    struct feature_node *node = f->pool + f->used;
    int dim = f->dim;

    f->start[f->count] = f->used;
    f->y[f->count] = label;
    for (int i = 0; i < dim; i++) {
        if (col[i] != 0.0) {
            node->index = i + 1;
            node->value = col[i];
            node++;
        }
    }
    node->index = dim + 1;
    node->value = EVAL_BIAS;
    node++;
    node->index = -1;
    node->value = 0.0;
    node++;
    f->used = (size_t)(node - f->pool);
    f->count++;
}

/* Returns 0, or -1 on bad arguments or no memory (f is then unchanged). */
int eval_features_append(EvalFeatures *f, const double *u, int count,
                         const int *labels)
{
    size_t need;

    if (f == NULL || count < 0 || (count > 0 && (u == NULL
                                                 || labels == NULL)))
        return -1;
    if (count == 0)
        return 0;
    need = eval_nodes_needed(u, f->dim, count);
    if (eval_reserve_rows(f, count) < 0 || eval_reserve_nodes(f, need) < 0)
        return -1;
    for (int s = 0; s < count; s++)
        eval_push_row(f, u + (size_t)s * f->dim, labels[s]);
    return 0;
}

int eval_features_count(const EvalFeatures *f)
{
    return f != NULL ? f->count : 0;
}

/* Stored nonzero feature values (bias nodes and terminators excluded):
 * what the sparse storage costs, and a check that zeros were dropped. */
size_t eval_features_nonzeros(const EvalFeatures *f)
{
    if (f == NULL)
        return 0;
    return f->used - 2 * (size_t)f->count;
}

/* Computed from the stored values on demand, so it stays right after
 * eval_features_scale; 0 for an empty set. */
double eval_features_rms(const EvalFeatures *f)
{
    double sum = 0.0;

    if (f == NULL || f->count == 0)
        return 0.0;
    for (size_t k = 0; k < f->used; k++) {
        const struct feature_node *node = f->pool + k;

        if (node->index >= 1 && node->index <= f->dim)
            sum += node->value * node->value;
    }
    return sqrt(sum / ((double)f->dim * f->count));
}

/* The bias nodes keep their value: only features are scaled. */
void eval_features_scale(EvalFeatures *f, double s)
{
    if (f == NULL)
        return;
    for (size_t k = 0; k < f->used; k++) {
        struct feature_node *node = f->pool + k;

        if (node->index >= 1 && node->index <= f->dim)
            node->value *= s;
    }
}

void eval_features_free(EvalFeatures *f)
{
    if (f == NULL)
        return;
    free(f->pool);
    free(f->start);
    free(f->y);
    free(f);
}

/* Row pointers into the pool as it is now; NULL on no memory. The caller
 * frees the array and must not grow f while it is in use. */
static struct feature_node **eval_row_pointers(const EvalFeatures *f)
{
    struct feature_node **x = malloc((size_t)f->count * sizeof *x);

    if (x == NULL)
        return NULL;
    for (int i = 0; i < f->count; i++)
        x[i] = f->pool + f->start[i];
    return x;
}

/* liblinear's parameters for the L2-loss SVM, primal or dual. */
static void eval_parameter(struct parameter *param, double C, double eps,
                           int primal)
{
    memset(param, 0, sizeof *param);
    param->solver_type = primal ? L2R_L2LOSS_SVC : L2R_L2LOSS_SVC_DUAL;
    param->C = C;
    param->eps = eps;
    param->nr_weight = 0;
    param->weight_label = NULL;
    param->weight = NULL;
    param->p = 0.1;             /* used by regression solvers only */
    param->init_sol = NULL;
}

/* The training call proper, on a problem over f's rows. */
static struct model *eval_train_problem(const EvalFeatures *f,
                                        struct feature_node **x, double C,
                                        double eps, int primal,
                                        unsigned seed, char *err,
                                        size_t errlen)
{
    struct problem prob;
    struct parameter param;
    struct model *model;
    const char *msg;

    prob.l = f->count;
    prob.n = f->dim + 1;        /* the bias feature is index dim + 1 */
    prob.y = f->y;
    prob.x = x;
    prob.bias = EVAL_BIAS;
    eval_parameter(&param, C, eps, primal);
    msg = check_parameter(&prob, &param);
    if (msg != NULL) {
        err_set(err, errlen, "liblinear: bad parameter (C=%g, eps=%g): "
                 "%s", C, eps, msg);
        return NULL;
    }
    set_print_string_function(eval_quiet);
    srand(seed);
    model = train(&prob, &param);
    if (model == NULL)
        err_set(err, errlen, "liblinear: training failed (no memory?)");
    return model;
}

EvalModel *eval_svm_train(const EvalFeatures *f, double C, double eps,
                          int primal, unsigned seed, char *err,
                          size_t errlen)
{
    struct feature_node **x;
    EvalModel *m;

    if (f == NULL || f->count == 0) {
        err_set(err, errlen, "liblinear: no training samples");
        return NULL;
    }
    m = calloc(1, sizeof *m);
    x = eval_row_pointers(f);
    if (m == NULL || x == NULL) {
        err_set(err, errlen, "liblinear: out of memory for %d rows",
                 f->count);
        free(m);
        free(x);
        return NULL;
    }
    /* train() copies what it keeps (w, labels) into the model; x and y
     * are not referenced after it returns. */
    m->model = eval_train_problem(f, x, C, eps, primal, seed, err,
                                  errlen);
    m->dim = f->dim;
    free(x);
    if (m->model == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

/* -1 when f is empty or its dim differs from the training features'. */
double eval_svm_accuracy(const EvalModel *m, const EvalFeatures *f)
{
    int right = 0;

    if (m == NULL || f == NULL || f->count == 0 || f->dim != m->dim)
        return -1.0;
    for (int i = 0; i < f->count; i++) {
        double guess = predict(m->model, f->pool + f->start[i]);

        right += guess == f->y[i];
    }
    return (double)right / f->count;
}

/* Labels are stored as doubles; predict() returns one of the training
 * labels, so both compare exactly as integers. */
int eval_svm_confusion(const EvalModel *m, const EvalFeatures *f,
                       int classes, long *conf)
{
    if (m == NULL || f == NULL || f->dim != m->dim || classes < 1)
        return -1;
    memset(conf, 0, sizeof *conf * (size_t)classes * (size_t)classes);
    for (int i = 0; i < f->count; i++) {
        int truth = (int)f->y[i];
        int guess = (int)predict(m->model, f->pool + f->start[i]);

        if (truth < 0 || truth >= classes || guess < 0 || guess >= classes)
            return -1;
        conf[(size_t)truth * classes + guess]++;
    }
    return 0;
}

/* liblinear's save_model reports only -1; errno tells why. */
int eval_svm_save(const EvalModel *m, const char *path, char *err,
                  size_t errlen)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 5);
    int rc = 0;

    if (m == NULL || tmp == NULL) {
        free(tmp);
        return err_set(err, errlen, "%s: no model or no memory", path);
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    errno = 0;
    if (save_model(tmp, m->model) != 0) {
        rc = err_set(err, errlen, "%s: cannot write the SVM model: %s; "
                     "choose another place with --out", tmp,
                     errno ? strerror(errno) : "liblinear error");
        remove(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = err_set(err, errlen, "%s: cannot rename %s into place: %s",
                     path, tmp, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return rc;
}

void eval_svm_free(EvalModel *m)
{
    if (m == NULL)
        return;
    free_and_destroy_model(&m->model);
    free(m);
}
