/*
 * train.c - one iteration of the method over the network (see train.h).
 *
 * Iteration t, for nodes l = 1..L (design note sections 3-6):
 *   forward   Q_l = A_{l-1} U_{l-1}, U_l = soft(Q_l, tau_l)      node to node,
 *             in column blocks (a pipeline: node l + 1 starts on block b
 *             while node l computes block b + 1)
 *   goal      U_lG -> rank 0, G solved there, G -> goal node; meanwhile
 *             every rank starts the node work that needs no goal
 *   errors    E_lG = U_lG - G; after the goal D_l = soft(A_{l-1} D_{l-1}),
 *             E_l = U_l - D_l; before it 0, U_l or U_l - Y_l^{t-1}
 *   halo      E_l -> node l + 1; tied: A_{l-1}^T E_l -> node l - 1,
 *             untied: E_l, U_l and A_{l-1} -> node l - 1
 *   update    Y_l = c-sNT, B_l and A_{l-1} by closed forms, in parallel
 * A node owned by this process reads a local neighbour's block by copy, a
 * remote one by message; the arithmetic is the same either way, and no
 * result depends on when a piece of work runs, hence the same bits on
 * any rank count.
 */
#include "train.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "engine.h"
#include "goal.h"
#include "mixed.h"
#include "rng.h"
#include "update.h"

/* One network node l and the blocks it holds during an iteration. */
typedef struct {
    int l;
    EngThreshold thr;   /* how the sNT thresholds its columns */
    double *A;          /* A_{l-1}, n x n */
    double *A_prev;     /* A_{l-1} of the previous iteration (async) */
    double *B;          /* B_l, n x n (untied, l < L) */
    double *Uin;        /* U_{l-1}; the batch X at node 1 */
    double *Q, *U;      /* Q_l and U_l = soft(Q_l) */
    double *tau;        /* per-column thresholds of U_l, K */
    double *tau_d;      /* per-column thresholds of D_l, K */
    double *D;          /* goal G or propagated goal D_l; then Y_l */
    double *E;          /* E_l */
    double *Ein;        /* E_{l-1}, from node l - 1 */
    double *BE;         /* B_l E_{l+1}: from node l + 1 (tied) or local */
    double *BEout;      /* A_{l-1}^T E_l for node l - 1; then P_l */
    double *Enext;      /* untied: E_{l+1} */
    double *Unext;      /* untied: U_{l+1} */
    double *Anext;      /* untied: A_l, n x n */
    double *Yprev;      /* nogoal = diffuse: Y_l of the last update */
    int have_yprev;
    double *work;       /* 3n doubles: the threshold's scratch */
    double terms[TRAIN_TERMS];
    int warned_zero;    /* the all-zero output warning was printed */
    int done;           /* updated in this iteration already */
    double te_first;    /* transform error at the first update here */
    UpdateWork *uw;
} TrainNode;

struct Trainer {
    NlpcConfig cfg;
    int fault_node, fault_it;   /* NaN injection for tests, 0 = none */
    const NetTopo *t;
    int L, n, K, lG;
    int mb;             /* column blocks of the forward pipeline */
    int untied;
    UpdateParams up;
    TrainNode *node;    /* node[l - 1]; only local nodes are allocated */
    int *use_stale;     /* per node: forward with A_prev, skip update */
    Rng sched;

    /* rank 0 only */
    Batcher *batcher;
    int batcher_len;    /* training images the sampler draws from */
    int *label;         /* K labels of the batch */
    double *goal_in;    /* goal node's U (or Q) when it is remote */
    double *goal_G;
    NetHalo goal_out;   /* the send of goal_G, completed a phase later */
    MPI_Request *pipe;  /* the forward pipeline's block sends */
};

static void state_move(Trainer *tr, int l, double *root_buf,
                       double *node_buf, size_t count, int to_root);

static const char *const term_names[TRAIN_TERMS] = {
    "te", "sparsity", "goal", "prop", "ge", "frob", "coher", "logdet", "J",
    "cand", "ge_rel", "wait", "busy", "sent_mb", "t_fwd", "t_goal", "t_err",
    "t_halo", "t_csnt", "t_gram", "t_eig", "t_svd", "t_scalar", "t_cand",
    "t_bwd", "t_terms", "t_wait"
};

const char *train_term_name(int i)
{
    return i >= 0 && i < TRAIN_TERMS ? term_names[i] : "?";
}

static TrainNode *local_node(Trainer *tr, int l)
{
    return l >= 1 && l <= tr->L && net_is_local(tr->t, l)
           ? &tr->node[l - 1] : NULL;
}

/* node l has a non-zero goal error (design note section 3.3) */
static int has_error(const Trainer *tr, int l)
{
    if (l < 1 || l > tr->L)
        return 0;
    if (l == tr->lG)
        return 1;
    if (l > tr->lG)
        return tr->cfg.propagate;
    return tr->cfg.nogoal != CFG_NOGOAL_ZERO;
}

static int needs_ein(const Trainer *tr, int l)
{
    return has_error(tr, l - 1) && tr->up.lb != 0.0;
}

/* node l's c-sNT needs B_l E_{l+1} */
static int needs_be(const Trainer *tr, int l)
{
    return has_error(tr, l + 1) && tr->up.lf != 0.0;
}

/* untied node l (l < L) learns B_l from node l + 1's blocks */
static int learns_b(const Trainer *tr, int l)
{
    return tr->untied && l < tr->L;
}

static double *block(size_t len, int *ok)
{
    double *p = calloc(len, sizeof(double));

    if (!p)
        *ok = 0;
    return p;
}

/* the initial A_{l-1}: N(0,1), or N(0,1)/sqrt(n), from the node's own
 * stream so that any rank count draws the same weights; an untied B_l
 * starts as A_l^T, which node l draws from node l + 1's stream */
