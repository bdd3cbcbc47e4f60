/*
 * config.c - the trainer's configuration, driven by ONE option table.
 *
 * The table below lists every key once: its section, name, type, place in
 * NlpcConfig, default (as text), range or allowed words and a description.
 * Defaults, INI loading (libinih), --set overrides, the INI printout, the
 * re-check in cfg_finalize and --help are all loops over that table, so a
 * new key is one new table row.
 *
 * Deliberately NOT here: anything that needs the data (e.g. width == image
 * size, validation < number of training images), MPI, exit(), or printing
 * errors; errors go back to the caller as one line of text naming the
 * file:line (or --set), section.key, what is wrong and what to do.
 *
 * INI dialect (libinih): '#' or ';' starts a comment line, " ;" starts an
 * inline comment, lines are at most CFG_LINE_MAX characters. Leading
 * whitespace is dropped before libinih sees a line, so indented lines are
 * never taken as multi-line continuations.
 */
#include "config.h"
#include "errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum {
    OPT_INT,        /* int */
    OPT_LONG,       /* long */
    OPT_ULONG,      /* unsigned long */
    OPT_DOUBLE,     /* double, finite */
    OPT_BOOL,       /* int 0/1 */
    OPT_ENUM,       /* int index into words */
    OPT_WORD,       /* char array holding one of words */
    OPT_TEXT        /* char array, any non-empty text that fits */
} CfgOptType;

/* Which numeric bounds apply, and whether they are exclusive. */
enum { B_LO = 1, B_HI = 2, B_LO_OPEN = 4, B_HI_OPEN = 8 };

typedef struct {
    const char *section;
    const char *key;
    CfgOptType type;
    size_t offset;              /* offsetof(NlpcConfig, field) */
    size_t size;                /* sizeof the field */
    const char *def;            /* default, parsed like any value */
    double lo, hi;              /* numeric bounds, see flags */
    unsigned bounds;            /* B_* flags */
    const char *const *words;   /* NULL-terminated, enum and word only */
    const char *desc;
} CfgOption;

#define OFF(f) offsetof(NlpcConfig, f)
#define SZ(f) sizeof(((NlpcConfig *)0)->f)
#define NUM(sec, key, type, f, def, lo, hi, b, desc) \
    { sec, key, type, OFF(f), SZ(f), def, lo, hi, b, NULL, desc }
#define WORDS(sec, key, type, f, def, words, desc) \
    { sec, key, type, OFF(f), SZ(f), def, 0, 0, 0, words, desc }

/* Longest INI line libinih hands over whole (its buffer less "\r\n\0"). */
#define CFG_LINE_MAX (INI_MAX_LINE - 3)
#define CFG_NAME_MAX 64
#define CFG_WHY_MAX 256

/* Enums are stored through an int pointer. */
_Static_assert(sizeof(CfgMode) == sizeof(int), "enum size");
_Static_assert(sizeof(CfgScale) == sizeof(int), "enum size");
_Static_assert(sizeof(CfgInit) == sizeof(int), "enum size");
_Static_assert(sizeof(CfgFeatScale) == sizeof(int), "enum size");
_Static_assert(sizeof(CfgSolver) == sizeof(int), "enum size");
_Static_assert(sizeof(CfgNoGoal) == sizeof(int), "enum size");

/* Word lists, in the order of the matching enum values. */
static const char *const set_words[] = { "mnist", "fashion", "custom", NULL };
static const char *const init_words[] = { "normal", "scaled", NULL };
static const char *const mode_words[] = { "sync", "async", NULL };
static const char *const scale_words[] = { "mean", "sum", NULL };
static const char *const feat_words[] = { "rms", "none", NULL };
static const char *const solver_words[] = { "primal", "dual", NULL };
static const char *const thr_words[] = { "topk", "absolute", NULL };
static const char *const cand_words[] = { "best", "R", "K", NULL };
static const char *const step_words[] = { "damped", "proximal", NULL };
static const char *const target_words[] = { "printed", "csnt", NULL };
static const char *const back_words[] = { "tied", "untied", NULL };
static const char *const nogoal_words[] = { "zero", "literal", "diffuse",
                                            NULL };
static const char *const goal_words[] = { "exact", "penalised", NULL };
static const char *const prec_words[] = { "double", "mixed", NULL };

