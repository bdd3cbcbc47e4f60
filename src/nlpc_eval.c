/*
 * nlpc_eval.c - the nlpc_eval command: evaluate a trained network again,
 * from a checkpoint or a final weights.h5, or one of two baselines from a
 * configuration file (a linear SVM on the raw pixels, or on the outputs of
 * the untrained network the trainer starts from).
 *
 * The evaluation itself is assess.c's, the very code the trainer runs at
 * the end of a run, so the accuracies equal the run's bit for bit. This
 * file only reads the input, checks that it fits the data, prints and
 * writes the results. It runs as one MPI process (a singleton, or
 * mpirun -np 1).
 *
 * OpenBLAS runs one thread unless --threads says otherwise: its DGEMM
 * with two threads rounds differently from one, and the differences pass
 * through the top-k thresholds into the SVM (the same MNIST weights, 5,000
 * training and 2,000 test images: 86.85% test accuracy with one thread,
 * 87.20% with two). The trainer runs one thread per rank.
 */
#include <cblas.h>
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cJSON.h>

#include "assess.h"
#include "blas.h"
#include "ckpt.h"
#include "config.h"
#include "data.h"
#include "errmsg.h"
#include "eval.h"
#include "h5io.h"
#include "net.h"
#include "output.h"
#include "train.h"

#define MAX_SETS 64
#define ERR_LEN 2048
#define PATH_LEN (CFG_PATH_MAX + 64)

typedef enum {
    KIND_CHECKPOINT, KIND_WEIGHTS, KIND_RAW, KIND_UNTRAINED
} Kind;

static const char *const kind_names[] = {
    "checkpoint", "weights", "baseline raw", "baseline untrained"
};

typedef struct {
    const char *input;
    const char *sets[MAX_SETS];
    int nsets;
    const char *out;            /* --out, or NULL for the default */
    const char *model;          /* --model, or NULL for the default */
    int baseline;               /* -1 none, else KIND_RAW or KIND_UNTRAINED */
    int threads;                /* OpenBLAS threads, 0 = every core */
    int help;
} Args;

/* What is evaluated: the configuration and, for a trained network, its
 * weights (owned by ck for a checkpoint, by A for a weights file). */
typedef struct {
    Kind kind;
    NlpcConfig cfg;
    int nodes, width, iteration;
    double **A;
    CkptState ck;
    char json[PATH_LEN], model[PATH_LEN];
} Input;