static void node_init_weights(Trainer *tr, TrainNode *nd)
{
    size_t nn = (size_t)tr->n * tr->n;
    double scale = tr->cfg.init == CFG_INIT_SCALED
                   ? 1.0 / sqrt((double)tr->n) : 1.0;
    Rng r;

    rng_init(&r, tr->cfg.seed, RNG_STREAM_WEIGHT + (unsigned)(nd->l - 1));
    rng_normal(&r, nd->A, (int)nn);
    cblas_dscal((int)nn, scale, nd->A, 1);
    memcpy(nd->A_prev, nd->A, nn * sizeof(double));
    if (!nd->B)
        return;
    rng_init(&r, tr->cfg.seed, RNG_STREAM_WEIGHT + (unsigned)nd->l);
    rng_normal(&r, nd->Anext, (int)nn);
    for (int i = 0; i < tr->n; i++)
        for (int j = 0; j < tr->n; j++)
            nd->B[(size_t)j * tr->n + i] =
                scale * nd->Anext[(size_t)i * tr->n + j];
}

static void node_alloc_untied(Trainer *tr, TrainNode *nd, int *ok)
{
    size_t nn = (size_t)tr->n * tr->n, nk = (size_t)tr->n * tr->K;

    nd->B = block(nn, ok);
    nd->Anext = block(nn, ok);
    nd->Unext = block(nk, ok);
    nd->Enext = block(nk, ok);
}

/* what a node needs to run the forward pass: its threshold, A, A_prev
 * (the initialisation copies A there) and the threshold's scratch */
static int node_alloc_forward(Trainer *tr, TrainNode *nd, int l)
{
    size_t nn = (size_t)tr->n * tr->n;
    int ok = 1;

    nd->l = l;
    nd->thr.keep = tr->cfg.threshold == CFG_THR_TOPK ? tr->cfg.keep[l - 1]
                                                     : 0;
    nd->thr.tau = tr->cfg.tau_abs[l - 1];
    nd->A = block(nn, &ok);
    nd->A_prev = block(nn, &ok);
    nd->work = block(3 * (size_t)tr->n, &ok);
    return ok ? 0 : -1;
}

static int node_alloc(Trainer *tr, TrainNode *nd, int l)
{
    size_t nk = (size_t)tr->n * tr->K;
    int ok = node_alloc_forward(tr, nd, l) == 0;

    nd->Uin = block(nk, &ok);
    nd->Q = block(nk, &ok);
    nd->U = block(nk, &ok);
    nd->D = block(nk, &ok);
    nd->E = block(nk, &ok);
    nd->Ein = block(nk, &ok);
    nd->BE = block(nk, &ok);
    nd->BEout = block(nk, &ok);
    if (learns_b(tr, l))
        node_alloc_untied(tr, nd, &ok);
    if (tr->cfg.nogoal == CFG_NOGOAL_DIFFUSE && l < tr->lG)
        nd->Yprev = block(nk, &ok);
    nd->tau = block((size_t)tr->K, &ok);
    nd->tau_d = block((size_t)tr->K, &ok);
    nd->uw = update_work_new(tr->n);
    if (!ok || !nd->uw)
        return -1;
    node_init_weights(tr, nd);
    return 0;
}

static void node_free(TrainNode *nd)
{
    double *b[] = { nd->A, nd->A_prev, nd->B, nd->Uin, nd->Q, nd->U, nd->D,
                    nd->E, nd->Ein, nd->BE, nd->BEout, nd->Enext, nd->Unext,
                    nd->Anext, nd->Yprev, nd->tau, nd->tau_d, nd->work };

    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
        free(b[i]);
    update_work_free(nd->uw);
}

static void params_from_config(UpdateParams *up, const NlpcConfig *c)
{
    memset(up, 0, sizeof(*up));
    up->lb = c->lb;
    up->lf = c->lf;
    up->l2 = c->l2;
    up->l3 = c->l3;
    up->l4 = c->l4;
    up->l5 = c->l5;
    up->rho = c->rho;
    up->mean = c->scale == CFG_SCALE_MEAN;
    up->solver = c->solver == CFG_SOLVER_R ? UPDATE_SOLVER_R
                 : c->solver == CFG_SOLVER_K ? UPDATE_SOLVER_K
                 : UPDATE_SOLVER_BEST;
    up->step = c->step == CFG_STEP_PROXIMAL ? UPDATE_STEP_PROXIMAL
                                            : UPDATE_STEP_DAMPED;
    up->fit_y = c->target == CFG_TARGET_CSNT;
}

static int trainer_alloc(Trainer *tr, const DataSet *train)
{
    size_t nk = (size_t)tr->n * tr->K;
    int ok = 1;

    tr->node = calloc((size_t)tr->L, sizeof(*tr->node));
    tr->use_stale = calloc((size_t)tr->L, sizeof(int));
    tr->pipe = calloc((size_t)tr->mb, sizeof(MPI_Request));
    if (!tr->node || !tr->use_stale || !tr->pipe)
        return -1;
    net_halo_begin(&tr->goal_out, tr->t, 1);
    for (int l = 1; l <= tr->L; l++)
        if (local_node(tr, l) && node_alloc(tr, &tr->node[l - 1], l))
            return -1;
    if (tr->t->rank != 0)
        return 0;
    if (!net_is_local(tr->t, tr->lG)) {
        tr->goal_in = block(nk, &ok);
        tr->goal_G = block(nk, &ok);
    }
    tr->label = malloc((size_t)tr->K * sizeof(int));
    tr->batcher = batch_new(train, tr->K, tr->cfg.seed);
    tr->batcher_len = train->count;
    return ok && tr->label && tr->batcher ? 0 : -1;
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
    tr->untied = cfg->backward == CFG_BACKWARD_UNTIED;
    tr->K = k < 1.0 ? 1 : (int)(k + 0.5);
    tr->mb = cfg->microbatches < tr->K ? cfg->microbatches : tr->K;
    params_from_config(&tr->up, cfg);
    mixed_set(cfg->precision == CFG_PREC_MIXED);
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

Trainer *train_new_network(const NlpcConfig *cfg, const NetTopo *t,
                           char *err, size_t errlen)
{
    Trainer *tr = calloc(1, sizeof(*tr));
    int ok = tr != NULL;

    if (tr) {
        tr->cfg = *cfg;
        tr->t = t;
        tr->L = cfg->nodes;
        tr->n = cfg->width;
        tr->lG = cfg->goal_node;
        mixed_set(cfg->precision == CFG_PREC_MIXED);
        tr->node = calloc((size_t)tr->L, sizeof(*tr->node));
        tr->use_stale = calloc((size_t)tr->L, sizeof(int));
        ok = tr->node && tr->use_stale;
    }
    for (int l = 1; ok && l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (nd && node_alloc_forward(tr, nd, l) != 0)
            ok = 0;
        else if (nd)
            node_init_weights(tr, nd);
    }
    if (!ok) {
        snprintf(err, errlen, "out of memory for %d nodes of width %d",
                 cfg->nodes, cfg->width);
        train_free(tr);
        return NULL;
    }
    return tr;
}

void train_set_weights(Trainer *tr, double *const *A)
{
    size_t nn = (size_t)tr->n * tr->n;
    int root = tr->t->rank == 0;

    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        state_move(tr, l, root ? A[l - 1] : NULL, nd ? nd->A : NULL, nn, 0);
        if (nd)
            memcpy(nd->A_prev, nd->A, nn * sizeof(double));
    }
}