static const CfgOption cfg_options[] = {
    WORDS("data", "set", OPT_WORD, data_set, "mnist", set_words,
          "data set; custom reads the four IDX files directly from "
          "data.dir"),
    NUM("data", "dir", OPT_TEXT, data_dir, "data", 0, 0, 0,
        "directory holding the data sets"),
    NUM("data", "train_limit", OPT_LONG, train_limit, "0", 0, 0, B_LO,
        "use the first n training images (0 = all)"),
    NUM("data", "test_limit", OPT_LONG, test_limit, "0", 0, 0, B_LO,
        "use the first n test images (0 = all)"),
    NUM("data", "validation", OPT_LONG, validation, "5000", 0, 0, B_LO,
        "images carved out of the training images, chosen by train.seed, "
        "for model selection"),
    NUM("data", "standardise", OPT_BOOL, standardise, "true", 0, 0, 0,
        "give each image zero mean and unit variance"),

    NUM("network", "nodes", OPT_INT, nodes, "6", 1, 64, B_LO | B_HI,
        "number of nodes L in the chain"),
    NUM("network", "width", OPT_INT, width, "784", 1, 100000, B_LO | B_HI,
        "node width N; must equal the image size (784 for MNIST)"),
    NUM("network", "goal_node", OPT_INT, goal_node, "0", 0, 64,
        B_LO | B_HI, "node lG that carries the discrimination goal "
        "(0 = the last node)"),
    WORDS("network", "init", OPT_ENUM, init, "scaled", init_words,
          "initial matrices: entries N(0,1)/sqrt(N) (scaled) or N(0,1) "
          "(normal, the paper's: better where it does not run away; "
          "see docs/results.md)"),
    WORDS("network", "threshold", OPT_ENUM, threshold, "topk", thr_words,
          "sNT threshold: keep the sparsity largest |q| of each column "
          "(topk) or subtract network.tau from every |q| (absolute)"),
    NUM("network", "sparsity", OPT_TEXT, sparsity, "auto", 0, 0, 0,
        "non-zeros kept per column by node l: auto = floor(width / (2 l)), "
        "or one number per node, comma-separated"),
    NUM("network", "tau", OPT_TEXT, tau, "1", 0, 0, 0,
        "absolute threshold (threshold = absolute): one value for every "
        "node or one per node, comma-separated"),

    WORDS("train", "mode", OPT_ENUM, mode, "sync", mode_words,
          "update all nodes each iteration (sync) or a random subset "
          "(async)"),
    NUM("train", "iterations", OPT_INT, iterations, "20", 0, 100000,
        B_LO | B_HI, "number of training iterations"),
    NUM("train", "batch_fraction", OPT_DOUBLE, batch_fraction, "0.15", 0, 1,
        B_LO | B_HI | B_LO_OPEN, "fraction of the training images drawn "
        "per iteration"),
    NUM("train", "seed", OPT_ULONG, seed, "1", 0, 0, 0,
        "seed of every random choice (split, batches, initial matrices)"),
    NUM("train", "rho", OPT_DOUBLE, rho, "0.2", 0, 1, B_LO | B_HI,
        "on-line step: A <- (1-rho) A + rho A_hat"),
    NUM("train", "rho_decay", OPT_DOUBLE, rho_decay, "0", 0, 0, B_LO,
        "iterations over which the on-line step halves: iteration t "
        "(from 0) uses rho / (1 + t / rho_decay); 0 = rho throughout, as "
        "in the paper"),
    NUM("train", "lf", OPT_DOUBLE, lf, "1", 0, 0, B_LO,
        "weight of the forward propagation term, eq. (15)"),
    NUM("train", "lb", OPT_DOUBLE, lb, "1", 0, 0, B_LO,
        "weight of the backward propagation term, eq. (15)"),
    NUM("train", "l2", OPT_DOUBLE, l2, "34", 0, 0, B_LO,
        "weight of the Frobenius-norm regulariser, eq. (16)"),
    NUM("train", "l3", OPT_DOUBLE, l3, "34", 0, 0, B_LO,
        "weight of the coherence regulariser ||A A^T - I||^2, eq. (16)"),
    NUM("train", "l4", OPT_DOUBLE, l4, "34", 0, 0, B_LO,
        "weight of the log-det regulariser, eq. (16)"),
    WORDS("train", "scale", OPT_ENUM, scale, "mean", scale_words,
          "data term averaged (mean) or summed (sum) over the batch"),
    NUM("train", "async_p", OPT_DOUBLE, async_p, "0.5", 0, 1,
        B_LO | B_HI | B_LO_OPEN,
        "async mode: probability that a node is updated in an iteration"),
    WORDS("train", "solver", OPT_ENUM, solver, "best", cand_words,
          "forward update: R or K candidate closed form, or best = both, "
          "keeping the lower objective"),
    WORDS("train", "step", OPT_ENUM, step, "damped", step_words,
          "on-line step: damped = (1-rho) A + rho A_hat as in the paper; "
          "proximal = exact minimiser of J + (mu/2)||A - A_t||^2"),
    WORDS("train", "target", OPT_ENUM, target, "printed", target_words,
          "what A_{l-1} U_{l-1} is fitted to: printed = W = Y - E - lf B E "
          "with the lb term in Gamma, eq. (17) as printed; csnt = the c-sNT "
          "output Y alone, which already holds the correction"),
    WORDS("train", "backward", OPT_ENUM, backward, "tied", back_words,
          "backward weights: tied B_l = A_l^T, or untied and learned by "
          "the corrected eq. (19)"),
    NUM("train", "l5", OPT_DOUBLE, l5, "34", 0, 0, B_LO,
        "untied B: weight of ||B_l - A_l^T||^2"),
    WORDS("train", "nogoal", OPT_ENUM, nogoal, "zero", nogoal_words,
          "goal error of nodes before the goal: zero, literal (G = 0, so "
          "E = U), or diffuse (E = U - Y of the previous iteration)"),
    NUM("train", "propagate", OPT_BOOL, propagate, "true", 0, 0, 0,
        "nodes after the goal get the goal propagated forward "
        "(Theorem 1); false = no goal error there"),
    WORDS("train", "goal_solver", OPT_ENUM, goal_solver, "exact",
          goal_words, "goal of eq. (12): exact projection with D(G) = 0, "
          "or penalised block-coordinate sweeps"),
    NUM("train", "goal_l0", OPT_DOUBLE, goal_l0, "34", 0, 0, B_LO,
        "penalised goal: weight of the discrimination term D(G)"),
    NUM("train", "goal_l1", OPT_DOUBLE, goal_l1, "0", 0, 0, B_LO,
        "penalised goal: weight of ||G||_1"),
    NUM("train", "goal_sweeps", OPT_INT, goal_sweeps, "5", 1, 1000,
        B_LO | B_HI, "penalised goal: block-coordinate sweeps"),
    WORDS("train", "precision", OPT_ENUM, precision, "double", prec_words,
          "large products (n x n x K) in double, or in float (mixed) with "
          "every factorisation still in double"),
    NUM("train", "microbatches", OPT_INT, microbatches, "16", 1, 100000,
        B_LO | B_HI, "the forward pass runs over the batch in this many "
        "column blocks, so that the next rank starts on a block while this "
        "one computes the next (a pipeline); the blocks are the same on "
        "every rank count"),

    NUM("eval", "svm_c", OPT_DOUBLE, svm_c, "1", 0, 0, B_LO | B_LO_OPEN,
        "liblinear cost parameter C"),
    NUM("eval", "svm_eps", OPT_DOUBLE, svm_eps, "0.01", 0, 0,
        B_LO | B_LO_OPEN, "liblinear stopping tolerance"),
    WORDS("eval", "svm_solver", OPT_ENUM, svm_solver, "primal",
          solver_words, "liblinear L2-loss SVM solved in the primal "
          "(Newton, fast when samples >> features) or the dual"),
    WORDS("eval", "feature_scale", OPT_ENUM, feature_scale, "rms",
          feat_words, "scale SVM features so their root mean square is 1 "
          "(rms) or leave them (none)"),
    NUM("eval", "eval_chunk", OPT_LONG, eval_chunk, "5000", 1, 1000000,
        B_LO | B_HI, "images per forward-pass chunk when evaluating"),
    NUM("eval", "monitor_every", OPT_INT, monitor_every, "0", 0, 1000000,
        B_LO | B_HI, "measure validation accuracy every this many "
        "iterations during training (log.csv column val_acc); 0 = only "
        "at the end"),
    NUM("eval", "monitor_train", OPT_LONG, monitor_train, "10000", 0,
        100000000, B_LO | B_HI, "training images the monitoring SVM "
        "learns from (the first ones of the training split); 0 = all"),

    NUM("output", "dir", OPT_TEXT, out_dir, "runs/latest", 0, 0, 0,
        "directory the run writes its results to"),
    NUM("output", "log_terms", OPT_BOOL, log_terms, "true", 0, 0, 0,
        "write every objective term of every node to log.csv each "
        "iteration (costs about 2 n^3 flops per node)"),

    NUM("checkpoint", "dir", OPT_TEXT, ckpt_dir, "default", 0, 0, 0,
        "where checkpoints go; default = <output.dir>/checkpoints"),
    NUM("checkpoint", "every", OPT_INT, ckpt_every, "10", 0, 1000000,
        B_LO | B_HI, "iterations between checkpoints (0 = only at the "
        "end); one is also written at the end and on SIGUSR1"),
    NUM("checkpoint", "keep", OPT_INT, ckpt_keep, "3", 1, 1000,
        B_LO | B_HI, "newest checkpoints kept; older ones are deleted"),
    NUM("checkpoint", "resume", OPT_TEXT, resume, "auto", 0, 0, 0,
        "never = start afresh; auto = continue from the newest valid "
        "checkpoint in checkpoint.dir (afresh if none); or a checkpoint "
        "file"),
};