static void usage(FILE *f)
{
    static const char *const sections[] = { "data", "eval", NULL };

    fprintf(f,
        "usage: nlpc_eval [--set section.key=value ...] [--out FILE.json]\n"
        "                 [--model FILE.svm] [--threads N] CHECKPOINT.h5 | "
        "weights.h5\n"
        "       nlpc_eval --baseline raw|untrained [--set ...] [--out ...]\n"
        "                 config.ini\n\n"
        "Evaluates a network trained by nlpc_mpi exactly as the trainer "
        "does at the\nend of a run: the training split, the validation "
        "split and the test set go\nthrough the sNT network in chunks, a "
        "linear SVM (liblinear) learns from the\nlast node's outputs on "
        "the training split, and its train, validation and\ntest accuracy "
        "are printed, with the per-class test accuracy and the test\n"
        "confusion matrix (rows = true class). For the same file and "
        "settings the\naccuracies equal the ones the training run "
        "reported, bit for bit.\n\n"
        "The input is a checkpoint (<output.dir>/checkpoints/ckpt-*.h5) or "
        "a final\nweights.h5; the configuration stored in it is the "
        "starting point. Its data\nset is found through data.dir as "
        "stored, relative to the current directory.\n\n"
        "  --set section.key=value  change a [data] or [eval] key (other "
        "keys describe\n"
        "                           how the weights were learned and are "
        "refused)\n"
        "  --out FILE.json          where the results go (default: "
        "<input>.eval.json)\n"
        "  --model FILE.svm         where the liblinear model goes "
        "(default: <input>.svm,\n"
        "                           liblinear's save_model format)\n"
        "  --baseline raw           the input is a config .ini: the SVM on "
        "the config's\n"
        "                           (standardised) raw pixels\n"
        "  --baseline untrained     the input is a config .ini: the "
        "network of its shape\n"
        "                           with the initial weights the trainer "
        "draws from its\n"
        "                           seed, not trained\n"
        "  --threads N              OpenBLAS threads (default 1; 0 = every "
        "core). More\n"
        "                           is faster, but OpenBLAS then rounds "
        "differently and\n"
        "                           the accuracies may differ from the "
        "trainer's in the\n"
        "                           last digits; the trainer runs one "
        "thread per rank\n"
        "  --help                   this text\n\n"
        "With --baseline any key may be set; the outputs default to\n"
        "<config>.raw.eval.json and <config>.raw.svm (.untrained. for the "
        "other).\n"
        "A network whose width does not equal the data set's image size is "
        "refused.\nIt runs as one process: `bin/nlpc_eval FILE` or "
        "`mpirun -np 1 bin/nlpc_eval FILE`.\n"
        "Exit status: 0 on success, 1 on an error, 2 on a bad command "
        "line.\n\n"
        "Examples:\n"
        "  bin/nlpc_eval runs/mnist_sync_6n_g6/checkpoints/"
        "ckpt-00000020.h5\n"
        "  bin/nlpc_eval runs/mnist_sync_6n_g6/weights.h5\n"
        "  bin/nlpc_eval --set eval.svm_c=4 --out c4.json "
        "runs/mnist_sync_6n_g6/weights.h5\n"
        "  bin/nlpc_eval --set data.test_limit=1000 "
        "runs/mnist_sync_6n_g6/weights.h5\n"
        "  bin/nlpc_eval --baseline raw configs/mnist_sync_6n_g6.ini\n"
        "  bin/nlpc_eval --baseline untrained configs/mnist_sync_6n_g6.ini"
        "\n\n");
    cfg_help_sections(f, sections);
}

/* the value of an option given as "--name value" or "--name=value" */
static const char *option_value(int argc, char **argv, int *i,
                                const char *name)
{
    size_t len = strlen(name);
    const char *s = argv[*i];

    if (strncmp(s, name, len) != 0)
        return NULL;
    if (s[len] == '=')
        return s + len + 1;
    if (s[len] != '\0')
        return NULL;
    return *i + 1 < argc ? argv[++*i] : "";
}

static int parse_option(int argc, char **argv, int *i, Args *a, char *err,
                        size_t errlen)
{
    const char *v;

    if ((v = option_value(argc, argv, i, "--set"))) {
        if (!strchr(v, '=') || a->nsets == MAX_SETS)
            return err_set(err, errlen, "--set needs section.key=value, got "
                           "'%s' (at most %d of them)", v, MAX_SETS);
        a->sets[a->nsets++] = v;
    } else if ((v = option_value(argc, argv, i, "--out"))) {
        a->out = v;
    } else if ((v = option_value(argc, argv, i, "--model"))) {
        a->model = v;
    } else if ((v = option_value(argc, argv, i, "--threads"))) {
        char *end;
        long n = strtol(v, &end, 10);

        if (!v[0] || *end || n < 0 || n > 1024)
            return err_set(err, errlen, "--threads takes a count from 0 "
                           "(every core) to 1024, not '%s'", v);
        a->threads = (int)n;
    } else if ((v = option_value(argc, argv, i, "--baseline"))) {
        if (strcmp(v, "raw") != 0 && strcmp(v, "untrained") != 0)
            return err_set(err, errlen, "--baseline takes raw or "
                           "untrained, not '%s'", v);
        a->baseline = v[0] == 'r' ? KIND_RAW : KIND_UNTRAINED;
    } else {
        return err_set(err, errlen, "unknown option '%s' (see --help)",
                       argv[*i]);
    }
    if ((a->out && !a->out[0]) || (a->model && !a->model[0]))
        return err_set(err, errlen, "--out and --model need a file name");
    return 0;
}