int train_batch_size(const Trainer *tr)
{
    return tr->K;
}

/* ---- moving blocks between nodes ---------------------------------------- */

/* count doubles of node `from`'s block (src when local) into dst of the
 * local node `to`: a copy or a message */
static void move_in(Trainer *tr, int to, int from, int tag,
                    const double *src, double *dst, size_t count)
{
    if (local_node(tr, from))
        memcpy(dst, src, count * sizeof(double));
    else
        net_recv(tr->t, to, from, tag, dst, count);
}

/* send a local node's block to node `to` when that node is remote */
static void move_out(Trainer *tr, int from, int to, int tag,
                     const double *src, size_t count)
{
    if (to >= 1 && to <= tr->L && !local_node(tr, to))
        net_send(tr->t, from, to, tag, src, count);
}

static const double *weights_forward(const Trainer *tr, const TrainNode *nd)
{
    return tr->use_stale[nd->l - 1] ? nd->A_prev : nd->A;
}

/* ---- phase timers ------------------------------------------------------- */

/* A lap clock over one node's work: each lap charges the seconds since
 * the last one to a phase of the node, less what the process waited for
 * messages meanwhile, which goes to TERM_T_WAIT. Two clock reads per lap,
 * a few dozen laps per iteration. */
typedef struct {
    double t, w;
} Lap;

static void lap_start(Lap *c)
{
    double bytes;

    c->t = MPI_Wtime();
    net_counters(&c->w, &bytes);
}

/* charge the time since the last lap, minus `inner` seconds already
 * charged by a timer inside it (the update's own phases), to `term`.
 * MPI_Wtime and the update's clock may tick at different granularity, so
 * a difference of them is clamped at 0. */
static void lap(Lap *c, TrainNode *nd, int term, double inner)
{
    double t = MPI_Wtime(), w, bytes;

    net_counters(&w, &bytes);
    nd->terms[term] += fmax(0.0, t - c->t - (w - c->w) - inner);
    nd->terms[TERM_T_WAIT] += w - c->w;
    c->t = t;
    c->w = w;
}

/* add the update's own phase timers to the node; their sum */
static double update_times(TrainNode *nd)
{
    static const int term[UPDATE_PHASES] = {
        [UPDATE_T_GRAM] = TERM_T_GRAM, [UPDATE_T_EIG] = TERM_T_EIG,
        [UPDATE_T_SVD] = TERM_T_SVD, [UPDATE_T_SCALAR] = TERM_T_SCALAR,
        [UPDATE_T_CAND] = TERM_T_CAND, [UPDATE_T_BWD] = TERM_T_BWD
    };
    double t[UPDATE_PHASES], sum = 0.0;

    update_work_times(nd->uw, t);
    for (int i = 0; i < UPDATE_PHASES; i++) {
        nd->terms[term[i]] += t[i];
        sum += t[i];
    }
    return sum;
}

/* ---- stage one ---------------------------------------------------------- */

/* once per node: a node whose whole output is zero passes nothing on */
static void warn_if_zero(Trainer *tr, TrainNode *nd, int it)
{
    size_t nk = (size_t)tr->n * tr->K, i = 0;

    if (nd->warned_zero)
        return;
    while (i < nk && nd->U[i] == 0.0)
        i++;
    if (i < nk)
        return;
    fprintf(stderr, "WARNING: rank %d, node %d, iteration %d: the node's "
            "output is all zero (every |q| is below its threshold); lower "
            "network.tau or use network.threshold = topk\n", tr->t->rank,
            nd->l, it + 1);
    nd->warned_zero = 1;
}

/* first column of block b of the forward pipeline */
static int block_start(const Trainer *tr, int b)
{
    return (int)((long)b * tr->K / tr->mb);
}

/* forward sNT of block b (columns c0..c1-1) of local node nd, its input
 * from node l - 1 (a copy, or a message of that block); the block goes on
 * to node l + 1 by a send completed after the last block */
static void forward_block(Trainer *tr, TrainNode *nd, int it, int b)
{
    int c0 = block_start(tr, b), w = block_start(tr, b + 1) - c0, l = nd->l;
    size_t off = (size_t)c0 * tr->n, len = (size_t)w * tr->n;
    TrainNode *left = local_node(tr, l - 1);

    if (l > 1)
        move_in(tr, l, l - 1, NET_TAG_U, left ? left->U + off : NULL,
                nd->Uin + off, len);
    eng_forward(weights_forward(tr, nd), nd->Uin + off, tr->n, w, &nd->thr,
                nd->Q + off, nd->tau + c0, nd->U + off, nd->work);
    if (!eng_all_finite(nd->Q + off, len))
        net_fatal(tr->t, l, "iteration %d: NaN or Inf in Q_%d = A_%d "
                  "U_%d of the forward pass; its weight or its input "
                  "went bad", it + 1, l, l - 1, l - 1);
    if (l < tr->L && !local_node(tr, l + 1))
        net_isend(tr->t, l, l + 1, NET_TAG_U, nd->U + off, len,
                  &tr->pipe[b]);
}

