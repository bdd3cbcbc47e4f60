/*
 * train.c - one iteration of the method over the network (see train.h).
 *
 * Iteration t, for nodes l = 1..L (design note sections 3-6):
 *   forward   Q_l = A_{l-1} U_{l-1}, U_l = soft(Q_l, top-k_l)   node to node
 *   goal      U_lG -> rank 0, G = exact goal, G -> goal node
 *   propagate D_l = soft(A_{l-1} D_{l-1}) for l > lG; E_l = U_l - D_l
 *   halo      E_l -> node l + 1, B_{l-1} E_l = A_{l-1}^T E_l -> node l - 1
 *   update    Y_l = c-sNT, A_{l-1} <- closed form, in parallel
 * Nodes before the goal have E_l = 0 and send no error blocks. A node owned
 * by this process reads a local neighbour's block by copy, a remote one by
 * message; the arithmetic is the same either way, hence the same bits.
 */
#include "train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "goal.h"
#include "update.h"
#include "rng.h"

/* One network node l and the blocks it holds during an iteration. */
typedef struct {
    int l;
    int keep;           /* top-k level of the sNT */
    double *A;          /* A_{l-1}, n x n */
    double *A_prev;     /* A_{l-1} of the previous iteration (async) */
    double *Uin;        /* U_{l-1}; the batch X at node 1 */
    double *Q, *U;      /* Q_l and U_l = soft(Q_l) */
    double *tau;        /* per-column thresholds of U_l, K */
    double *tau_d;      /* per-column thresholds of D_l, K */
    double *D;          /* goal G or propagated goal D_l; then Y_l */
    double *E;          /* E_l = U_l - D_l */
    double *Ein;        /* E_{l-1}, from node l - 1 */
    double *BE;         /* B_l E_{l+1}, from node l + 1 */
    double *BEout;      /* A_{l-1}^T E_l, for node l - 1; also a scratch */
    double *work;       /* n doubles */
    UpdateWork *ew;
} TrainNode;

struct Trainer {
    NlpcConfig cfg;
    const NetTopo *t;
    int L, n, K, lG;
    UpdateParams ep;
    TrainNode *node;    /* node[l - 1]; only local nodes are allocated */
    int *use_stale;     /* per node: forward with A_prev this iteration */
    Rng sched;

    /* rank 0 only: the data and the batch */
    const DataSet *data;
    int *cls_idx[DATA_CLASSES];
    int cls_n[DATA_CLASSES];
    int *batch;         /* K sample indices */
    int *label;         /* K labels */
    Rng batch_rng;
    double *goal_U, *goal_G;    /* goal blocks when lG is remote */
};

static TrainNode *local_node(Trainer *tr, int l)
{
    return net_is_local(tr->t, l) ? &tr->node[l - 1] : NULL;
}

/* node l has a non-zero goal error: at and after the goal node */
static int has_error(const Trainer *tr, int l)
{
    return l >= tr->lG && l <= tr->L;
}

static int needs_ein(const Trainer *tr, int l)
{
    return l >= 2 && has_error(tr, l - 1) && tr->ep.lb != 0.0;
}

static int needs_be(const Trainer *tr, int l)
{
    return l < tr->L && has_error(tr, l + 1) && tr->ep.lf != 0.0;
}

static double *block(size_t len, int *ok)
{
    double *p = calloc(len, sizeof(double));

    if (!p)
        *ok = 0;
    return p;
}

/* the initial A_{l-1}: N(0,1), or N(0,1)/sqrt(n), from the node's own
 * stream so that any rank count draws the same weights */
static void node_init_weights(Trainer *tr, TrainNode *nd)
{
    size_t nn = (size_t)tr->n * tr->n;
    Rng r;

    rng_init(&r, tr->cfg.seed, RNG_STREAM_WEIGHT + (unsigned)(nd->l - 1));
    rng_normal(&r, nd->A, (int)nn);
    if (tr->cfg.init == CFG_INIT_SCALED)
        cblas_dscal((int)nn, 1.0 / sqrt((double)tr->n), nd->A, 1);
    memcpy(nd->A_prev, nd->A, nn * sizeof(double));
}

