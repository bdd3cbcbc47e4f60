/*
 * train.h - the schedule of the method over the network's nodes: the
 * forward sNT pass, the goal at rank 0, the propagated goal, the halo
 * exchange of error blocks and the per-node updates, for the synchronous
 * and the asynchronous (stale-weight) schedules.
 *
 * It drives engine.c for the math and net.c for the messages; the same
 * code runs every node in one process or one node per rank, and both give
 * the same bits. Functions marked collective must be called by every rank
 * of the topology in the same order.
 */
#ifndef NLPC_TRAIN_H
#define NLPC_TRAIN_H

#include <stdio.h>

#include "ckpt.h"
#include "config.h"
#include "data.h"
#include "eval.h"
#include "net.h"

typedef struct Trainer Trainer;

/* The objective terms of one node and iteration (eq. (6)-(10) and the
 * weight constraints of eq. (16)), data terms per sample (divided by K),
 * its rank's time and traffic in the iteration (with every node in one
 * process, each node shows the process's figures), and the wall-clock
 * seconds its rank spent on this node in each phase of the iteration,
 * time spent waiting for messages excluded and counted in TERM_T_WAIT
 * instead. Objective terms of a node that was not updated are NAN, its
 * update phases 0. */
enum {
    TERM_TRANSFORM,     /* ||Y_l - Q_l||^2, transform error eq. (7) */
    TERM_SPARSITY,      /* ||Y_l||_1 */
    TERM_GOAL,          /* tr((Y_l - Q_l)^T E_l), local goal eq. (9) */
    TERM_PROPAGATION,   /* tr((Y_l - Q_l)^T P_l), eq. (10) */
    TERM_GOAL_ERROR,    /* ||E_l||^2, eq. (8) */
    TERM_FROBENIUS,     /* ||A_{l-1}||_F^2 after the update */
    TERM_COHERENCE,     /* ||A A^T - I||_F^2 after the update */
    TERM_LOGDET,        /* log det(A^T A) after the update */
    TERM_OBJECTIVE,     /* J(A_hat) of the forward update */
    TERM_CANDIDATE,     /* 0 = R, 1 = K won */
    TERM_GOAL_RELATIVE, /* ||E_l||^2 / ||U_l||^2, goal node only */
    TERM_WAIT,          /* seconds the node's rank waited for messages */
    TERM_BUSY,          /* seconds it did anything else */
    TERM_SENT,          /* megabytes it sent */
    TERM_T_FWD,         /* forward sNT: batch draw at node 1, A U, top-k */
    TERM_T_GOAL,        /* goal solve on rank 0, charged to node 1 */
    TERM_T_ERR,         /* propagated goal D_l and goal error E_l */
    TERM_T_HALO,        /* A^T E, B E, A E_{l-1} and posting the halo */
    TERM_T_CSNT,        /* c-sNT and the data terms (element-wise) */
    TERM_T_GRAM,        /* Gamma and C of the forward update */
    TERM_T_EIG,         /* its eigendecomposition */
    TERM_T_SVD,         /* its SVDs */
    TERM_T_SCALAR,      /* its scalar problems */
    TERM_T_CAND,        /* candidate products, J, on-line step */
    TERM_T_BWD,         /* untied backward update */
    TERM_T_TERMS,       /* finiteness checks and weight-constraint terms */
    TERM_T_WAIT,        /* waiting for messages on this node's behalf */
    TRAIN_TERMS
};

/* What one iteration reports (on rank 0). */
typedef struct {
    double goal_error;      /* ||U_lG - G||^2 / ||U_lG||^2 at the goal */
    int updated;            /* nodes updated this iteration */
    double val_acc;         /* validation accuracy, NAN when not measured */
    double terms[CFG_NODES_MAX][TRAIN_TERMS];   /* per node l at [l-1] */
} TrainStats;

/* Short CSV name of term i ("te", "sparsity", ...). */
const char *train_term_name(int i);

/* Set up the local nodes and their initial weights (from the seed, so the
 * same on any rank count). train is the training set on rank 0 and NULL
 * elsewhere; n_train its size, known on every rank. Returns NULL with a
 * message on no memory. Not collective. */
Trainer *train_new(const NlpcConfig *cfg, const NetTopo *t,
                   const DataSet *train, long n_train, char *err,
                   size_t errlen);

/* A network that can only run forward, for train_features,
 * train_set_weights and train_gather_weights, nothing else (no batches,
 * no updates, no state): every node with the initial weights train_new
 * draws from the configuration's seed (the same code). Returns NULL with
 * a message on no memory. Not collective. */
Trainer *train_new_network(const NlpcConfig *cfg, const NetTopo *t,
                           char *err, size_t errlen);

/* Replace every A_j by A[j] (n x n each, column-major), given on rank 0
 * and ignored elsewhere. Collective. */
void train_set_weights(Trainer *tr, double *const *A);

/* Batch columns per iteration, K. */
int train_batch_size(const Trainer *tr);

/* The on-line step rho of iteration it (0-based): cfg->rho, or with
 * cfg->rho_decay = h > 0, rho / (1 + it / h). */
double train_rho(const NlpcConfig *cfg, int it);

/* One iteration (0-based index it). Collective. Stats are set on rank 0.
 * A numerical failure ends the job through net_fatal. */
void train_step(Trainer *tr, int it, TrainStats *st);

/* Push `count` samples through the learned sNT network in chunks and, on
 * rank 0, append the last node's outputs with their labels to f. set and
 * f are used on rank 0 only (NULL elsewhere). Collective. */
void train_features(Trainer *tr, const DataSet *set, long count,
                    EvalFeatures *f);

/* Copy every A_j to rank 0: A[j] (n x n each) must be allocated there;
 * ignored elsewhere. Collective. */
void train_gather_weights(Trainer *tr, double **A);

/* The whole state of the run after `iteration` completed iterations, on
 * rank 0, for a checkpoint: every weight, the stale weights of the async
 * schedule, untied B, the diffuse reading's previous Y, and the random
 * streams and sampler order. s's arrays are malloc'd on rank 0 (free with
 * ckpt_state_free); s is untouched elsewhere. Collective. */
void train_state_save(Trainer *tr, int iteration, CkptState *s);

/* Restore a state read and checked on rank 0 (s is used on rank 0 only).
 * Returns the iteration to continue from, the same on every rank, or -1
 * on every rank when rank 0 finds the sampler state does not fit the
 * data. Collective. */
int train_state_load(Trainer *tr, const CkptState *s);

/* For tests of failure handling: put a NaN into node l's weight at the
 * start of iteration it (1-based) when NLPC_TEST_INJECT_NAN="l:it". */
void train_set_fault(Trainer *tr, int node, int iteration);

void train_free(Trainer *tr);

#endif