/* forward sNT of every local node, block by block; rank 0 draws the
 * batch. The blocks are columns, which the sNT treats independently, so
 * any block count gives the same U (OpenBLAS's GEMM gives a column the
 * same bits in any block here; the block count is fixed by the
 * configuration, not by the layout, in case another BLAS does not). */
static void phase_forward(Trainer *tr, int it)
{
    TrainNode *last = NULL;
    Lap c;

    if (local_node(tr, 1)) {
        lap_start(&c);
        batch_draw(tr->batcher, local_node(tr, 1)->Uin, tr->label);
        lap(&c, local_node(tr, 1), TERM_T_FWD, 0.0);
    }
    for (int b = 0; b < tr->mb; b++)
        for (int l = 1; l <= tr->L; l++) {
            TrainNode *nd = local_node(tr, l);

            if (!nd)
                continue;
            lap_start(&c);
            forward_block(tr, nd, it, b);
            lap(&c, nd, TERM_T_FWD, 0.0);
            last = nd;
        }
    if (last && last->l < tr->L) {
        lap_start(&c);
        net_wait_sends(tr->t, last->l, tr->mb, tr->pipe);
        lap(&c, last, TERM_T_FWD, 0.0);
    }
    for (int l = 1; l <= tr->L; l++)
        if (local_node(tr, l))
            warn_if_zero(tr, local_node(tr, l), it);
}

/* rank 0: G from the goal node's U, by projection or penalised sweeps.
 * The penalised solver also starts from U, not from Q as the design note
 * writes it: G then keeps U's support, so the top-k threshold stays the
 * only sparsifier. From Q (with goal_l1 = 0) the goal was dense and the
 * goal error grew on the test problem, 1.5 to 5.3 in 8 iterations. */
static void goal_solve(Trainer *tr, const double *in, double *G)
{
    const NlpcConfig *c = &tr->cfg;

    if (c->goal_solver == CFG_GOAL_EXACT)
        goal_exact(in, tr->n, tr->K, tr->label, DATA_CLASSES, G, NULL);
    else if (goal_penalised(in, tr->n, tr->K, tr->label, DATA_CLASSES,
                            c->goal_l0, c->goal_l1, c->goal_sweeps, G,
                            NULL) != 0)
        net_fatal(tr->t, 1, "out of memory in the penalised goal solver");
}

/* rank 0: the goal from the goal node's U in tr->goal_in, sent back */
static void goal_serve(Trainer *tr)
{
    size_t nk = (size_t)tr->n * tr->K;
    Lap c;

    lap_start(&c);
    goal_solve(tr, tr->goal_in, tr->goal_G);
    net_halo_send(&tr->goal_out, tr->lG, NET_TAG_GOAL_G, tr->goal_G, nk);
    lap(&c, local_node(tr, 1), TERM_T_GOAL, 0.0);
}

/* the goal node's blocks on their way: rank 0 posts the receive of U_lG,
 * the goal node's owner sends it and posts the receive of G (into D).
 * When rank 0 owns the goal node it solves the goal at once. */
static void goal_begin(Trainer *tr, NetHalo *h)
{
    TrainNode *g = local_node(tr, tr->lG);
    size_t nk = (size_t)tr->n * tr->K;
    Lap c;

    net_halo_begin(h, tr->t, tr->lG);
    if (tr->t->rank == 0 && g) {
        lap_start(&c);
        goal_solve(tr, g->U, g->D);
        lap(&c, local_node(tr, 1), TERM_T_GOAL, 0.0);
    } else if (tr->t->rank == 0) {
        net_halo_recv(h, tr->lG, NET_TAG_GOAL_U, tr->goal_in, nk);
    } else if (g) {
        net_halo_send(h, 1, NET_TAG_GOAL_U, g->U, nk);
        net_halo_recv(h, 1, NET_TAG_GOAL_G, g->D, nk);
    }
}

/* rank 0, between pieces of early work: serve the goal if its U is in */
static void goal_poll(Trainer *tr, NetHalo *h, int *served)
{
    if (tr->t->rank != 0 || *served || local_node(tr, tr->lG))
        return;
    if (net_halo_test(h)) {
        goal_serve(tr);
        *served = 1;
    }
}

/* the goal's messages complete: rank 0 waits for U_lG and serves it
 * unless it did already, the goal node's owner waits for G. The goal
 * node's wait is charged to it, rank 0's to node 1. */
static void goal_end(Trainer *tr, NetHalo *h, int served)
{
    TrainNode *g = local_node(tr, tr->lG);
    Lap c;

    lap_start(&c);
    if (tr->t->rank == 0 && !g && !served) {
        net_halo_wait(h);
        lap(&c, local_node(tr, 1), TERM_T_GOAL, 0.0);
        goal_serve(tr);
    } else if (tr->t->rank != 0 && g) {
        net_halo_wait(h);
        lap(&c, g, TERM_T_GOAL, 0.0);
    }
}

/* E_l of a node before the goal: literal E = U (G = 0, footnote 2);
 * diffuse E = U - Y of its last update (0 before there is one) */
static void error_before_goal(Trainer *tr, TrainNode *nd)
{
    size_t nk = (size_t)tr->n * tr->K;

    if (tr->cfg.nogoal == CFG_NOGOAL_LITERAL)
        memcpy(nd->E, nd->U, nk * sizeof(double));
    else if (nd->have_yprev)
        goal_error(nd->U, nd->Yprev, nk, nd->E);
    else
        memset(nd->E, 0, nk * sizeof(double));
}

/* goal errors of every node: E_lG = U - G; after the goal
 * D_l = soft(A_{l-1} D_{l-1}, own threshold) (Theorem 1), E_l = U_l - D_l */