static int node_alloc(Trainer *tr, TrainNode *nd, int l)
{
    size_t nn = (size_t)tr->n * tr->n, nk = (size_t)tr->n * tr->K;
    int ok = 1;

    nd->l = l;
    nd->keep = eng_topk_level(tr->n, l);
    nd->A = block(nn, &ok);
    nd->A_prev = block(nn, &ok);
    nd->Uin = block(nk, &ok);
    nd->Q = block(nk, &ok);
    nd->U = block(nk, &ok);
    nd->D = block(nk, &ok);
    nd->E = block(nk, &ok);
    nd->Ein = block(nk, &ok);
    nd->BE = block(nk, &ok);
    nd->BEout = block(nk, &ok);
    nd->tau = block((size_t)tr->K, &ok);
    nd->tau_d = block((size_t)tr->K, &ok);
    nd->work = block((size_t)tr->n, &ok);
    nd->ew = update_work_new(tr->n);
    if (!ok || !nd->ew)
        return -1;
    node_init_weights(tr, nd);
    return 0;
}

static void node_free(TrainNode *nd)
{
    double *b[] = { nd->A, nd->A_prev, nd->Uin, nd->Q, nd->U, nd->D, nd->E,
                    nd->Ein, nd->BE, nd->BEout, nd->tau, nd->tau_d,
                    nd->work };

    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
        free(b[i]);
    update_work_free(nd->ew);
}

/* rank 0: index lists per class, for stratified batches */
static int batch_setup(Trainer *tr)
{
    const DataSet *s = tr->data;

    for (int i = 0; i < s->count; i++)
        tr->cls_n[s->y[i]]++;
    for (int c = 0; c < DATA_CLASSES; c++) {
        tr->cls_idx[c] = malloc((size_t)(tr->cls_n[c] + 1) * sizeof(int));
        if (!tr->cls_idx[c])
            return -1;
        tr->cls_n[c] = 0;
    }
    for (int i = 0; i < s->count; i++)
        tr->cls_idx[s->y[i]][tr->cls_n[s->y[i]]++] = i;
    tr->batch = malloc((size_t)tr->K * sizeof(int));
    tr->label = malloc((size_t)tr->K * sizeof(int));
    rng_init(&tr->batch_rng, tr->cfg.seed, RNG_STREAM_BATCH);
    return tr->batch && tr->label ? 0 : -1;
}

static void params_from_config(UpdateParams *ep, const NlpcConfig *c)
{
    ep->lb = c->lb;
    ep->lf = c->lf;
    ep->l2 = c->l2;
    ep->l3 = c->l3;
    ep->l4 = c->l4;
    ep->rho = c->rho;
    ep->mean = c->scale == CFG_SCALE_MEAN;
}

static int trainer_alloc(Trainer *tr, const DataSet *train)
{
    size_t nk = (size_t)tr->n * tr->K;
    int ok = 1;

    tr->node = calloc((size_t)tr->L, sizeof(*tr->node));
    tr->use_stale = calloc((size_t)tr->L, sizeof(int));
    if (!tr->node || !tr->use_stale)
        return -1;
    for (int l = 1; l <= tr->L; l++)
        if (net_is_local(tr->t, l) && node_alloc(tr, &tr->node[l - 1], l))
            return -1;
    if (tr->t->rank != 0)
        return 0;
    tr->data = train;
    if (!net_is_local(tr->t, tr->lG)) {
        tr->goal_U = block(nk, &ok);
        tr->goal_G = block(nk, &ok);
    }
    return ok ? batch_setup(tr) : -1;
}

