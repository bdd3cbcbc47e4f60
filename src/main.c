/*
 * main.c - the nlpc_mpi command: parse the command line and the
 * configuration on rank 0, share it, load the data, train, evaluate with a
 * linear SVM, and write the weights and summary.json.
 *
 * Only this file decides to stop the program. Before training starts an
 * error on rank 0 is shared with every rank, which then exit non-zero
 * together; during training a fatal error ends the job with MPI_Abort.
 */
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assess.h"
#include "blas.h"
#include "config.h"
#include "data.h"
#include "errmsg.h"
#include "net.h"
#include "loop.h"
#include "output.h"
#include "train.h"

#define NLPC_VERSION "0.1.0"
#define MAX_SETS 64

typedef struct {
    const char *config;
    const char *sets[MAX_SETS];
    int nsets;
    int dry_run;
    int help;
    int version;
} Args;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mpirun -np L nlpc_mpi [--set section.key=value ...] "
        "[--dry-run] config.ini\n"
        "       nlpc_mpi --help | --version\n\n"
        "Trains a feed-forward network of L nodes without back-propagation\n"
        "(sparsifying transforms, a discrimination goal and local\n"
        "propagation constraints), one MPI rank per node or all nodes in\n"
        "one rank, then reports the test accuracy of a linear SVM on the\n"
        "last node's outputs.\n\n"
        "  --set section.key=value  override one configuration key\n"
        "  --dry-run                check configuration and data, print\n"
        "                           the plan, and exit\n"
        "  --help                   this text and every configuration key\n"
        "  --version                the program's version\n\n"
        "The run writes <output.dir>/log.csv, weights.h5 and "
        "summary.json.\n\n");
}

/* returns 0, or -1 with a message in err */
static int parse_args(int argc, char **argv, Args *a, char *err,
                      size_t errlen)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];

        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            a->help = 1;
        } else if (!strcmp(s, "--version")) {
            a->version = 1;
        } else if (!strcmp(s, "--dry-run")) {
            a->dry_run = 1;
        } else if (!strcmp(s, "--set") || !strncmp(s, "--set=", 6)) {
            const char *v = s[5] == '=' ? s + 6 : (i + 1 < argc
                                                   ? argv[++i] : NULL);
            if (!v || !strchr(v, '=') || a->nsets == MAX_SETS) {
                snprintf(err, errlen, "--set needs section.key=value, got "
                         "'%s' (at most %d of them)", v ? v : "", MAX_SETS);
                return -1;
            }
            a->sets[a->nsets++] = v;
        } else if (s[0] == '-') {
            snprintf(err, errlen, "unknown option '%s' (see --help)", s);
            return -1;
        } else if (a->config) {
            snprintf(err, errlen, "two configuration files given: '%s' "
                     "and '%s'", a->config, s);
            return -1;
        } else {
            a->config = s;
        }
    }
    if (!a->config && !a->help && !a->version) {
        snprintf(err, errlen, "no configuration file given; try "
                 "configs/mnist_sync_6n_g6.ini (see --help)");
        return -1;
    }
    return 0;
}

/* rank 0: defaults, the file, the overrides, the cross-key checks */
static int resolve_config(const Args *a, NlpcConfig *c, char *err,
                          size_t errlen)
{
    cfg_defaults(c);
    if (cfg_load(c, a->config, err, errlen) != 0)
        return -1;
    for (int i = 0; i < a->nsets; i++)
        if (cfg_set(c, a->sets[i], err, errlen) != 0)
            return -1;
    return cfg_finalize(c, err, errlen);
}

/* every rank learns whether rank 0 succeeded; collective */
static int agree(int ok)
{
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return ok;
}

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[CFG_PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; ; p++) {
        char c = *p;

        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create output directory '%s': "
                     "%s; set [output] dir", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            return 0;
    }
}