static void phase_errors(Trainer *tr)
{
    size_t nk = (size_t)tr->n * tr->K;

    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l), *left = local_node(tr, l - 1);
        Lap c;

        if (!nd || !has_error(tr, l))
            continue;
        lap_start(&c);
        if (l < tr->lG) {
            error_before_goal(tr, nd);
            lap(&c, nd, TERM_T_ERR, 0.0);
            continue;
        }
        if (l > tr->lG) {
            move_in(tr, l, l - 1, NET_TAG_D, left ? left->D : NULL,
                    nd->BEout, nk);
            eng_forward(weights_forward(tr, nd), nd->BEout, tr->n, tr->K,
                        &nd->thr, nd->D, nd->tau_d, nd->D, nd->work);
        }
        if (has_error(tr, l + 1))
            move_out(tr, l, l + 1, NET_TAG_D, nd->D, nk);
        goal_error(nd->U, nd->D, nk, nd->E);
        lap(&c, nd, TERM_T_ERR, 0.0);
    }
}

/* ---- the halo exchange -------------------------------------------------- */

/* what node l sends to its neighbours, posted on h */
static void halo_sends(Trainer *tr, TrainNode *nd, NetHalo *h)
{
    size_t nk = (size_t)tr->n * tr->K, nn = (size_t)tr->n * tr->n;
    int l = nd->l;

    if (needs_ein(tr, l + 1) && !local_node(tr, l + 1) && l < tr->L)
        net_halo_send(h, l + 1, NET_TAG_E, nd->E, nk);
    if (l == 1 || local_node(tr, l - 1))
        return;
    if (!tr->untied && needs_be(tr, l - 1))
        net_halo_send(h, l - 1, NET_TAG_BE, nd->BEout, nk);
    if (tr->untied && has_error(tr, l))
        net_halo_send(h, l - 1, NET_TAG_E_LEFT, nd->E, nk);
    if (tr->untied) {
        net_halo_send(h, l - 1, NET_TAG_U_LEFT, nd->U, nk);
        net_halo_send(h, l - 1, NET_TAG_A_LEFT, nd->A, nn);
    }
}

/* what node l receives from its neighbours (or copies from local ones) */
static void halo_receives(Trainer *tr, TrainNode *nd, NetHalo *h)
{
    size_t nk = (size_t)tr->n * tr->K, nn = (size_t)tr->n * tr->n;
    TrainNode *lt = local_node(tr, nd->l - 1), *rt = local_node(tr, nd->l + 1);
    int l = nd->l;

    if (needs_ein(tr, l) && lt)
        memcpy(nd->Ein, lt->E, nk * sizeof(double));
    else if (needs_ein(tr, l))
        net_halo_recv(h, l - 1, NET_TAG_E, nd->Ein, nk);
    if (!tr->untied && needs_be(tr, l) && rt)
        memcpy(nd->BE, rt->BEout, nk * sizeof(double));
    else if (!tr->untied && needs_be(tr, l))
        net_halo_recv(h, l + 1, NET_TAG_BE, nd->BE, nk);
    if (!learns_b(tr, l))
        return;
    if (rt) {
        if (has_error(tr, l + 1))
            memcpy(nd->Enext, rt->E, nk * sizeof(double));
        memcpy(nd->Unext, rt->U, nk * sizeof(double));
        memcpy(nd->Anext, rt->A, nn * sizeof(double));
        return;
    }
    if (has_error(tr, l + 1))
        net_halo_recv(h, l + 1, NET_TAG_E_LEFT, nd->Enext, nk);
    net_halo_recv(h, l + 1, NET_TAG_U_LEFT, nd->Unext, nk);
    net_halo_recv(h, l + 1, NET_TAG_A_LEFT, nd->Anext, nn);
}

/* the exchange of error blocks (and, untied, of U and A) between
 * neighbours; tied B_{l-1} E_l = A_{l-1}^T E_l with this iteration's A */
static void phase_halo(Trainer *tr)
{
    Lap c;

    for (int l = 2; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (nd && !tr->untied && needs_be(tr, l - 1)) {
            lap_start(&c);
            mixed_gemm(CblasTrans, CblasNoTrans, tr->n, tr->K, tr->n, 1.0,
                       nd->A, tr->n, nd->E, tr->n, 0.0, nd->BEout, tr->n);
            lap(&c, nd, TERM_T_HALO, 0.0);
        }
    }
    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);
        NetHalo h;

        if (!nd)
            continue;
        lap_start(&c);
        net_halo_begin(&h, tr->t, l);
        halo_receives(tr, nd, &h);
        halo_sends(tr, nd, &h);
        net_halo_wait(&h);
        lap(&c, nd, TERM_T_HALO, 0.0);
    }
}

/* ---- stage two ---------------------------------------------------------- */

static double dot(const double *x, const double *y, size_t len)
{
    double s = 0.0;

    for (size_t i = 0; i < len; i++)
        s += x[i] * y[i];
    return s;
}

/* the data terms of eq. (6)-(10) per sample, from Y, Q, E and P */
static void terms_data(Trainer *tr, TrainNode *nd, const double *E,
                       const double *P)
{
    size_t nk = (size_t)tr->n * tr->K;
    double te = 0.0, l1 = 0.0, goal = 0.0, prop = 0.0, ge = 0.0;

    for (size_t i = 0; i < nk; i++) {
        double t = nd->D[i] - nd->Q[i];

        te += t * t;
        l1 += fabs(nd->D[i]);
        goal += E ? t * E[i] : 0.0;
        prop += P ? t * P[i] : 0.0;
    }
    ge = E ? dot(E, E, nk) : 0.0;
    nd->terms[TERM_TRANSFORM] = te / tr->K;
    nd->terms[TERM_SPARSITY] = l1 / tr->K;
    nd->terms[TERM_GOAL] = goal / tr->K;
    nd->terms[TERM_PROPAGATION] = prop / tr->K;
    nd->terms[TERM_GOAL_ERROR] = ge / tr->K;
}