static int parse_args(int argc, char **argv, Args *a, char *err,
                      size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->baseline = -1;
    a->threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            a->help = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            if (parse_option(argc, argv, &i, a, err, errlen) != 0)
                return -1;
        } else if (a->input)
            return err_set(err, errlen, "two input files given: '%s' and "
                           "'%s'", a->input, argv[i]);
        else
            a->input = argv[i];
    }
    if (!a->input && !a->help)
        return err_set(err, errlen, "no input given: a checkpoint, a "
                       "weights.h5, or a config with --baseline (see "
                       "--help)");
    return 0;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- reading the input ------------------------------------------------ */

/* 1 when path begins with HDF5's signature */
static int is_hdf5(const char *path)
{
    static const unsigned char sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n',
                                          0x1a, '\n' };
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof(head), f) : 0;

    if (f)
        fclose(f);
    return got == sizeof(head) && memcmp(head, sig, sizeof(sig)) == 0;
}

/* a checkpoint, as opposed to a weights file: named ckpt-*, or holding
 * the /state group only checkpoints have */
static int is_checkpoint(const char *path)
{
    const char *base = strrchr(path, '/');
    H5ioQuiet quiet;
    hid_t file, group;
    int yes = 0;

    base = base ? base + 1 : path;
    if (strncmp(base, "ckpt-", 5) == 0)
        return 1;
    h5io_mute(&quiet);
    file = h5io_open_read(path);
    if (file >= 0) {
        group = h5io_open_group(file, "state");
        yes = group >= 0;
        if (group >= 0)
            H5Gclose(group);
        H5Fclose(file);
    }
    h5io_unmute(&quiet);
    return yes;
}

/* the weights and stored configuration text of a checkpoint */
static int read_checkpoint(const char *path, Input *in, char **text,
                           char *err, size_t errlen)
{
    in->kind = KIND_CHECKPOINT;
    if (ckpt_read(path, &in->ck, err, errlen) != 0)
        return -1;
    in->nodes = in->ck.nodes;
    in->width = in->ck.width;
    in->iteration = in->ck.iteration;
    in->A = in->ck.A;
    *text = in->ck.config;
    return 0;
}

/* the same from a weights.h5; *text is malloc'd */
static int read_weights(const char *path, Input *in, char **text,
                        char *err, size_t errlen)
{
    in->kind = KIND_WEIGHTS;
    if (out_read_weights(path, &in->nodes, &in->width, &in->A, err,
                         errlen) != 0
        || out_read_attrs(path, &in->iteration, text, err, errlen) != 0)
        return -1;
    return 0;
}

/* only [data] and [eval] may change what a trained network is assessed
 * on; every other key describes how its weights came to be */
static int check_set_allowed(const char *a, const Input *in, char *err,
                             size_t errlen)
{
    const char *dot = strchr(a, '.');
    size_t len;

    while (*a == ' ' || *a == '\t')
        a++;
    len = dot && dot > a ? (size_t)(dot - a) : 0;
    while (len > 0 && (a[len - 1] == ' ' || a[len - 1] == '\t'))
        len--;
    if ((len == 4 && !strncmp(a, "data", 4))
        || (len == 4 && !strncmp(a, "eval", 4)))
        return 0;
    return err_set(err, errlen, "--set %s: only [data] and [eval] keys can "
                   "change when evaluating the network of a %s file; the other keys "
                   "describe how its weights were learned (network.width = "
                   "%d, network.nodes = %d, ...) and cannot change without "
                   "training again with nlpc_mpi (or, for the network the "
                   "trainer starts from, use --baseline untrained with a "
                   "config)", a, kind_names[in->kind], in->width, in->nodes);
}