static void print_plan(const NlpcConfig *c, const DataSplit *d, int size)
{
    long n_train = d->train.count;
    double k = c->batch_fraction * (double)n_train;
    long K = k < 1.0 ? 1 : (long)(k + 0.5);
    double blk = (double)c->width * (double)K * 8.0 / 1e6;

    printf("# resolved configuration\n");
    cfg_write_ini(c, stdout);
    printf("\n# plan\n");
    printf("data       %s: %ld train, %ld validation, %ld test images "
           "of %d values\n", c->data_set, n_train, (long)d->val.count,
           (long)d->test.count, d->train.dim);
    printf("network    %d nodes of width %d, goal at node %d\n", c->nodes,
           c->width, c->goal_node);
    int per = (c->nodes + size - 1) / size;

    printf("ranks      %d (%s)\n", size, size == 1 ? "every node in one "
           "process" : size == c->nodes ? "one rank per node"
           : "contiguous blocks of nodes per rank");
    printf("schedule   %s, %d iterations, batches of %ld images\n",
           c->mode == CFG_MODE_SYNC ? "sync" : "async", c->iterations, K);
    printf("memory     about %.0f MB per node, %.0f MB per process (one "
           "%d x %ld block is %.0f MB)\n", 10.0 * blk,
           10.0 * blk * per, c->width, K, blk);
    fflush(stdout);
}

/* rank 0: weights.h5 and summary.json; returns 0 or -1 */
static int write_outputs(Trainer *tr, const NlpcConfig *c,
                         const OutSummary *s, int rank, char *err,
                         size_t errlen)
{
    size_t nn = (size_t)c->width * c->width;
    double *A[64] = { 0 };
    char path[CFG_PATH_MAX + 16];
    int rc = 0;

    for (int j = 0; rank == 0 && j < c->nodes; j++)
        if (!(A[j] = malloc(nn * sizeof(double))))
            rc = -1;
    if (rank == 0 && rc != 0) {
        snprintf(err, errlen, "out of memory gathering the weights");
        return -1;
    }
    train_gather_weights(tr, A);
    if (rank == 0) {
        snprintf(path, sizeof(path), "%s/weights.h5", c->out_dir);
        rc = out_write_weights(path, c, A, s->iterations_done, err, errlen);
        snprintf(path, sizeof(path), "%s/summary.json", c->out_dir);
        if (rc == 0)
            rc = out_write_summary(path, c, s, err, errlen);
    }
    for (int j = 0; j < c->nodes; j++)
        free(A[j]);
    return rc;
}