/* the weight constraints of eq. (16) at the updated A */
static void terms_weights(Trainer *tr, TrainNode *nd)
{
    double c[3];

    update_constraints(nd->A, tr->n, nd->uw, c);
    nd->terms[TERM_FROBENIUS] = c[0];
    nd->terms[TERM_COHERENCE] = c[1];
    nd->terms[TERM_LOGDET] = c[2];
}

/* the objective terms and the rank's figures; not the phase timers */
static void node_terms_clear(TrainNode *nd)
{
    for (int i = 0; i < TERM_T_FWD; i++)
        nd->terms[i] = NAN;
}

static void check_finite(Trainer *tr, const double *M, size_t len, int it,
                         int l, const char *what)
{
    if (!eng_all_finite(M, len))
        net_fatal(tr->t, l, "iteration %d: NaN or Inf in %s after the "
                  "update; lower [train] rho, raise l2, or use [network] "
                  "init = scaled", it + 1, what);
}

/* LAPACK's info in words: a negative value names an argument it found
 * unusable, which in these calls means NaN or Inf in a matrix */
static const char *lapack_cause(int info)
{
    return info < 0 ? "NaN or Inf reached its input: the iteration ran "
                      "away"
                    : "it did not converge";
}

/* A transform error ||Y - Q||^2 per sample that is not finite, or that
 * grew TRAIN_RUNAWAY times past its value at the node's first update in
 * this process, means the iterate is running away (the weights grow
 * without bound): stop with the numbers rather than train on garbage. */
#define TRAIN_RUNAWAY 1e6

static void check_runaway(Trainer *tr, TrainNode *nd, int it)
{
    double te = nd->terms[TERM_TRANSFORM];

    if (nd->te_first == 0.0 && isfinite(te) && te > 0.0)
        nd->te_first = te;
    if (isfinite(te) && !(te > TRAIN_RUNAWAY * nd->te_first))
        return;
    net_fatal(tr->t, nd->l, "iteration %d: the transform error "
              "||Y - Q||^2 per sample of node %d is %.3g (%.3g at its "
              "first update): the iteration is running away. Lower "
              "[train] rho, raise l2, l3 and l4, start from network.init "
              "= scaled, or use another reading (train.nogoal = zero, "
              "train.target)", it + 1, nd->l, te,
              nd->te_first);
}

/* B_l by the corrected eq. (19), from Y (in nd->D) and node l + 1's blocks */
static void update_b(Trainer *tr, TrainNode *nd, int it)
{
    int info = 0;

    if (update_backward(nd->B, nd->D, nd->Q, nd->Unext, nd->Anext,
                        has_error(tr, nd->l + 1) ? nd->Enext : NULL, tr->n,
                        tr->K, &tr->up, nd->uw, &info) != 0)
        net_fatal(tr->t, nd->l, "iteration %d: LAPACK failed in the "
                  "backward update (info %d: %s); raise [train] l5", it + 1,
                  info, lapack_cause(info));
    check_finite(tr, nd->B, (size_t)tr->n * tr->n, it, nd->l, "B");
}

/* the c-sNT and the updates of one node drawn +1 */
static void node_update(Trainer *tr, TrainNode *nd, int it)
{
    size_t nk = (size_t)tr->n * tr->K;
    const double *E = has_error(tr, nd->l) ? nd->E : NULL;
    const double *Ein = needs_ein(tr, nd->l) ? nd->Ein : NULL;
    const double *BE = needs_be(tr, nd->l) ? nd->BE : NULL;
    const double *P;
    UpdateReport rep;
    int info = 0;
    Lap c;

    /* untied: B_l E_{l+1} with the node's own B_l */
    lap_start(&c);
    if (BE && tr->untied)
        mixed_gemm(CblasNoTrans, CblasNoTrans, tr->n, tr->K, tr->n, 1.0, nd->B,
                   tr->n, nd->Enext, tr->n, 0.0, nd->BE, tr->n);
    P = eng_propagation(nd->A, Ein, BE, tr->n, tr->K, tr->up.lf, tr->up.lb,
                        nd->BEout) ? nd->BEout : NULL;
    lap(&c, nd, TERM_T_HALO, 0.0);
    /* without a correction the c-sNT is the sNT: Y = U, bit for bit */
    if (E || P)
        eng_csnt(nd->Q, nd->tau, E, P, tr->n, tr->K, nd->D);
    else
        memcpy(nd->D, nd->U, nk * sizeof(double));
    terms_data(tr, nd, E, P);
    check_runaway(tr, nd, it);
    if (nd->Yprev) {
        memcpy(nd->Yprev, nd->D, nk * sizeof(double));
        nd->have_yprev = 1;
    }
    lap(&c, nd, TERM_T_CSNT, 0.0);
    if (learns_b(tr, nd->l))
        update_b(tr, nd, it);
    if (update_forward(nd->A, nd->Uin, Ein, nd->D, E, BE, tr->n, tr->K,
                       &tr->up, nd->uw, &rep, &info) != 0)
        net_fatal(tr->t, nd->l, "iteration %d: LAPACK failed in the "
                  "forward update (info %d: %s); lower [train] rho or "
                  "raise l2", it + 1, info, lapack_cause(info));
    check_finite(tr, nd->A, (size_t)tr->n * tr->n, it, nd->l, "A");
    lap(&c, nd, TERM_T_TERMS, update_times(nd));
    nd->terms[TERM_OBJECTIVE] = rep.J;
    nd->terms[TERM_CANDIDATE] = rep.chose == UPDATE_SOLVER_K ? 1.0
                                : rep.chose == UPDATE_SOLVER_R ? 0.0 : NAN;
    if (tr->cfg.log_terms)
        terms_weights(tr, nd);
    lap(&c, nd, TERM_T_TERMS, 0.0);
}

/* node l's update needs no block from the goal or a neighbour: no goal
 * error of its own or of either neighbour, tied weights (untied, node
 * l + 1 sends it A_l before A_l changes) */
static int needs_nothing(const Trainer *tr, int l)
{
    return !has_error(tr, l) && !needs_ein(tr, l) && !needs_be(tr, l)
           && !tr->untied;
}