/* the configuration: the stored text (or the .ini), --set, finalize */
static int resolve_config(const Args *a, Input *in, const char *text,
                          char *err, size_t errlen)
{
    char name[PATH_LEN];

    cfg_defaults(&in->cfg);
    snprintf(name, sizeof(name), "%s [stored configuration]", a->input);
    if (text ? cfg_load_text(&in->cfg, text, name, err, errlen)
             : cfg_load(&in->cfg, a->input, err, errlen))
        return -1;
    for (int i = 0; i < a->nsets; i++) {
        if (text && check_set_allowed(a->sets[i], in, err, errlen) != 0)
            return -1;
        if (cfg_set(&in->cfg, a->sets[i], err, errlen) != 0)
            return -1;
    }
    return cfg_finalize(&in->cfg, err, errlen);
}

/* the weights and their stored configuration must describe one network */
static int check_consistent(const Input *in, char *err, size_t errlen)
{
    if (in->cfg.nodes == in->nodes && in->cfg.width == in->width)
        return 0;
    return err_set(err, errlen, "the file holds %d nodes of width %d but "
                   "its stored configuration says network.nodes = %d, "
                   "network.width = %d; it was altered or written by "
                   "another program: use another checkpoint", in->nodes,
                   in->width, in->cfg.nodes, in->cfg.width);
}

/* the network's width must equal the data's image size */
static int check_fits_data(const Args *a, Input *in, char *err,
                           size_t errlen)
{
    char path[PATH_LEN];
    int dim = 0;

    if (data_image_size(&in->cfg, &dim, path, sizeof(path), err,
                        errlen) != 0)
        return -1;
    if (in->kind == KIND_RAW)
        in->cfg.width = dim;
    if (dim == in->cfg.width)
        return 0;
    if (in->kind == KIND_UNTRAINED)
        return err_set(err, errlen, "%s: network.width = %d but the images "
                       "of %s have %d pixels; add --set network.width=%d",
                       a->input, in->cfg.width, path, dim, dim);
    return err_set(err, errlen, "%s holds a network of width %d (%d nodes) "
                   "but the images of %s have %d pixels: the width must "
                   "equal the image size. Evaluate it on the data set it "
                   "was trained on (its stored data.set = %s; change "
                   "data.set or data.dir with --set), or evaluate a "
                   "checkpoint of width %d", a->input, in->width,
                   in->nodes, path, dim, in->cfg.data_set, dim);
}

/* default outputs beside the input, or --out and --model */
static void output_paths(const Args *a, Input *in)
{
    const char *tag = in->kind == KIND_RAW ? ".raw"
                      : in->kind == KIND_UNTRAINED ? ".untrained" : "";

    snprintf(in->json, sizeof(in->json), "%s", a->out ? a->out : "");
    if (!a->out)
        snprintf(in->json, sizeof(in->json), "%s%s.eval.json", a->input,
                 tag);
    if (a->model)
        snprintf(in->model, sizeof(in->model), "%s", a->model);
    else
        snprintf(in->model, sizeof(in->model), "%s%s.svm", a->input, tag);
}

/* rank 0: everything up to the data; 0 or -1 with a message */
static int read_input(const Args *a, Input *in, char *err, size_t errlen)
{
    char *text = NULL;
    int rc = -1, hdf5;
    struct stat st;

    if (stat(a->input, &st) != 0)
        return err_set(err, errlen, "%s: %s", a->input, strerror(errno));
    hdf5 = is_hdf5(a->input);
    if (a->baseline >= 0 && hdf5)
        return err_set(err, errlen, "%s is an HDF5 file; --baseline takes "
                       "a configuration (.ini). To evaluate the file, drop "
                       "--baseline", a->input);
    if (a->baseline >= 0) {
        in->kind = (Kind)a->baseline;
        rc = resolve_config(a, in, NULL, err, errlen);
        in->nodes = in->cfg.nodes;
        in->width = in->cfg.width;
    } else if (!hdf5 && !is_checkpoint(a->input)) {
        return err_set(err, errlen, "%s is not an HDF5 file (or its first "
                       "bytes are damaged); give a checkpoint or a "
                       "weights.h5, or a config with --baseline raw|"
                       "untrained", a->input);
    } else if ((is_checkpoint(a->input)
                ? read_checkpoint(a->input, in, &text, err, errlen)
                : read_weights(a->input, in, &text, err, errlen)) == 0) {
        rc = resolve_config(a, in, text, err, errlen);
        if (rc == 0)
            rc = check_consistent(in, err, errlen);
    }
    if (in->kind == KIND_WEIGHTS)
        free(text);
    if (rc == 0)
        rc = check_fits_data(a, in, err, errlen);
    output_paths(a, in);
    return rc;
}