#define CFG_NOPT (sizeof cfg_options / sizeof cfg_options[0])

#define CFG_HELP_HINT "(nlpc_mpi --help lists every key)"

/* ---- small helpers ---------------------------------------------------- */

static void *cfg_field(NlpcConfig *c, const CfgOption *o)
{
    return (char *)c + o->offset;
}

static const void *cfg_cfield(const NlpcConfig *c, const CfgOption *o)
{
    return (const char *)c + o->offset;
}

/* Case-insensitive Levenshtein distance; large for over-long names. */
static int cfg_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    int row[CFG_NAME_MAX + 1];

    if (na > CFG_NAME_MAX || nb > CFG_NAME_MAX)
        return INT_MAX;
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];

        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (tolower((unsigned char)a[i - 1])
                               != tolower((unsigned char)b[j - 1]));

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static int cfg_section_known(const char *section)
{
    for (size_t i = 0; i < CFG_NOPT; i++)
        if (strcmp(cfg_options[i].section, section) == 0)
            return 1;
    return 0;
}

static const CfgOption *cfg_find(const char *section, const char *key)
{
    for (size_t i = 0; i < CFG_NOPT; i++)
        if (strcmp(cfg_options[i].section, section) == 0
            && strcmp(cfg_options[i].key, key) == 0)
            return &cfg_options[i];
    return NULL;
}