/* Gamma of node l needs only its input: no E_{l-1} term */
static int gamma_from_input(const Trainer *tr, int l)
{
    return !needs_ein(tr, l) || tr->up.fit_y;
}

/* Gamma of node l and its eigendecomposition, ahead of the update */
static void node_prepare(Trainer *tr, TrainNode *nd, int it)
{
    int info = 0;
    Lap c;

    lap_start(&c);
    if (update_prepare(nd->Uin, NULL, tr->n, tr->K, &tr->up, nd->uw,
                       &info) != 0)
        net_fatal(tr->t, nd->l, "iteration %d: LAPACK failed in the "
                  "eigendecomposition of the forward update (info %d: %s); "
                  "lower [train] rho or raise l2", it + 1, info,
                  lapack_cause(info));
    lap(&c, nd, TERM_T_TERMS, update_times(nd));
}

/* the update of a node drawn +1, once: A_prev keeps the weight the
 * forward pass used (async) */
static void node_step(Trainer *tr, TrainNode *nd, int it)
{
    memcpy(nd->A_prev, nd->A, (size_t)tr->n * tr->n * sizeof(double));
    node_update(tr, nd, it);
    nd->done = 1;
}

/* Node work that needs no goal, while the goal travels: each local node
 * drawn +1 that needs no block at all is updated, the others whose Gamma
 * needs only their input prepare it. Rank 0 serves the goal between two
 * pieces of work as soon as its U is in. */
static void phase_early(Trainer *tr, int it, NetHalo *goal, int *served)
{
    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (!nd || tr->use_stale[l - 1])
            continue;
        goal_poll(tr, goal, served);
        if (needs_nothing(tr, l)) {
            node_prepare(tr, nd, it);
            goal_poll(tr, goal, served);
            node_step(tr, nd, it);
        } else if (gamma_from_input(tr, l)) {
            node_prepare(tr, nd, it);
        }
    }
    goal_poll(tr, goal, served);
}

/* stage two: every local node drawn +1 that phase_early left; a stale
 * node's A_prev becomes its A */
static void phase_update(Trainer *tr, int it)
{
    size_t nn = (size_t)tr->n * tr->n;

    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (!nd || nd->done)
            continue;
        if (tr->use_stale[l - 1])
            memcpy(nd->A_prev, nd->A, nn * sizeof(double));
        else
            node_step(tr, nd, it);
    }
}

/* rank 0 collects every node's terms; the goal node's relative goal error
 * is ||E_lG||^2 / ||U_lG||^2. t0, w0, b0: the iteration's start time,
 * and the process's wait seconds and bytes sent then. */
static void collect_stats(Trainer *tr, TrainStats *st, double t0, double w0,
                          double b0)
{
    double w1, b1, dt = MPI_Wtime() - t0;

    net_counters(&w1, &b1);
    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (nd) {
            nd->terms[TERM_WAIT] = w1 - w0;
            nd->terms[TERM_BUSY] = dt - (w1 - w0);
            nd->terms[TERM_SENT] = (b1 - b0) / 1e6;
        }
        if (nd && l == tr->lG) {
            size_t nk = (size_t)tr->n * tr->K;
            double u2 = dot(nd->U, nd->U, nk), e2 = dot(nd->E, nd->E, nk);

            nd->terms[TERM_GOAL_RELATIVE] = u2 > 0.0 ? e2 / u2 : NAN;
        }
        if (tr->t->rank == 0 && nd)
            memcpy(st->terms[l - 1], nd->terms, sizeof(nd->terms));
        else if (tr->t->rank == 0)
            net_recv(tr->t, 1, l, NET_TAG_TERMS, st->terms[l - 1],
                     TRAIN_TERMS);
        else if (nd)
            net_send(tr->t, l, 1, NET_TAG_TERMS, nd->terms, TRAIN_TERMS);
    }
    st->goal_error = st->terms[tr->lG - 1][TERM_GOAL_RELATIVE];
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

/* tests only: a NaN in the chosen node's weights (train_set_fault) */
static void inject_fault(Trainer *tr, int it)
{
    TrainNode *nd = local_node(tr, tr->fault_node);

    if (nd && it + 1 == tr->fault_it) {
        nd->A[0] = NAN;
        nd->A_prev[0] = NAN;
    }
}

/* at the start of an iteration: no node updated yet, every objective
 * term unknown, every phase timer at zero */
static void nodes_reset(Trainer *tr)
{
    for (int l = 1; l <= tr->L; l++) {
        TrainNode *nd = local_node(tr, l);

        if (!nd)
            continue;
        nd->done = 0;
        node_terms_clear(nd);
        for (int i = TERM_T_FWD; i <= TERM_T_WAIT; i++)
            nd->terms[i] = 0.0;
    }
}

double train_rho(const NlpcConfig *cfg, int it)
{
    if (!(cfg->rho_decay > 0.0))
        return cfg->rho;
    return cfg->rho / (1.0 + (double)it / cfg->rho_decay);
}

void train_step(Trainer *tr, int it, TrainStats *st)
{
    double t0 = MPI_Wtime(), w0, b0;
    NetHalo goal;
    int served = 0;

    net_counters(&w0, &b0);
    memset(st, 0, sizeof(*st));
    st->updated = draw_schedule(tr);
    tr->up.rho = train_rho(&tr->cfg, it);
    nodes_reset(tr);
    inject_fault(tr, it);
    phase_forward(tr, it);
    goal_begin(tr, &goal);
    phase_early(tr, it, &goal, &served);
    goal_end(tr, &goal, served);
    phase_errors(tr);
    phase_halo(tr);
    phase_update(tr, it);
    if (tr->t->rank == 0)
        net_halo_wait(&tr->goal_out);
    collect_stats(tr, st, t0, w0, b0);
}