static void input_free(Input *in)
{
    if (in->kind == KIND_CHECKPOINT) {
        ckpt_state_free(&in->ck);
    } else if (in->A) {
        for (int j = 0; j < in->nodes; j++)
            free(in->A[j]);
        free(in->A);
    }
    in->A = NULL;
}

/* ---- printing ---------------------------------------------------------- */

static void print_header(const Args *a, const Input *in, const DataSplit *d,
                         double load_seconds)
{
    const NlpcConfig *c = &in->cfg;

    printf("nlpc_eval: %s\n", a->input);
    if (in->kind == KIND_CHECKPOINT || in->kind == KIND_WEIGHTS)
        printf("input     %s after iteration %d: %d nodes of width %d, "
               "goal at node %d\n", kind_names[in->kind], in->iteration,
               c->nodes, c->width, c->goal_node);
    else if (in->kind == KIND_UNTRAINED)
        printf("input     untrained network: %d nodes of width %d, initial "
               "weights from seed %lu (%s)\n", c->nodes, c->width, c->seed,
               c->init == CFG_INIT_SCALED ? "scaled" : "normal");
    else
        printf("input     raw pixels (standardised: %s)\n",
               c->standardise ? "yes" : "no");
    for (int i = 0; i < a->nsets; i++)
        printf("set       %s\n", a->sets[i]);
    printf("data      %s: %d train, %d validation, %d test images of %d "
           "values (%.2f s to read)\n", c->data_set, d->train.count,
           d->val.count, d->test.count, d->train.dim, load_seconds);
    printf("threads   OpenBLAS %d%s\n", openblas_get_num_threads(),
           openblas_get_num_threads() > 1 ? " (results may differ slightly "
           "from the trainer's, which runs one per rank)" : "");
    fflush(stdout);
}

static void print_confusion(const AssessResult *r)
{
    printf("\nper-class test accuracy (correct / images)\n");
    for (int t = 0; t < DATA_CLASSES; t++) {
        long n = 0;

        for (int p = 0; p < DATA_CLASSES; p++)
            n += r->confusion[t][p];
        if (n > 0)
            printf("  %d  %6.2f%%  %ld/%ld\n", t,
                   100.0 * (double)r->confusion[t][t] / (double)n,
                   r->confusion[t][t], n);
        else
            printf("  %d       -   no test images\n", t);
    }
    printf("\ntest confusion matrix (rows = true class, columns = "
           "predicted)\n    ");
    for (int p = 0; p < DATA_CLASSES; p++)
        printf(" %5d", p);
    printf("\n");
    for (int t = 0; t < DATA_CLASSES; t++) {
        printf("  %d ", t);
        for (int p = 0; p < DATA_CLASSES; p++)
            printf(" %5ld", r->confusion[t][p]);
        printf("\n");
    }
}

static void print_result(const AssessResult *r)
{
    printf("\n# result\n");
    printf("train accuracy       %6.2f%%  (the SVM on its own training "
           "features)\n", 100.0 * r->train_accuracy);
    if (r->val_accuracy >= 0.0)
        printf("validation accuracy  %6.2f%%\n", 100.0 * r->val_accuracy);
    printf("test accuracy        %6.2f%%\n", 100.0 * r->test_accuracy);
    print_confusion(r);
}

