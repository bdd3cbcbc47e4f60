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

    /* [train] */
    CfgMode mode;
    int iterations;
    double batch_fraction;
    unsigned long seed;
    double rho;                 /* on-line step */
    double lf, lb;              /* propagation weights, eq. (15) */
    double l2, l3, l4;          /* Frobenius, coherence, log-det */
    CfgScale scale;             /* data term as sum or mean over batch */
    double async_p;             /* P(node updated) in async mode */

    /* [eval] */
    double svm_c;
    double svm_eps;
    CfgSvmSolver svm_solver;
    CfgFeatScale feature_scale;
    long eval_chunk;            /* images per forward chunk */

    /* [output] */
    char out_dir[CFG_PATH_MAX];
} NlpcConfig;

/* Fill every field with the option table's default. */
void cfg_defaults(NlpcConfig *c);

/* Parse an INI file over the current values of c. Returns 0, or -1 with a
 * message in err naming the file, line, section.key and the fix. */
int cfg_load(NlpcConfig *c, const char *path, char *err, size_t errlen);

/* Apply one "section.key=value" override through the same table and
 * per-value checks. Returns 0 or -1 with a message in err. */
int cfg_set(NlpcConfig *c, const char *assignment, char *err,
            size_t errlen);

/* Checks that involve several keys (goal_node <= nodes, ...). Also turns
 * goal_node = 0 into nodes. Returns 0 or -1 with a message. */
int cfg_finalize(NlpcConfig *c, char *err, size_t errlen);

/* Write the resolved configuration as INI text, every key, one per line. */
void cfg_write_ini(const NlpcConfig *c, FILE *f);

/* The same text into buf (always NUL-terminated); returns the length it
 * needed, as snprintf does. */
size_t cfg_to_string(const NlpcConfig *c, char *buf, size_t len);

/* Print every key with type, default, allowed range and description. */
void cfg_help(FILE *f);

#endif