Trainer *train_new(const NlpcConfig *cfg, const NetTopo *t,
                   const DataSet *train, long n_train, char *err,
                   size_t errlen)
{
    Trainer *tr = calloc(1, sizeof(*tr));
    double k = cfg->batch_fraction * (double)n_train;

    if (!tr) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    tr->cfg = *cfg;
    tr->t = t;
    tr->L = cfg->nodes;
    tr->n = cfg->width;
    tr->lG = cfg->goal_node;
    tr->K = k < 1.0 ? 1 : (int)(k + 0.5);
    params_from_config(&tr->ep, cfg);
    rng_init(&tr->sched, cfg->seed, RNG_STREAM_SCHEDULE);
    if (trainer_alloc(tr, train) != 0) {
        snprintf(err, errlen, "out of memory for %d nodes of width %d "
                 "with batches of %d: lower [train] batch_fraction",
                 tr->L, tr->n, tr->K);
        train_free(tr);
        return NULL;
    }
    return tr;
}

int train_batch_size(const Trainer *tr)
{
    return tr->K;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* how many of each class a batch of K takes: proportional, remainders to
 * the largest fractional parts (ties to the lowest class) */
static void batch_quota(const Trainer *tr, int *take)
{
    double frac[DATA_CLASSES];
    int total = 0;

    for (int c = 0; c < DATA_CLASSES; c++) {
        double want = (double)tr->K * tr->cls_n[c] / tr->data->count;

        take[c] = (int)want;
        frac[c] = want - take[c];
        total += take[c];
    }
    while (total < tr->K) {
        int best = -1;

        for (int c = 0; c < DATA_CLASSES; c++)
            if (take[c] < tr->cls_n[c] && (best < 0 || frac[c] > frac[best]))
                best = c;
        take[best]++;
        frac[best] = -1.0;
        total++;
    }
}

/* rank 0: draw a stratified batch (section 5) into node 1's input block */
static void batch_draw(Trainer *tr, double *X)
{
    int take[DATA_CLASSES], k = 0;

    batch_quota(tr, take);
    for (int c = 0; c < DATA_CLASSES; c++) {
        int *idx = tr->cls_idx[c];

        /* partial Fisher-Yates: the first take[c] become a uniform draw */
        for (int i = 0; i < take[c]; i++) {
            int j = i + (int)rng_below(&tr->batch_rng, tr->cls_n[c] - i);
            int s = idx[i];

            idx[i] = idx[j];
            idx[j] = s;
            tr->batch[k++] = idx[i];
        }
    }
    qsort(tr->batch, (size_t)tr->K, sizeof(int), cmp_int);
    for (int i = 0; i < tr->K; i++) {
        int s = tr->batch[i];

        tr->label[i] = tr->data->y[s];
        memcpy(X + (size_t)i * tr->n, tr->data->x + (size_t)s * tr->n,
               (size_t)tr->n * sizeof(double));
    }
}

enum { BLOCK_U, BLOCK_D };

/* node l - 1's U or D block when that node is local, else NULL */
static const double *left_block(Trainer *tr, int l, int which)
{
    TrainNode *left = local_node(tr, l - 1);

    if (!left)
        return NULL;
    return which == BLOCK_U ? left->U : left->D;
}

/* input block of node l: local copy or message from node l - 1 */
static void fetch_from_left(Trainer *tr, TrainNode *nd, const double *left,
                            int tag, double *dst)
{
    size_t nk = (size_t)tr->n * tr->K;

    if (net_is_local(tr->t, nd->l - 1))
        memcpy(dst, left, nk * sizeof(double));
    else
        net_recv(tr->t, nd->l, nd->l - 1, tag, dst, nk);
}

static void send_right(Trainer *tr, TrainNode *nd, int tag,
                       const double *src)
{
    if (nd->l < tr->L && !net_is_local(tr->t, nd->l + 1))
        net_send(tr->t, nd->l, nd->l + 1, tag, src,
                 (size_t)tr->n * tr->K);
}

static const double *weights_forward(const Trainer *tr, const TrainNode *nd)
{
    return tr->use_stale[nd->l - 1] ? nd->A_prev : nd->A;
}

/* stage one, forward sNT of every local node in order */
static void phase_forward(Trainer *tr)
{
    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (!nd)
            continue;
        if (l == 1)
            batch_draw(tr, nd->Uin);
        else
            fetch_from_left(tr, nd, left_block(tr, l, BLOCK_U), NET_TAG_U,
                            nd->Uin);
        eng_forward(weights_forward(tr, nd), nd->Uin, tr->n, tr->K, nd->keep,
                    nd->Q, nd->tau, nd->U, nd->work);
        send_right(tr, nd, NET_TAG_U, nd->U);
    }
}