/* ---- evaluation --------------------------------------------------------- */

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
        if (l > 1 && !local_node(tr, l - 1))
            net_recv(tr->t, l, l - 1, NET_TAG_EVAL, X, nm);
        eng_forward(nd->A, X, tr->n, m, &nd->thr, q, tau, u, nd->work);
        memcpy(X, u, nm * sizeof(double));
        move_out(tr, l, l + 1, NET_TAG_EVAL, X, nm);
    }
    if (tr->t->rank != 0 && local_node(tr, tr->L))
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
    int root = tr->t->rank == 0, remote_last = !local_node(tr, tr->L);
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

/* ---- state for checkpoints ------------------------------------------- */

static int has_yprev(const Trainer *tr, int l)
{
    return tr->cfg.nogoal == CFG_NOGOAL_DIFFUSE && l < tr->lG;
}

/* move count doubles between node l's buffer (on its owner) and rank 0's
 * buffer: to_root saves, otherwise loads */
static void state_move(Trainer *tr, int l, double *root_buf,
                       double *node_buf, size_t count, int to_root)
{
    int root = tr->t->rank == 0, owner = local_node(tr, l) != NULL;

    if (root && owner)
        memcpy(to_root ? root_buf : node_buf, to_root ? node_buf : root_buf,
               count * sizeof(double));
    else if (root && to_root)
        net_recv(tr->t, 1, l, NET_TAG_STATE, root_buf, count);
    else if (root)
        net_send(tr->t, 1, l, NET_TAG_STATE, root_buf, count);
    else if (owner && to_root)
        net_send(tr->t, l, 1, NET_TAG_STATE, node_buf, count);
    else if (owner)
        net_recv(tr->t, l, 1, NET_TAG_STATE, node_buf, count);
}

/* every per-node array of node l, in one fixed order */
static void state_node(Trainer *tr, int l, CkptState *s, int to_root)
{
    size_t nn = (size_t)tr->n * tr->n, nk = (size_t)tr->n * tr->K;
    TrainNode *nd = local_node(tr, l);
    double flag = nd ? nd->have_yprev : 0.0;

    state_move(tr, l, s ? s->A[l - 1] : NULL, nd ? nd->A : NULL, nn,
               to_root);
    state_move(tr, l, s ? s->A_prev[l - 1] : NULL, nd ? nd->A_prev : NULL,
               nn, to_root);
    if (learns_b(tr, l))
        state_move(tr, l, s ? s->B[l - 1] : NULL, nd ? nd->B : NULL, nn,
                   to_root);
    if (!has_yprev(tr, l))
        return;
    state_move(tr, l, s ? s->Yprev[l - 1] : NULL, nd ? nd->Yprev : NULL, nk,
               to_root);
    if (s && !to_root)
        flag = s->have_yprev[l - 1];
    state_move(tr, l, &flag, &flag, 1, to_root);
    if (s && to_root)
        s->have_yprev[l - 1] = (int)flag;
    if (nd && !to_root)
        nd->have_yprev = (int)flag;
}

/* rank 0: the arrays of a state for this trainer */
static int state_alloc(Trainer *tr, CkptState *s)
{
    size_t nn = (size_t)tr->n * tr->n, nk = (size_t)tr->n * tr->K;
    int ok = 1;

    s->A = calloc((size_t)tr->L, sizeof(double *));
    s->A_prev = calloc((size_t)tr->L, sizeof(double *));
    s->B = calloc((size_t)tr->L, sizeof(double *));
    s->Yprev = calloc((size_t)tr->L, sizeof(double *));
    s->have_yprev = calloc((size_t)tr->L, sizeof(int));
    s->perm = malloc((size_t)tr->batcher_len * sizeof(int));
    if (!s->A || !s->A_prev || !s->B || !s->Yprev || !s->have_yprev
        || !s->perm)
        return -1;
    for (int l = 1; l <= tr->L; l++) {
        s->A[l - 1] = block(nn, &ok);
        s->A_prev[l - 1] = block(nn, &ok);
        if (learns_b(tr, l))
            s->B[l - 1] = block(nn, &ok);
        if (has_yprev(tr, l))
            s->Yprev[l - 1] = block(nk, &ok);
    }
    return ok ? 0 : -1;
}

void train_state_save(Trainer *tr, int iteration, CkptState *s)
{
    int root = tr->t->rank == 0;

    if (root) {
        memset(s, 0, sizeof(*s));
        if (state_alloc(tr, s) != 0)
            net_fatal(tr->t, 1, "out of memory for a checkpoint");
        s->nodes = tr->L;
        s->width = tr->n;
        s->batch = tr->K;
        s->iteration = iteration;
        s->seed = tr->cfg.seed;
        s->perm_len = tr->batcher_len;
        batch_get_state(tr->batcher, s->rng_batch, s->perm);
        memcpy(s->rng_sched, tr->sched.iseed, sizeof(s->rng_sched));
    }
    for (int l = 1; l <= tr->L; l++)
        state_node(tr, l, root ? s : NULL, 1);
}

int train_state_load(Trainer *tr, const CkptState *s)
{
    int root = tr->t->rank == 0, it = -1;

    if (root && batch_set_state(tr->batcher, s->rng_batch, s->perm,
                                s->perm_len) == 0)
        it = s->iteration;
    net_bcast(tr->t, &it, 1, MPI_INT);
    if (it < 0)
        return -1;
    if (root)
        memcpy(tr->sched.iseed, s->rng_sched, sizeof(s->rng_sched));
    net_bcast(tr->t, tr->sched.iseed, 4, MPI_INT);
    for (int l = 1; l <= tr->L; l++)
        state_node(tr, l, root ? (CkptState *)s : NULL, 0);
    return it;
}

void train_set_fault(Trainer *tr, int node, int iteration)
{
    tr->fault_node = node;
    tr->fault_it = iteration;
}

void train_free(Trainer *tr)
{
    if (!tr)
        return;
    for (int l = 1; tr->node && l <= tr->L; l++)
        if (local_node(tr, l))
            node_free(&tr->node[l - 1]);
    free(tr->node);
    free(tr->use_stale);
    free(tr->pipe);
    batch_free(tr->batcher);
    free(tr->label);
    free(tr->goal_in);
    free(tr->goal_G);
    free(tr);
    mixed_free();
}