/* "[data] [network] ..." in table order. */
static void cfg_section_list(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < CFG_NOPT && used < len; i++) {
        if (i > 0 && strcmp(cfg_options[i].section,
                            cfg_options[i - 1].section) == 0)
            continue;
        int k = snprintf(buf + used, len - used, "%s[%s]", i ? " " : "",
                         cfg_options[i].section);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/* "; did you mean [x]?" for the closest section within distance 2. */
static void cfg_section_hint(const char *section, char *buf, size_t len)
{
    const char *best = NULL;
    int best_d = 3;

    for (size_t i = 0; i < CFG_NOPT; i++) {
        int d = cfg_distance(section, cfg_options[i].section);
        if (d < best_d) {
            best_d = d;
            best = cfg_options[i].section;
        }
    }
    if (best)
        snprintf(buf, len, "; did you mean [%s]?", best);
    else
        buf[0] = '\0';
}

/* A suggestion for an unknown key: the same key in another section, or
 * else a close key in the same section. */
static void cfg_key_hint(const char *section, const char *key, char *buf,
                         size_t len)
{
    const CfgOption *best = NULL;
    int best_d = 3;

    buf[0] = '\0';
    for (size_t i = 0; i < CFG_NOPT; i++)
        if (strcmp(cfg_options[i].key, key) == 0) {
            snprintf(buf, len, "; '%s' belongs in [%s]", key,
                     cfg_options[i].section);
            return;
        }
    for (size_t i = 0; i < CFG_NOPT; i++) {
        const CfgOption *o = &cfg_options[i];
        int d = cfg_distance(key, o->key);
        if (strcmp(o->section, section) == 0 && d < best_d) {
            best_d = d;
            best = o;
        }
    }
    if (best)
        snprintf(buf, len, "; did you mean '%s'?", best->key);
}

/* ---- values: text -> field ------------------------------------------- */

/* "in [1, 64]", ">= 0", "> 0" or "" when unbounded. */
static void cfg_range_text(const CfgOption *o, char *buf, size_t len)
{
    unsigned b = o->bounds;

    if ((b & B_LO) && (b & B_HI))
        snprintf(buf, len, "in %c%.15g, %.15g%c", b & B_LO_OPEN ? '(' : '[',
                 o->lo, o->hi, b & B_HI_OPEN ? ')' : ']');
    else if (b & B_LO)
        snprintf(buf, len, "%s %.15g", b & B_LO_OPEN ? ">" : ">=", o->lo);
    else if (b & B_HI)
        snprintf(buf, len, "%s %.15g", b & B_HI_OPEN ? "<" : "<=", o->hi);
    else
        buf[0] = '\0';
}

static int cfg_in_range(const CfgOption *o, double v)
{
    unsigned b = o->bounds;

    if (b & B_LO && (b & B_LO_OPEN ? v <= o->lo : v < o->lo))
        return 0;
    if (b & B_HI && (b & B_HI_OPEN ? v >= o->hi : v > o->hi))
        return 0;
    return 1;
}

static int cfg_range_why(const CfgOption *o, const char *text, char *why,
                         size_t n)
{
    char range[64];

    cfg_range_text(o, range, sizeof range);
    if (range[0])
        snprintf(why, n, "must be %s, got %.64s", range, text);
    else
        snprintf(why, n, "is out of range, got %.64s", text);
    return -1;
}

static int cfg_put_integer(const CfgOption *o, const char *text,
                           NlpcConfig *c, char *why, size_t n)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (end == text || *end || isspace((unsigned char)text[0])) {
        snprintf(why, n, "expects an integer, got '%.64s'", text);
        return -1;
    }
    if (errno == ERANGE || !cfg_in_range(o, (double)v)
        || (o->type == OPT_INT && (v < INT_MIN || v > INT_MAX)))
        return cfg_range_why(o, text, why, n);
    if (o->type == OPT_INT)
        *(int *)cfg_field(c, o) = (int)v;
    else
        *(long *)cfg_field(c, o) = v;
    return 0;
}

static int cfg_put_ulong(const CfgOption *o, const char *text,
                         NlpcConfig *c, char *why, size_t n)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(text, &end, 10);
    if (end == text || *end || !isdigit((unsigned char)text[0])) {
        snprintf(why, n, "expects a non-negative integer, got '%.64s'",
                 text);
        return -1;
    }
    if (errno == ERANGE) {
        snprintf(why, n, "must be at most %lu, got %.64s", ULONG_MAX, text);
        return -1;
    }
    *(unsigned long *)cfg_field(c, o) = v;
    return 0;
}

static int cfg_put_double(const CfgOption *o, const char *text,
                          NlpcConfig *c, char *why, size_t n)
{
    char *end;
    double v = strtod(text, &end);

    if (end == text || *end || !isfinite(v)
        || isspace((unsigned char)text[0])) {
        snprintf(why, n, "expects a number, got '%.64s'", text);
        return -1;
    }
    if (!cfg_in_range(o, v))
        return cfg_range_why(o, text, why, n);
    *(double *)cfg_field(c, o) = v;
    return 0;
}

static int cfg_put_bool(const CfgOption *o, const char *text,
                        NlpcConfig *c, char *why, size_t n)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *(int *)cfg_field(c, o) = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *(int *)cfg_field(c, o) = 0;
            return 0;
        }
    }
    snprintf(why, n, "expects true or false (or yes/no, on/off, 1/0), "
             "got '%.64s'", text);
    return -1;
}