/* rank 0's part of the goal: G from U_lG and the batch labels; returns
 * the relative goal error */
static double goal_solve(Trainer *tr, const double *U, double *G)
{
    size_t nk = (size_t)tr->n * tr->K;
    double err = 0.0, norm = 0.0;

    goal_exact(U, tr->n, tr->K, tr->label, DATA_CLASSES, G, NULL);
    for (size_t i = 0; i < nk; i++) {
        err += (U[i] - G[i]) * (U[i] - G[i]);
        norm += U[i] * U[i];
    }
    return norm > 0.0 ? err / norm : 0.0;
}

/* stage one, goal at node lG: U travels to rank 0, G comes back */
static void phase_goal(Trainer *tr, TrainStats *st)
{
    TrainNode *g = local_node(tr, tr->lG);
    size_t nk = (size_t)tr->n * tr->K;

    if (tr->t->rank == 0) {
        if (g) {
            st->goal_error = goal_solve(tr, g->U, g->D);
        } else {
            net_recv(tr->t, 1, tr->lG, NET_TAG_GOAL_U, tr->goal_U, nk);
            st->goal_error = goal_solve(tr, tr->goal_U, tr->goal_G);
            net_send(tr->t, 1, tr->lG, NET_TAG_GOAL_G, tr->goal_G, nk);
        }
    } else if (g) {
        net_send(tr->t, tr->lG, 1, NET_TAG_GOAL_U, g->U, nk);
        net_recv(tr->t, tr->lG, 1, NET_TAG_GOAL_G, g->D, nk);
    }
}

/* stage one after the goal: D_l = soft(A_{l-1} D_{l-1}, own top-k) for
 * l > lG (Theorem 1), and E_l = U_l - D_l for l >= lG */
static void phase_propagate(Trainer *tr)
{
    size_t nk = (size_t)tr->n * tr->K;

    for (int l = tr->lG; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (!nd)
            continue;
        if (l > tr->lG) {
            fetch_from_left(tr, nd, left_block(tr, l, BLOCK_D), NET_TAG_D,
                            nd->BEout);
            eng_forward(weights_forward(tr, nd), nd->BEout, tr->n, tr->K,
                        nd->keep, nd->D, nd->tau_d, nd->D, nd->work);
        }
        send_right(tr, nd, NET_TAG_D, nd->D);
        goal_error(nd->U, nd->D, nk, nd->E);
    }
}

