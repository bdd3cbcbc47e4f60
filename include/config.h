/*
 * config.h - the trainer's configuration: one option table drives the INI
 * parser (libinih), the --set overrides, validation, the resolved printout
 * and --help.
 *
 * This module only parses and checks; it never exits and never touches MPI.
 * Rank 0 parses, then broadcasts the plain struct as bytes.
 */
#ifndef NLPC_CONFIG_H
#define NLPC_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CFG_PATH_MAX 512
#define CFG_ERR_MAX 512

typedef enum { CFG_MODE_SYNC = 0, CFG_MODE_ASYNC = 1 } CfgMode;
typedef enum { CFG_SCALE_MEAN = 0, CFG_SCALE_SUM = 1 } CfgScale;
typedef enum { CFG_INIT_NORMAL = 0, CFG_INIT_SCALED = 1 } CfgInit;
typedef enum { CFG_FEAT_RMS = 0, CFG_FEAT_NONE = 1 } CfgFeatScale;
typedef enum { CFG_SVM_PRIMAL = 0, CFG_SVM_DUAL = 1 } CfgSvmSolver;
typedef enum { CFG_THR_TOPK = 0, CFG_THR_ABSOLUTE = 1 } CfgThreshold;
typedef enum { CFG_SOLVER_BEST = 0, CFG_SOLVER_R = 1, CFG_SOLVER_K = 2 }
    CfgSolver;
typedef enum { CFG_STEP_DAMPED = 0, CFG_STEP_PROXIMAL = 1 } CfgStep;
typedef enum { CFG_TARGET_PRINTED = 0, CFG_TARGET_CSNT = 1 } CfgTarget;
typedef enum { CFG_BACKWARD_TIED = 0, CFG_BACKWARD_UNTIED = 1 } CfgBackward;
typedef enum { CFG_NOGOAL_ZERO = 0, CFG_NOGOAL_LITERAL = 1,
               CFG_NOGOAL_DIFFUSE = 2 } CfgNoGoal;
typedef enum { CFG_GOAL_EXACT = 0, CFG_GOAL_PENALISED = 1 } CfgGoalSolver;
typedef enum { CFG_PREC_DOUBLE = 0, CFG_PREC_MIXED = 1 } CfgPrecision;

#define CFG_NODES_MAX 64

/* The resolved configuration. Plain data only (no pointers), so that it can
 * be broadcast as MPI_BYTE between ranks of one binary. */