/* rank 0: configuration, data and output directory; 0 or -1 with err */
static int prepare(const Args *a, NlpcConfig *c, DataSplit *d,
                   char *err, size_t errlen)
{
    char path[CFG_PATH_MAX + 16];
    double k;

    if (resolve_config(a, c, err, errlen) != 0)
        return -1;
    if (data_load(c, d, err, errlen) != 0)
        return -1;
    k = c->batch_fraction * d->train.count;
    if (k + 0.5 < DATA_CLASSES)
        return err_set(err, errlen, "train.batch_fraction = %g of %d "
                       "training images gives batches of %.0f, fewer than "
                       "the %d classes; raise batch_fraction",
                       c->batch_fraction, d->train.count, k, DATA_CLASSES);
    if (mkdir_p(c->out_dir, err, errlen) != 0
        || mkdir_p(c->ckpt_dir, err, errlen) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/summary.json", c->out_dir);
    if (!a->dry_run && access(path, F_OK) == 0)
        fprintf(stderr, "WARNING: %s holds an earlier run's summary.json "
                "and weights.h5; this run replaces them if it finishes\n",
                c->out_dir);
    return 0;
}

static void fail(int rank, const char *err)
{
    if (rank == 0)
        fprintf(stderr, "nlpc_mpi: error: %s\n", err);
}

/* ran: iterations trained by this run (fewer than done when resumed) */
static void print_result(const NlpcConfig *c, const OutSummary *s, int ran)
{
    printf("\n# result\n");
    printf("train %.1f s (%.2f s/iteration), evaluation %.1f s "
           "(forward %.1f s, SVM %.1f s)\n", s->train_seconds,
           s->train_seconds / (ran > 0 ? ran : 1),
           s->eval_seconds, s->forward_seconds,
           s->eval_seconds - s->forward_seconds);
    if (s->val_accuracy >= 0.0)
        printf("validation accuracy %.2f%%\n", 100.0 * s->val_accuracy);
    printf("test accuracy %.2f%%  (SVM train accuracy %.2f%%)\n",
           100.0 * s->test_accuracy, 100.0 * s->train_accuracy);
    printf("wrote %s/weights.h5, summary.json, log.csv\n", c->out_dir);
}

/* NLPC_TEST_INJECT_NAN="l:it" puts a NaN into node l's weight at
 * iteration it: a test hook for the failure path, off when unset */
static void fault_from_env(Trainer *tr)
{
    const char *v = getenv("NLPC_TEST_INJECT_NAN");
    int l, it;

    if (v && sscanf(v, "%d:%d", &l, &it) == 2)
        train_set_fault(tr, l, it);
}

/* collective: resume or start, train, then evaluate and write unless a
 * signal stopped training; returns the exit status */
static int train_evaluate_write(const NlpcConfig *c, const DataSplit *d,
                                const NetTopo *t, const long counts[3])
{
    char err[CFG_ERR_MAX * 2] = "";
    OutSummary s = { .ranks = t->size };
    AssessResult r;
    Trainer *tr = train_new(c, t, t->rank == 0 ? &d->train : NULL,
                            counts[0], err, sizeof(err));
    LoopResult lr;
    int start;
    double t_eval;

    if (!tr)
        net_fatal(t, t->rank + 1, "%s", err);
    memset(&r, 0, sizeof(r));
    fault_from_env(tr);
    start = loop_resume(tr, c, t, err, sizeof(err));
    if (start < 0) {
        if (t->rank == 0)
            fprintf(stderr, "nlpc_mpi: error: %s\n", err);
        train_free(tr);
        return 1;
    }
    if (t->rank == 0)
        printf("\n# training\n");
    loop_train(tr, c, t, d, counts, start, &lr);
    if (lr.stopped) {
        train_free(tr);
        return lr.checkpointed ? 0 : 1;
    }
    s.train_seconds = lr.train_seconds;
    s.final_goal_error = lr.final_goal;
    s.iterations_done = lr.done;
    s.resumed_from = start;

    t_eval = MPI_Wtime();
    if (assess_network(tr, c, d, counts, t->rank, &r, NULL, NULL, err,
                       sizeof(err)) != 0)
        net_fatal(t, 1, "evaluation: %s", err);
    net_barrier(t);
    s.eval_seconds = MPI_Wtime() - t_eval;
    s.forward_seconds = r.forward_seconds[ASSESS_TRAIN]
                        + r.forward_seconds[ASSESS_VAL]
                        + r.forward_seconds[ASSESS_TEST];
    s.train_accuracy = r.train_accuracy;
    s.val_accuracy = r.val_accuracy;
    s.test_accuracy = r.test_accuracy;
    if (write_outputs(tr, c, &s, t->rank, err, sizeof(err)) != 0)
        net_fatal(t, 1, "%s", err);
    net_barrier(t);
    if (t->rank == 0)
        print_result(c, &s, lr.done - start);
    train_free(tr);
    return 0;
}

static int run(const Args *a, int rank, int size)
{
    NlpcConfig c;
    DataSplit d;
    NetTopo t;
    char err[CFG_ERR_MAX * 2] = "";
    long counts[3] = { 0, 0, 0 };
    int rc = 1;

    memset(&c, 0, sizeof(c));
    memset(&d, 0, sizeof(d));

    /* rank 0 reads and checks; every rank learns the outcome */
    if (!agree(rank != 0 || prepare(a, &c, &d, err, sizeof(err)) == 0))
        goto out;
    MPI_Bcast(&c, (int)sizeof(c), MPI_BYTE, 0, MPI_COMM_WORLD);
    if (net_init(&t, MPI_COMM_WORLD, c.nodes, err, sizeof(err)) != 0)
        goto out;
    counts[0] = d.train.count;
    counts[1] = d.val.count;
    counts[2] = d.test.count;
    MPI_Bcast(counts, 3, MPI_LONG, 0, MPI_COMM_WORLD);
    if (rank == 0)
        print_plan(&c, &d, size);
    if (a->dry_run && rank == 0)
        printf("dry run: configuration and data are valid\n");
    rc = a->dry_run ? 0 : train_evaluate_write(&c, &d, &t, counts);
    data_free(&d);
    return rc;
out:
    fail(rank, err);
    data_free(&d);
    return rc;
}

int main(int argc, char **argv)
{
    Args a;
    char err[CFG_ERR_MAX];
    int rank, size, rc;

    blas_pick_kernels(argv);
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    loop_signals_install(rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (parse_args(argc, argv, &a, err, sizeof(err)) != 0) {
        fail(rank, err);
        MPI_Finalize();
        return 2;
    }
    if (a.help || a.version) {
        if (rank == 0 && a.version)
            printf("nlpc_mpi %s\n", NLPC_VERSION);
        if (rank == 0 && a.help) {
            usage(stdout);
            cfg_help(stdout);
        }
        MPI_Finalize();
        return 0;
    }
    rc = run(&a, rank, size);
    MPI_Finalize();
    return rc;
}