/* the halo exchange of error blocks between neighbours */
static void phase_halo(Trainer *tr)
{
    size_t nk = (size_t)tr->n * tr->K;

    /* B_{l-1} E_l = A_{l-1}^T E_l with the weights of this iteration */
    for (int l = 2; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (nd && needs_be(tr, l - 1))
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, tr->n,
                        tr->K, tr->n, 1.0, nd->A, tr->n, nd->E, tr->n, 0.0,
                        nd->BEout, tr->n);
    }
    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);
        NetHalo h;

        if (!nd)
            continue;
        net_halo_begin(&h, tr->t, l);
        if (needs_ein(tr, l) && local_node(tr, l - 1))
            memcpy(nd->Ein, tr->node[l - 2].E, nk * sizeof(double));
        else if (needs_ein(tr, l))
            net_halo_recv(&h, l - 1, NET_TAG_E, nd->Ein, nk);
        if (needs_be(tr, l) && local_node(tr, l + 1))
            memcpy(nd->BE, tr->node[l].BEout, nk * sizeof(double));
        else if (needs_be(tr, l))
            net_halo_recv(&h, l + 1, NET_TAG_BE, nd->BE, nk);
        if (l < tr->L && needs_ein(tr, l + 1) && !local_node(tr, l + 1))
            net_halo_send(&h, l + 1, NET_TAG_E, nd->E, nk);
        if (l > 1 && needs_be(tr, l - 1) && !local_node(tr, l - 1))
            net_halo_send(&h, l - 1, NET_TAG_BE, nd->BEout, nk);
        net_halo_wait(&h);
    }
}

/* stage two: c-sNT and forward update of every local node drawn +1 */
static void phase_update(Trainer *tr, int it)
{
    size_t nn = (size_t)tr->n * tr->n;

    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);
        const double *E, *Ein, *BE;
        int info = 0;

        if (!nd)
            continue;
        E = has_error(tr, l) ? nd->E : NULL;
        Ein = needs_ein(tr, l) ? nd->Ein : NULL;
        BE = needs_be(tr, l) ? nd->BE : NULL;
        memcpy(nd->A_prev, nd->A, nn * sizeof(double));
        if (tr->use_stale[l - 1])
            continue;
        eng_csnt(nd->Q, nd->tau, E, BE, nd->A, Ein, tr->n, tr->K,
                 tr->ep.lf, tr->ep.lb, nd->D);
        if (update_forward(nd->A, nd->Uin, Ein, nd->D, E, BE, tr->n,
                               tr->K, &tr->ep, nd->ew, &info) != 0)
            net_fatal(tr->t, l, "iteration %d: LAPACK failed in the "
                      "forward update (info %d); lower [train] rho or raise "
                      "l2", it + 1, info);
        if (!eng_all_finite(nd->A, nn))
            net_fatal(tr->t, l, "iteration %d: NaN or Inf in A_%d after "
                      "the forward update; lower [train] rho, raise l2, or "
                      "use [network] init = scaled", it + 1, l - 1);
    }
}

/* async: each node is updated with probability p, else it applies its
 * stale weights; every rank draws the same schedule from the seed */
static int draw_schedule(Trainer *tr)
{
    int updated = 0;
    double u;

    for (int l = 0; l < tr->L; l++) {
        rng_uniform(&tr->sched, &u, 1);
        tr->use_stale[l] = tr->cfg.mode == CFG_MODE_ASYNC
                           && u >= tr->cfg.async_p;
        updated += !tr->use_stale[l];
    }
    return updated;
}

void train_step(Trainer *tr, int it, TrainStats *st)
{
    memset(st, 0, sizeof(*st));
    st->updated = draw_schedule(tr);
    phase_forward(tr);
    phase_goal(tr, st);
    phase_propagate(tr);
    phase_halo(tr);
    phase_update(tr, it);
}

/* push one chunk of m samples (X, n x m, overwritten) through the local
 * nodes; the last node's outputs end in X on its owner, which sends them
 * to rank 0 unless it is rank 0. q, u, tau are scratch for m columns. */
static void features_chunk(Trainer *tr, int m, double *X, double *q,
                           double *u, double *tau)
{
    size_t nm = (size_t)tr->n * m;

    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (!nd)
            continue;
        if (l > 1 && !net_is_local(tr->t, l - 1))
            net_recv(tr->t, l, l - 1, NET_TAG_EVAL, X, nm);
        eng_forward(nd->A, X, tr->n, m, nd->keep, q, tau, u, nd->work);
        memcpy(X, u, nm * sizeof(double));
        if (l < tr->L && !net_is_local(tr->t, l + 1))
            net_send(tr->t, l, l + 1, NET_TAG_EVAL, X, nm);
    }
    if (tr->t->rank != 0 && net_is_local(tr->t, tr->L))
        net_send(tr->t, tr->L, 1, NET_TAG_EVAL, X, nm);
}