typedef struct {
    /* [data] */
    char data_set[16];          /* mnist | fashion | custom */
    char data_dir[CFG_PATH_MAX];/* root of the data sets */
    long train_limit;           /* 0 = whole training set */
    long test_limit;            /* 0 = whole test set */
    long validation;            /* images carved from training set */
    int standardise;            /* per-image zero mean, unit variance */

    /* [network] */
    int nodes;                  /* L */
    int width;                  /* N, must equal the image size */
    int goal_node;              /* lG in 1..L; 0 in the table = L */
    CfgInit init;               /* N(0,1) or N(0,1)/sqrt(N) */
    CfgThreshold threshold;     /* top-k sparsity or absolute threshold */
    char sparsity[CFG_PATH_MAX];/* "auto" or k per node, comma-separated */
    char tau[CFG_PATH_MAX];     /* absolute threshold, one or per node */

    /* [train] */
    CfgMode mode;
    int iterations;
    double batch_fraction;
    unsigned long seed;
    double rho;                 /* on-line step */
    double rho_decay;           /* rho_t = rho / (1 + t / rho_decay); 0 = constant */
    double lf, lb;              /* propagation weights, eq. (15) */
    double l2, l3, l4;          /* Frobenius, coherence, log-det */
    CfgScale scale;             /* data term as sum or mean over batch */
    double async_p;             /* P(node updated) in async mode */
    CfgSolver solver;           /* forward update candidate */
    CfgStep step;               /* damped or proximal on-line step */
    CfgTarget target;           /* eq. (17) as printed, or fit Y alone */
    CfgBackward backward;       /* B_l = A_l^T, or learned by eq. (19) */
    double l5;                  /* pull of an untied B_l towards A_l^T */
    CfgNoGoal nogoal;           /* goal error of nodes before the goal */
    int propagate;              /* propagated goal after the goal node */
    CfgGoalSolver goal_solver;
    double goal_l0;             /* penalised goal: weight of D(G) */
    double goal_l1;             /* penalised goal: weight of ||G||_1 */
    int goal_sweeps;            /* penalised goal: sweeps over classes */
    CfgPrecision precision;     /* large products in double or float */
    int microbatches;           /* column blocks of the forward pipeline */

    /* [eval] */
    double svm_c;
    double svm_eps;
    CfgSvmSolver svm_solver;
    CfgFeatScale feature_scale;
    long eval_chunk;            /* images per forward chunk */
    int monitor_every;          /* validation check every n iterations */
    long monitor_train;         /* images for the monitoring SVM, 0 = all */

    /* [output] */
    char out_dir[CFG_PATH_MAX];
    int log_terms;              /* objective terms per node in the log */

    /* [checkpoint] */
    char ckpt_dir[CFG_PATH_MAX];/* "" = <output dir>/checkpoints */
    int ckpt_every;             /* iterations between checkpoints, 0 = end */
    int ckpt_keep;              /* newest checkpoints kept */
    char resume[CFG_PATH_MAX];  /* never | auto | a checkpoint file */

    /* resolved by cfg_finalize from the keys above, not keys themselves */
    int keep[CFG_NODES_MAX];        /* top-k level of node l at [l - 1] */
    double tau_abs[CFG_NODES_MAX];  /* absolute threshold of node l */
} NlpcConfig;

/* Fill every field with the option table's default. */
void cfg_defaults(NlpcConfig *c);

/* Parse an INI file over the current values of c. Returns 0, or -1 with a
 * message in err naming the file, line, section.key and the fix. */
int cfg_load(NlpcConfig *c, const char *path, char *err, size_t errlen);

/* Parse configuration text (a resolved configuration stored in a
 * checkpoint or weights file) over c, exactly as cfg_load parses a file;
 * messages name `name` and the line. 0 or -1 with a message in err. */
int cfg_load_text(NlpcConfig *c, const char *text, const char *name,
                  char *err, size_t errlen);

/* Apply one "section.key=value" override through the same table and
 * per-value checks. Returns 0 or -1 with a message in err. */
int cfg_set(NlpcConfig *c, const char *assignment, char *err,
            size_t errlen);

/* Checks that involve several keys (goal_node <= nodes, ...). Also turns
 * goal_node = 0 into nodes and resolves the per-node thresholds (keep,
 * tau_abs) from network.sparsity and network.tau. Returns 0 or -1 with a
 * message. */
int cfg_finalize(NlpcConfig *c, char *err, size_t errlen);

/* Write the resolved configuration as INI text, every key, one per line. */
void cfg_write_ini(const NlpcConfig *c, FILE *f);

/* The same text into buf (always NUL-terminated); returns the length it
 * needed, as snprintf does. */
size_t cfg_to_string(const NlpcConfig *c, char *buf, size_t len);

/* The part of the configuration that shapes the trained weights, as INI
 * text like cfg_to_string: every key but [eval], [output], [checkpoint],
 * train.iterations and data.test_limit. A checkpoint can only be resumed
 * by a run with the same fingerprint. */
size_t cfg_fingerprint(const NlpcConfig *c, char *buf, size_t len);

/* Print every key with type, default, allowed range and description. */
void cfg_help(FILE *f);

/* The same for the keys of the listed sections only (a NULL-terminated
 * list of names such as "data"; NULL = every section). */
void cfg_help_sections(FILE *f, const char *const *sections);

#endif