/* ---- the JSON record --------------------------------------------------- */

static int json_num_or_null(cJSON *o, const char *name, double v, int null)
{
    return (null ? cJSON_AddNullToObject(o, name)
                 : cJSON_AddNumberToObject(o, name, v)) == NULL;
}

/* per-class accuracies and the confusion matrix of the test set */
static int json_confusion(cJSON *o, const AssessResult *r)
{
    cJSON *per = cJSON_AddArrayToObject(o, "per_class_test_accuracy");
    cJSON *conf = cJSON_AddArrayToObject(o, "test_confusion");
    int bad = !per || !conf;

    for (int t = 0; t < DATA_CLASSES && !bad; t++) {
        cJSON *row = cJSON_CreateArray();
        long n = 0;

        bad |= !row || !cJSON_AddItemToArray(conf, row);
        for (int p = 0; p < DATA_CLASSES && !bad; p++) {
            n += r->confusion[t][p];
            bad |= !cJSON_AddItemToArray(row, cJSON_CreateNumber(
                (double)r->confusion[t][p]));
        }
        bad |= !cJSON_AddItemToArray(per, n > 0
            ? cJSON_CreateNumber((double)r->confusion[t][t] / (double)n)
            : cJSON_CreateNull());
    }
    return bad;
}

static int json_seconds(cJSON *o, const AssessResult *r, double load,
                        double total)
{
    cJSON *s = cJSON_AddObjectToObject(o, "seconds");
    int bad = s == NULL;

    bad = bad || json_num_or_null(s, "read", load, 0);
    bad = bad || json_num_or_null(s, "forward_train",
                                  r->forward_seconds[ASSESS_TRAIN], 0);
    bad = bad || json_num_or_null(s, "forward_validation",
                                  r->forward_seconds[ASSESS_VAL], 0);
    bad = bad || json_num_or_null(s, "forward_test",
                                  r->forward_seconds[ASSESS_TEST], 0);
    bad = bad || json_num_or_null(s, "svm", r->svm_seconds, 0);
    bad = bad || json_num_or_null(s, "total", total, 0);
    return bad;
}