static void features_append(Trainer *tr, EvalFeatures *f, const double *u,
                            int m, const int *labels)
{
    if (eval_features_append(f, u, m, labels) != 0)
        net_fatal(tr->t, 1, "out of memory for SVM features");
}

/* Rank 0 keeps two chunks in flight: it posts the receive of chunk c's
 * result before it sends chunk c down the chain, and collects chunk c - 1
 * after, so the nodes work on consecutive chunks at the same time. */
void train_features(Trainer *tr, const DataSet *set, long count,
                    EvalFeatures *f)
{
    long chunk = tr->cfg.eval_chunk < count ? tr->cfg.eval_chunk : count;
    size_t cols = (size_t)(chunk > 0 ? chunk : 1), nm = tr->n * cols;
    int root = tr->t->rank == 0, remote_last = !net_is_local(tr->t, tr->L);
    size_t bytes = nm * sizeof(double);
    double *X = malloc(bytes), *q = malloc(bytes), *u = malloc(bytes);
    double *tau = malloc(cols * sizeof(double));
    double *out[2] = { malloc(bytes), malloc(bytes) };
    NetHalo pend[2];
    long prev = -1;

    if (!X || !q || !u || !tau || !out[0] || !out[1])
        net_fatal(tr->t, tr->t->rank + 1, "out of memory for evaluation "
                  "chunks of %ld samples: lower [eval] eval_chunk", chunk);
    for (long s = 0, c = 0; s < count; s += chunk, c++) {
        int m = (int)(count - s < chunk ? count - s : chunk);

        if (root && remote_last) {
            net_halo_begin(&pend[c % 2], tr->t, 1);
            net_halo_recv(&pend[c % 2], tr->L, NET_TAG_EVAL, out[c % 2],
                          (size_t)tr->n * m);
        }
        if (root)
            memcpy(X, set->x + (size_t)s * tr->n,
                   (size_t)m * tr->n * sizeof(double));
        features_chunk(tr, m, X, q, u, tau);
        if (root && !remote_last)
            features_append(tr, f, X, m, set->y + s);
        if (root && remote_last && prev >= 0) {
            net_halo_wait(&pend[(c - 1) % 2]);
            features_append(tr, f, out[(c - 1) % 2],
                            (int)(s - prev), set->y + prev);
        }
        prev = s;
    }
    if (root && remote_last && prev >= 0) {
        long c = (count - 1) / chunk;

        net_halo_wait(&pend[c % 2]);
        features_append(tr, f, out[c % 2], (int)(count - prev),
                        set->y + prev);
    }
    free(X);
    free(q);
    free(u);
    free(tau);
    free(out[0]);
    free(out[1]);
}

void train_gather_weights(Trainer *tr, double **A)
{
    size_t nn = (size_t)tr->n * tr->n;

    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (tr->t->rank == 0 && nd)
            memcpy(A[l - 1], nd->A, nn * sizeof(double));
        else if (tr->t->rank == 0)
            net_recv(tr->t, 1, l, NET_TAG_WEIGHT, A[l - 1], nn);
        else if (nd)
            net_send(tr->t, l, 1, NET_TAG_WEIGHT, nd->A, nn);
    }
}

void train_free(Trainer *tr)
{
    if (!tr)
        return;
    for (int l = 1; tr->node && l <= tr->L; l++)
        if (net_is_local(tr->t, l))
            node_free(&tr->node[l - 1]);
    for (int c = 0; c < DATA_CLASSES; c++)
        free(tr->cls_idx[c]);
    free(tr->node);
    free(tr->use_stale);
    free(tr->batch);
    free(tr->label);
    free(tr->goal_U);
    free(tr->goal_G);
    free(tr);
}