/* "a, b, c" from a word list. */
static void cfg_words_text(const char *const *words, const char *sep,
                           char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; words[i] && used < len; i++) {
        int k = snprintf(buf + used, len - used, "%s%s", i ? sep : "",
                         words[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

static int cfg_put_word(const CfgOption *o, const char *text,
                        NlpcConfig *c, char *why, size_t n)
{
    char list[128];

    for (int i = 0; o->words[i]; i++) {
        if (strcasecmp(text, o->words[i]) != 0)
            continue;
        if (o->type == OPT_ENUM) {
            *(int *)cfg_field(c, o) = i;
        } else {
            memset(cfg_field(c, o), 0, o->size);
            memcpy(cfg_field(c, o), o->words[i], strlen(o->words[i]));
        }
        return 0;
    }
    cfg_words_text(o->words, ", ", list, sizeof list);
    snprintf(why, n, "must be one of %s; got '%.64s'", list, text);
    return -1;
}

/* Text must survive a write to INI and a read back unchanged. */
static int cfg_put_text(const CfgOption *o, const char *text,
                        NlpcConfig *c, char *why, size_t n)
{
    size_t len = strlen(text);

    if (len == 0) {
        snprintf(why, n, "must not be empty");
        return -1;
    }
    if (len >= o->size) {
        snprintf(why, n, "is too long (%zu characters; at most %zu)", len,
                 o->size - 1);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (iscntrl(ch) || (isspace(ch) && (i == 0 || i + 1 == len))
            || (ch == ';' && i > 0 && isspace((unsigned char)text[i - 1]))) {
            snprintf(why, n, "must not contain control characters, "
                     "leading or trailing spaces, or ' ;' (an INI comment)");
            return -1;
        }
    }
    memset(cfg_field(c, o), 0, o->size);
    memcpy(cfg_field(c, o), text, len);
    return 0;
}

/* Parse text into o's field of c. The field is only written on success;
 * otherwise why gets "expects ..., got ..." without any prefix. */
static int cfg_put(const CfgOption *o, const char *text, NlpcConfig *c,
                   char *why, size_t n)
{
    switch (o->type) {
    case OPT_INT:
    case OPT_LONG:
        return cfg_put_integer(o, text, c, why, n);
    case OPT_ULONG:
        return cfg_put_ulong(o, text, c, why, n);
    case OPT_DOUBLE:
        return cfg_put_double(o, text, c, why, n);
    case OPT_BOOL:
        return cfg_put_bool(o, text, c, why, n);
    case OPT_ENUM:
    case OPT_WORD:
        return cfg_put_word(o, text, c, why, n);
    case OPT_TEXT:
        return cfg_put_text(o, text, c, why, n);
    }
    snprintf(why, n, "has an unknown type in the option table");
    return -1;
}

/* ---- values: field -> text ------------------------------------------- */

/* The shortest %g form that reads back to the same double. */
static void cfg_format_double(double v, char *buf, size_t len)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int cfg_words_count(const char *const *words)
{
    int n = 0;

    while (words[n])
        n++;
    return n;
}

static void cfg_format(const CfgOption *o, const NlpcConfig *c, char *buf,
                       size_t len)
{
    const void *p = cfg_cfield(c, o);
    int i;

    switch (o->type) {
    case OPT_INT:
        snprintf(buf, len, "%d", *(const int *)p);
        return;
    case OPT_LONG:
        snprintf(buf, len, "%ld", *(const long *)p);
        return;
    case OPT_ULONG:
        snprintf(buf, len, "%lu", *(const unsigned long *)p);
        return;
    case OPT_DOUBLE:
        cfg_format_double(*(const double *)p, buf, len);
        return;
    case OPT_BOOL:
        snprintf(buf, len, "%s", *(const int *)p ? "true" : "false");
        return;
    case OPT_ENUM:
        i = *(const int *)p;
        snprintf(buf, len, "%s", i >= 0 && i < cfg_words_count(o->words)
                 ? o->words[i] : "?");
        return;
    case OPT_WORD:
    case OPT_TEXT:
        snprintf(buf, len, "%.*s", (int)o->size, (const char *)p);
        return;
    }
    buf[0] = '\0';
}

/* ---- one assignment, from a file or --set ----------------------------- */

/* Look up section.key and store value in c. where is "file:line" or
 * "--set". Returns the option, or NULL with a full message in err. */
static const CfgOption *cfg_assign(NlpcConfig *c, const char *where,
                                   const char *section, const char *key,
                                   const char *value, char *err,
                                   size_t errlen)
{
    char hint[128], list[128], why[CFG_WHY_MAX];
    const CfgOption *o;

    cfg_section_list(list, sizeof list);
    if (section[0] == '\0') {
        cfg_key_hint(section, key, hint, sizeof hint);
        err_set(err, errlen, "%s: key '%s' comes before any [section] "
                "header%s; put it under one of %s", where, key, hint, list);
        return NULL;
    }
    if (!cfg_section_known(section)) {
        cfg_section_hint(section, hint, sizeof hint);
        err_set(err, errlen, "%s: unknown section [%s]%s valid sections: "
                "%s", where, section, hint[0] ? hint : ";", list);
        return NULL;
    }
    o = cfg_find(section, key);
    if (!o) {
        cfg_key_hint(section, key, hint, sizeof hint);
        err_set(err, errlen, "%s: unknown key '%s' in [%s]%s %s", where,
                key, section, hint, CFG_HELP_HINT);
        return NULL;
    }
    if (cfg_put(o, value, c, why, sizeof why) != 0) {
        err_set(err, errlen, "%s: %s.%s %s%s", where, section, key, why,
                strchr(value, '#') ? "; an inline comment starts with "
                "' ;' ('#' comments only a whole line)" : "");
        return NULL;
    }
    return o;
}

/* ---- defaults --------------------------------------------------------- */

/* Zero c (padding too, so configs compare and broadcast as bytes), then
 * parse every table default through the same setters as user values. */
void cfg_defaults(NlpcConfig *c)
{
    char why[CFG_WHY_MAX];

    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CFG_NOPT; i++)
        (void)cfg_put(&cfg_options[i], cfg_options[i].def, c, why,
                      sizeof why);
}

/* ---- loading an INI file ---------------------------------------------- */

typedef struct {
    FILE *f;
    const char *path;
    int lineno;                 /* physical lines handed to libinih */
    NlpcConfig cfg;             /* committed to the caller on success */
    int seen[CFG_NOPT];         /* line that set each key, 0 = not yet */
    int err_line;               /* line of the first error, 0 = none */
    char msg[CFG_ERR_MAX];
} CfgLoad;

static void cfg_load_fail(CfgLoad *st, const char *fmt, ...)
{
    char text[CFG_ERR_MAX];
    va_list ap;

    if (st->err_line)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    err_set(st->msg, sizeof st->msg, "%s:%d: %s", st->path, st->lineno,
            text);
    st->err_line = st->lineno;
}

/* Reject a [section] header that names no known section, at its line,
 * even when no key follows it. */
static void cfg_check_header(CfgLoad *st, const char *line)
{
    char name[CFG_NAME_MAX + 1], hint[128], list[128];
    const char *close;
    size_t len;

    if (st->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    if (line[0] != '[' || !(close = strchr(line, ']')))
        return;
    len = (size_t)(close - line - 1);
    if (len > CFG_NAME_MAX)
        len = CFG_NAME_MAX;
    memcpy(name, line + 1, len);
    name[len] = '\0';
    if (cfg_section_known(name))
        return;
    cfg_section_hint(name, hint, sizeof hint);
    cfg_section_list(list, sizeof list);
    cfg_load_fail(st, "unknown section [%s]%s valid sections: %s", name,
                  hint[0] ? hint : ";", list);
}

/* fgets for libinih: counts lines (libinih counts reader calls the same
 * way), swallows over-long lines whole, drops leading whitespace. */
static char *cfg_read_line(char *str, int num, void *stream)
{
    CfgLoad *st = stream;
    size_t len, lead;
    int ch;

    if (!fgets(str, num, st->f))
        return NULL;
    st->lineno++;
    len = strlen(str);
    if (len > 0 && str[len - 1] != '\n' && !feof(st->f)) {
        while ((ch = fgetc(st->f)) != EOF && ch != '\n')
            ;
        cfg_load_fail(st, "line is longer than %d characters; shorten it "
                      "(e.g. a shorter path)", CFG_LINE_MAX);
    }
    lead = strspn(str, " \t");
    memmove(str, str + lead, len - lead + 1);
    cfg_check_header(st, str);
    return str;
}

static int cfg_on_pair(void *user, const char *section, const char *name,
                       const char *value)
{
    CfgLoad *st = user;
    char where[CFG_PATH_MAX + 32];
    const CfgOption *o;
    size_t idx;

    if (st->err_line)
        return 1;
    snprintf(where, sizeof where, "%s:%d", st->path, st->lineno);
    o = cfg_assign(&st->cfg, where, section, name, value ? value : "",
                   st->msg, sizeof st->msg);
    if (!o) {
        st->err_line = st->lineno;
        return 0;
    }
    idx = (size_t)(o - cfg_options);
    if (st->seen[idx]) {
        err_set(st->msg, sizeof st->msg, "%s: duplicate key %s.%s (already "
                "set on line %d); keep only one of the two lines", where,
                o->section, o->key, st->seen[idx]);
        st->err_line = st->lineno;
        return 0;
    }
    st->seen[idx] = st->lineno;
    return 1;
}

/* Turn libinih's result and our first error into cfg_load's result. */
static int cfg_load_result(CfgLoad *st, int rc, NlpcConfig *c, char *err,
                           size_t errlen)
{
    if (rc > 0 && (st->err_line == 0 || rc < st->err_line)) {
        err_set(err, errlen, "%s:%d: cannot parse this line; expected "
                "'key = value', '[section]' or a comment starting with # "
                "or ;", st->path, rc);
        return -1;
    }
    if (st->err_line) {
        err_set(err, errlen, "%s", st->msg);
        return -1;
    }
    if (rc != 0 || ferror(st->f)) {
        err_set(err, errlen, "%s: cannot read the file; check that it is "
                "a readable text file, not a directory", st->path);
        return -1;
    }
    *c = st->cfg;
    return 0;
}

/* Parse the open stream f, named `name` in messages, over c: all or
 * nothing, as cfg_load. */
static int cfg_load_stream(NlpcConfig *c, FILE *f, const char *name,
                           char *err, size_t errlen)
{
    CfgLoad *st = calloc(1, sizeof *st);
    int rc;

    if (!st) {
        err_set(err, errlen, "%s: out of memory", name);
        return -1;
    }
    st->f = f;
    st->path = name;
    st->cfg = *c;
    rc = ini_parse_stream(cfg_read_line, st, cfg_on_pair, st);
    rc = cfg_load_result(st, rc, c, err, errlen);
    free(st);
    return rc;
}

/* Apply the INI file at path over c. All or nothing: c is only changed
 * when the whole file is valid. Returns 0, or -1 with "path:line: ..." in
 * err for the first problem (syntax, unknown section or key, bad value,
 * duplicate key, over-long line). */
int cfg_load(NlpcConfig *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    int rc;

    if (!f) {
        err_set(err, errlen, "%s: cannot open: %s; check the path", path,
                strerror(errno));
        return -1;
    }
    rc = cfg_load_stream(c, f, path, err, errlen);
    fclose(f);
    return rc;
}

/* The text is read through a memory stream, so that a stored
 * configuration goes through exactly the parser of a file. */
int cfg_load_text(NlpcConfig *c, const char *text, const char *name,
                  char *err, size_t errlen)
{
    size_t len = strlen(text);
    FILE *f = fmemopen((void *)text, len > 0 ? len : 1, "r");
    int rc;

    if (!f) {
        err_set(err, errlen, "%s: cannot read the configuration text: %s",
                name, strerror(errno));
        return -1;
    }
    rc = cfg_load_stream(c, f, name, err, errlen);
    fclose(f);
    return rc;
}

/* ---- --set ------------------------------------------------------------ */

static char *cfg_trim(char *s)
{
    size_t len;

    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

/* Apply one "section.key=value" (spaces around the parts are ignored).
 * Returns 0, or -1 with "--set: ..." in err and c unchanged. */
int cfg_set(NlpcConfig *c, const char *assignment, char *err,
            size_t errlen)
{
    char *copy = strdup(assignment);
    char *eq, *dot, *key;
    int rc = -1;

    if (!copy) {
        err_set(err, errlen, "--set: out of memory");
        return -1;
    }
    eq = strchr(copy, '=');
    dot = eq ? memchr(copy, '.', (size_t)(eq - copy)) : NULL;
    if (!dot) {
        err_set(err, errlen, "--set: malformed '%s'; expected "
                "section.key=value, e.g. train.iterations=50", assignment);
    } else {
        *eq = '\0';
        *dot = '\0';
        key = cfg_trim(dot + 1);
        if (cfg_assign(c, "--set", cfg_trim(copy), key, cfg_trim(eq + 1),
                       err, errlen))
            rc = 0;
    }
    free(copy);
    return rc;
}

/* ---- cross-key checks ------------------------------------------------- */

/* Every value must still be one the table accepts (the struct may have
 * been edited directly): print it and parse it back. */
static int cfg_recheck(const NlpcConfig *c, char *err, size_t errlen)
{
    char text[CFG_PATH_MAX + 8], why[CFG_WHY_MAX];
    NlpcConfig scratch;

    for (size_t i = 0; i < CFG_NOPT; i++) {
        const CfgOption *o = &cfg_options[i];

        cfg_format(o, c, text, sizeof text);
        if (cfg_put(o, text, &scratch, why, sizeof why) != 0) {
            err_set(err, errlen, "config: %s.%s %s", o->section, o->key,
                    why);
            return -1;
        }
    }
    return 0;
}

/* Re-check every value against the table, resolve goal_node = 0 to nodes
 * and check the keys that constrain each other. Returns 0 or -1 with a
 * "config: ..." message naming the keys involved. */
/* Parse "v1,v2,..." into out[0..nodes-1]: one value is repeated for every
 * node, otherwise there must be exactly `nodes` values, each > 0. */
static int cfg_list(const char *key, const char *text, int nodes,
                    double *out, char *err, size_t errlen)
{
    const char *p = text;
    int n = 0;

    while (*p) {
        char *end;
        double v = strtod(p, &end);

        if (end == p || !(v > 0.0) || !isfinite(v) || n == nodes)
            return err_set(err, errlen, "config: %s = '%s': expected one "
                           "positive number or %d of them, comma-separated",
                           key, text, nodes);
        out[n++] = v;
        p = end + strspn(end, " ");
        if (*p == ',')
            p++;
        else if (*p)
            return err_set(err, errlen, "config: %s = '%s': expected "
                           "numbers separated by commas", key, text);
    }
    for (int i = n; n == 1 && i < nodes; i++)
        out[i] = out[0];
    if (n != 1 && n != nodes)
        return err_set(err, errlen, "config: %s has %d values but "
                       "network.nodes = %d; give one value or %d", key, n,
                       nodes, nodes);
    return 0;
}

/* keep[] and tau_abs[] from network.sparsity and network.tau */
static int cfg_thresholds(NlpcConfig *c, char *err, size_t errlen)
{
    double v[CFG_NODES_MAX];

    if (cfg_list("network.tau", c->tau, c->nodes, c->tau_abs, err,
                 errlen) != 0)
        return -1;
    if (strcmp(c->sparsity, "auto") == 0) {
        for (int l = 1; l <= c->nodes; l++)
            c->keep[l - 1] = c->width / (2 * l) > 0 ? c->width / (2 * l)
                                                    : 1;
        return 0;
    }
    if (cfg_list("network.sparsity", c->sparsity, c->nodes, v, err,
                 errlen) != 0)
        return -1;
    for (int l = 0; l < c->nodes; l++) {
        if (v[l] != floor(v[l]) || v[l] > c->width)
            return err_set(err, errlen, "config: network.sparsity: %g is "
                           "not a whole number in 1..%d (network.width)",
                           v[l], c->width);
        c->keep[l] = (int)v[l];
    }
    return 0;
}

int cfg_finalize(NlpcConfig *c, char *err, size_t errlen)
{
    if (cfg_recheck(c, err, errlen) != 0)
        return -1;
    if (cfg_thresholds(c, err, errlen) != 0)
        return -1;
    if (strcmp(c->ckpt_dir, "default") == 0
        && (size_t)snprintf(c->ckpt_dir, sizeof(c->ckpt_dir),
                            "%s/checkpoints", c->out_dir)
               >= sizeof(c->ckpt_dir))
        return err_set(err, errlen, "config: output.dir is too long to "
                       "hold checkpoints; set checkpoint.dir");
    if (c->goal_node == 0)
        c->goal_node = c->nodes;
    if (c->goal_node > c->nodes) {
        err_set(err, errlen, "config: network.goal_node = %d is beyond "
                "network.nodes = %d; set goal_node to 1..%d (0 = the last "
                "node) or raise nodes", c->goal_node, c->nodes, c->nodes);
        return -1;
    }
    if (c->train_limit > 0 && c->validation >= c->train_limit) {
        err_set(err, errlen, "config: data.validation = %ld leaves no "
                "training images out of data.train_limit = %ld; lower "
                "validation or raise train_limit", c->validation,
                c->train_limit);
        return -1;
    }
    return 0;
}

/* ---- printing --------------------------------------------------------- */

/* Output goes either to a FILE or into a buffer, snprintf-style. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
    size_t used;                /* length needed so far */
} CfgSink;

static void cfg_emit(CfgSink *s, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    if (s->f) {
        vfprintf(s->f, fmt, ap);
    } else {
        int room = s->used < s->len;
        k = vsnprintf(room ? s->buf + s->used : NULL,
                      room ? s->len - s->used : 0, fmt, ap);
        if (k > 0)
            s->used += (size_t)k;
    }
    va_end(ap);
}

/* keys that do not change the trained weights: evaluation, output,
 * checkpoints, how long to train, and the test set */
static int cfg_outside_training(const CfgOption *o)
{
    return !strcmp(o->section, "eval") || !strcmp(o->section, "output")
           || !strcmp(o->section, "checkpoint")
           || !strcmp(o->key, "iterations") || !strcmp(o->key, "test_limit");
}

static void cfg_render(const NlpcConfig *c, CfgSink *s, int training_only)
{
    char value[CFG_PATH_MAX + 8];
    const char *section = "";

    for (size_t i = 0; i < CFG_NOPT; i++) {
        const CfgOption *o = &cfg_options[i];

        if (training_only && cfg_outside_training(o))
            continue;
        if (strcmp(o->section, section) != 0)
            cfg_emit(s, "%s[%s]\n", section[0] ? "\n" : "", o->section);
        section = o->section;
        cfg_format(o, c, value, sizeof value);
        cfg_emit(s, "%s = %s\n", o->key, value);
    }
}

/* Write every key of c to f as INI, by section in table order; cfg_load
 * reads it back to the same struct (lines fit libinih's limit as long as
 * paths are shorter than about 190 characters). */
void cfg_write_ini(const NlpcConfig *c, FILE *f)
{
    CfgSink s = { f, NULL, 0, 0 };

    cfg_render(c, &s, 0);
}

/* The text cfg_write_ini writes, into buf (NUL-terminated when len > 0,
 * buf may be NULL when len is 0). Returns the length needed. */
size_t cfg_to_string(const NlpcConfig *c, char *buf, size_t len)
{
    CfgSink s = { NULL, buf, len, 0 };

    if (buf && len > 0)
        buf[0] = '\0';
    cfg_render(c, &s, 0);
    return s.used;
}

size_t cfg_fingerprint(const NlpcConfig *c, char *buf, size_t len)
{
    CfgSink s = { NULL, buf, len, 0 };

    if (buf && len > 0)
        buf[0] = '\0';
    cfg_render(c, &s, 1);
    return s.used;
}

/* "integer in [1, 64]", "word: sync | async", ... */
static void cfg_type_text(const CfgOption *o, char *buf, size_t len)
{
    static const char *const names[] = {
        [OPT_INT] = "integer", [OPT_LONG] = "integer",
        [OPT_ULONG] = "integer >= 0", [OPT_DOUBLE] = "number",
        [OPT_BOOL] = "boolean: true | false (yes/no, on/off, 1/0)",
        [OPT_ENUM] = "word", [OPT_WORD] = "word", [OPT_TEXT] = "text",
    };
    char extra[128];

    if (o->words) {
        cfg_words_text(o->words, " | ", extra, sizeof extra);
        snprintf(buf, len, "%s: %s", names[o->type], extra);
    } else if (o->type == OPT_TEXT) {
        snprintf(buf, len, "text, 1..%zu characters", o->size - 1);
    } else {
        cfg_range_text(o, extra, sizeof extra);
        snprintf(buf, len, "%s%s%s", names[o->type], extra[0] ? " " : "",
                 extra);
    }
}

static int cfg_section_in(const char *section, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(section, *list) == 0)
            return 1;
    return list == NULL;
}

/* Print the keys of the listed sections (every key when sections is
 * NULL): section.key, default, type with range or words, and the
 * description. */
void cfg_help_sections(FILE *f, const char *const *sections)
{
    char type[256];
    const char *last = "";

    fprintf(f, "Configuration keys (set in the INI file, or with "
            "--set section.key=value):\n");
    for (size_t i = 0; i < CFG_NOPT; i++) {
        const CfgOption *o = &cfg_options[i];

        if (!cfg_section_in(o->section, sections))
            continue;
        if (strcmp(o->section, last) != 0)
            fprintf(f, "\n[%s]\n", o->section);
        last = o->section;
        cfg_type_text(o, type, sizeof type);
        fprintf(f, "  %s.%s = %s\n      %s; default %s\n      %s\n",
                o->section, o->key, o->def, type, o->def, o->desc);
    }
}

void cfg_help(FILE *f)
{
    cfg_help_sections(f, NULL);
}