static cJSON *json_record(const Args *a, const Input *in,
                          const DataSplit *d, const AssessResult *r,
                          double load, double total)
{
    const NlpcConfig *c = &in->cfg;
    cJSON *o = cJSON_CreateObject();
    size_t len = cfg_to_string(c, NULL, 0) + 1;
    char *text = malloc(len);
    int trained = in->kind <= KIND_WEIGHTS, bad = o == NULL || !text;

    if (text)
        cfg_to_string(c, text, len);
    bad = bad || !cJSON_AddStringToObject(o, "input", a->input);
    bad = bad || !cJSON_AddStringToObject(o, "kind", kind_names[in->kind]);
    bad = bad || json_num_or_null(o, "iteration", in->iteration, !trained);
    bad = bad || !cJSON_AddStringToObject(o, "data_set", c->data_set);
    bad = bad || json_num_or_null(o, "nodes", c->nodes, in->kind == KIND_RAW);
    bad = bad || json_num_or_null(o, "width", c->width, 0);
    bad = bad || json_num_or_null(o, "train_images", d->train.count, 0);
    bad = bad || json_num_or_null(o, "validation_images", d->val.count, 0);
    bad = bad || json_num_or_null(o, "test_images", d->test.count, 0);
    bad = bad || json_num_or_null(o, "train_accuracy", r->train_accuracy, 0);
    bad = bad || json_num_or_null(o, "validation_accuracy", r->val_accuracy,
                                  r->val_accuracy < 0.0);
    bad = bad || json_num_or_null(o, "test_accuracy", r->test_accuracy, 0);
    bad = bad || json_confusion(o, r);
    bad = bad || json_num_or_null(o, "feature_scale_factor", r->scale, 0);
    bad = bad || json_seconds(o, r, load, total);
    bad = bad || json_num_or_null(o, "openblas_threads",
                                  openblas_get_num_threads(), 0);
    bad = bad || !cJSON_AddStringToObject(o, "model", in->model);
    bad = bad || !cJSON_AddStringToObject(o, "config", text);
    free(text);
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- the run ------------------------------------------------------------ */

/* the evaluation proper; r and *model are set on success */
static int assess(Input *in, const DataSplit *d, AssessResult *r,
                  EvalModel **model, char *err, size_t errlen)
{
    long counts[ASSESS_SETS] = { d->train.count, d->val.count,
                                 d->test.count };
    Trainer *tr;
    NetTopo t;
    int rc;

    if (in->kind == KIND_RAW)
        return assess_pixels(&in->cfg, d, r, model, stdout, err, errlen);
    if (net_init(&t, MPI_COMM_WORLD, in->cfg.nodes, err, errlen) != 0)
        return -1;
    tr = train_new_network(&in->cfg, &t, err, errlen);
    if (!tr)
        return -1;
    if (in->kind != KIND_UNTRAINED)
        train_set_weights(tr, in->A);
    rc = assess_network(tr, &in->cfg, d, counts, 0, r, model, stdout, err,
                        errlen);
    train_free(tr);
    return rc;
}

/* results to the screen, the JSON file and the model file */
static int report(const Args *a, const Input *in, const DataSplit *d,
                  const AssessResult *r, const EvalModel *m, double load,
                  double t0, char *err, size_t errlen)
{
    cJSON *o;
    int rc;

    print_result(r);
    if (eval_svm_save(m, in->model, err, errlen) != 0)
        return -1;
    o = json_record(a, in, d, r, load, now() - t0);
    rc = o ? out_write_json(in->json, o, err, errlen)
           : err_set(err, errlen, "out of memory for the JSON record");
    cJSON_Delete(o);
    if (rc == 0)
        printf("\nwrote %s and %s (%.2f s in all)\n", in->json, in->model,
               now() - t0);
    return rc;
}

static int run(const Args *a)
{
    char err[ERR_LEN] = "";
    Input in;
    DataSplit d;
    AssessResult r;
    EvalModel *m = NULL;
    double t0 = now(), load;
    int rc;

    memset(&in, 0, sizeof(in));
    memset(&d, 0, sizeof(d));
    memset(&r, 0, sizeof(r));
    openblas_set_num_threads(a->threads > 0 ? a->threads
                                            : openblas_get_num_procs());
    rc = read_input(a, &in, err, sizeof(err));
    if (rc == 0)
        rc = data_load(&in.cfg, &d, err, sizeof(err));
    load = now() - t0;
    if (rc == 0)
        print_header(a, &in, &d, load);
    if (rc == 0)
        rc = assess(&in, &d, &r, &m, err, sizeof(err));
    if (rc == 0)
        rc = report(a, &in, &d, &r, m, load, t0, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "nlpc_eval: error: %s\n", err);
    eval_svm_free(m);
    data_free(&d);
    input_free(&in);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    char err[ERR_LEN];
    Args a;
    int rank, size, rc;

    blas_pick_kernels(argv);
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rc = parse_args(argc, argv, &a, err, sizeof(err)) != 0 ? 2 : 0;
    if (rc != 0 && rank == 0)
        fprintf(stderr, "nlpc_eval: error: %s\n", err);
    else if (a.help && rank == 0)
        usage(stdout);
    else if (!a.help && size != 1) {
        rc = 2;
        if (rank == 0)
            fprintf(stderr, "nlpc_eval: error: it runs as one process, "
                    "not %d: start it as `bin/nlpc_eval FILE` or "
                    "`mpirun -np 1 bin/nlpc_eval FILE`\n", size);
    } else if (!a.help) {
        rc = run(&a);
    }
    MPI_Finalize();
    return rc;
}
