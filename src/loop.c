/*
 * loop.c - the training run: resume, loop, checkpoints, signals (loop.h).
 *
 * Checkpoints hold everything a bit-exact continuation needs (train.h's
 * train_state_save) and are written by rank 0 under a temporary name,
 * renamed when complete (ckpt.c), so a kill at any moment leaves the
 * newest complete checkpoint valid.
 *
 * Signals: mpirun forwards SIGUSR1 to every rank; SIGTERM too, followed
 * by SIGKILL about two seconds later. The handlers only record the
 * signal. After each iteration rank 0 decides for all: on SIGUSR1 write a
 * checkpoint and stop; on SIGTERM write one only if the last write took
 * under TERM_BUDGET seconds, else stop without one. A second signal ends
 * each process at once.
 */
#include "loop.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "engine.h"
#include "errmsg.h"
#include "assess.h"
#include "runlog.h"

#define TERM_BUDGET 1.5     /* seconds after SIGTERM a checkpoint may end */
#define FP_MAX 16384        /* longest configuration fingerprint */

static volatile sig_atomic_t signal_count;
static volatile sig_atomic_t signal_last;
static struct timespec signal_time;     /* set before signal_last */

static volatile sig_atomic_t signal_root;   /* this process is rank 0 */

static void on_signal(int sig)
{
    static const char msg[] = "nlpc_mpi: second signal, stopping now\n";
    static const char first[] = "nlpc_mpi: signal received: stopping "
        "after this iteration (with a checkpoint on SIGUSR1, or on SIGTERM "
        "if there is time before the kill)\n";

    if (signal_count == 0)
        clock_gettime(CLOCK_MONOTONIC, &signal_time);
    signal_last = sig;
    if (++signal_count < 2) {
        if (signal_root)
            (void)!write(STDERR_FILENO, first, sizeof(first) - 1);
        return;
    }
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(128 + sig);
}

void loop_signals_install(int rank)
{
    struct sigaction sa;

    signal_root = rank == 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- resume --------------------------------------------------------- */

/* every weight and block of s is finite */
static int state_finite(const CkptState *s)
{
    size_t nn = (size_t)s->width * s->width;

    for (int l = 0; l < s->nodes; l++)
        if (!eng_all_finite(s->A[l], nn) || !eng_all_finite(s->A_prev[l], nn)
            || (s->B[l] && !eng_all_finite(s->B[l], nn))
            || (s->Yprev[l] && !eng_all_finite(s->Yprev[l],
                                               nn / s->width * s->batch)))
            return 0;
    return 1;
}

/* rank 0: read and check one checkpoint; 0 or -1 with err */
static int resume_try(const char *path, Trainer *tr, const NlpcConfig *c,
                      const char *fp, CkptState *s, char *err,
                      size_t errlen)
{
    if (ckpt_read(path, s, err, errlen) != 0)
        return -1;
    if (s->iteration > c->iterations)
        err_set(err, errlen, "%s: after iteration %d, beyond this run's "
                "train.iterations = %d", path, s->iteration, c->iterations);
    else if (!state_finite(s))
        err_set(err, errlen, "%s: holds NaN or Inf; it is damaged or was "
                "written by a run that diverged", path);
    else if (ckpt_check(s, c->nodes, c->width, train_batch_size(tr), fp,
                        path, err, errlen) == 0)
        return 0;
    ckpt_state_free(s);
    return -1;
}

/* rank 0, resume = auto: the newest valid checkpoint, warning about each
 * refused one; 1 found, 0 none there, -1 none valid among some */
static int resume_auto(Trainer *tr, const NlpcConfig *c, const char *fp,
                       CkptState *s, char *err, size_t errlen)
{
    char **paths = NULL, why[CFG_ERR_MAX];
    int n = ckpt_list(c->ckpt_dir, &paths), found = 0;

    for (int i = 0; i < n && !found; i++) {
        found = resume_try(paths[i], tr, c, fp, s, why, sizeof(why)) == 0;
        if (!found)
            fprintf(stderr, "WARNING: skipping checkpoint: %s\n", why);
    }
    if (n > 0 && !found)
        err_set(err, errlen, "%s holds %d checkpoint(s) but none fits "
                "this run (see the warnings); remove them or set "
                "[checkpoint] dir to another directory", c->ckpt_dir, n);
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return found ? 1 : n > 0 ? -1 : 0;
}

/* rank 0: 1 with s loaded, 0 to start afresh, -1 with err */
static int resume_pick(Trainer *tr, const NlpcConfig *c, CkptState *s,
                       char *err, size_t errlen)
{
    static char fp[FP_MAX];
    char **paths = NULL;
    int n;

    ckpt_remove_partial(c->ckpt_dir);
    if (cfg_fingerprint(c, fp, sizeof(fp)) >= sizeof(fp))
        return err_set(err, errlen, "configuration too long to "
                       "fingerprint");
    if (!strcmp(c->resume, "auto"))
        return resume_auto(tr, c, fp, s, err, errlen);
    if (strcmp(c->resume, "never") != 0)
        return resume_try(c->resume, tr, c, fp, s, err, errlen) == 0
               ? 1 : -1;
    n = ckpt_list(c->ckpt_dir, &paths);
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    if (n > 0)
        return err_set(err, errlen, "%s holds checkpoints of an earlier "
                       "run and checkpoint.resume = never; continue it with "
                       "--set checkpoint.resume=auto, or remove them or set "
                       "[checkpoint] dir to start afresh", c->ckpt_dir);
    return 0;
}

int loop_resume(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                char *err, size_t errlen)
{
    CkptState s;
    int pick = 0, start = 0;

    memset(&s, 0, sizeof(s));
    if (t->rank == 0)
        pick = resume_pick(tr, c, &s, err, errlen);
    net_bcast(t, &pick, 1, MPI_INT);
    if (pick <= 0)
        return pick;
    start = train_state_load(tr, &s);
    if (t->rank == 0 && start < 0)
        err_set(err, errlen, "checkpoint's sampler state does not fit the "
                "training data; was data.* changed?");
    if (t->rank == 0 && start >= 0)
        printf("resumed from the checkpoint after iteration %d\n", start);
    if (t->rank == 0)
        ckpt_state_free(&s);
    return start;
}

/* ---- checkpoints and the loop ---------------------------------------- */

/* write a checkpoint after `done` iterations; its seconds on rank 0 */
static double checkpoint(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                         int done, char *path, size_t pathlen)
{
    static char text[FP_MAX], fp[FP_MAX];
    char err[CFG_ERR_MAX];
    double t0 = MPI_Wtime();
    CkptState s;

    train_state_save(tr, done, &s);
    if (t->rank != 0)
        return 0.0;
    cfg_to_string(c, text, sizeof(text));
    cfg_fingerprint(c, fp, sizeof(fp));
    s.config = text;
    s.fingerprint = fp;
    if (ckpt_write(c->ckpt_dir, c->ckpt_keep, &s, err, sizeof(err)) != 0)
        net_fatal(t, 1, "checkpoint after iteration %d: %s", done, err);
    s.config = s.fingerprint = NULL;
    ckpt_state_free(&s);
    snprintf(path, pathlen, "%s/ckpt-%08d.h5", c->ckpt_dir, done);
    return MPI_Wtime() - t0;
}

/* seconds since the first signal */
static double since_signal(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - signal_time.tv_sec)
           + 1e-9 * (double)(now.tv_nsec - signal_time.tv_nsec);
}

/* rank 0's decision after an iteration, the same on every rank:
 * 0 go on, 1 checkpoint and stop, 2 stop without a checkpoint. After
 * SIGTERM a checkpoint is written only if, at the speed of the last one,
 * it ends within TERM_BUDGET seconds of the signal, before mpirun's
 * SIGKILL. */
static int decide(const NetTopo *t, double last_write)
{
    int d = 0;

    if (t->rank == 0 && signal_last == SIGUSR1)
        d = 1;
    else if (t->rank == 0 && signal_last == SIGTERM)
        d = last_write > 0.0 && since_signal() + last_write < TERM_BUDGET
            ? 1 : 2;
    net_bcast(t, &d, 1, MPI_INT);
    return d;
}

/* sum of term k over the nodes that were updated */
static double term_sum(const TrainStats *st, int nodes, int k)
{
    double sum = 0.0;

    for (int l = 0; l < nodes; l++)
        if (!isnan(st->terms[l][k]))
            sum += st->terms[l][k];
    return sum;
}

static void print_progress(int it, int start, int total, double dt,
                           double elapsed, const TrainStats *st, int nodes)
{
    double eta = elapsed / (it + 1 - start) * (total - it - 1);

    printf("iter %4d/%d %6.2f s  ETA %3dm%02ds  goal %.4f  te %.3e  "
           "prop %+.2e  J %+.4e  upd %d/%d", it + 1, total, dt,
           (int)(eta / 60), (int)eta % 60, st->goal_error,
           term_sum(st, nodes, TERM_TRANSFORM),
           term_sum(st, nodes, TERM_PROPAGATION),
           term_sum(st, nodes, TERM_OBJECTIVE), st->updated, nodes);
    if (!isnan(st->val_acc))
        printf("  val %.2f%%", 100.0 * st->val_acc);
    putchar('\n');
    fflush(stdout);
}

static void print_stop(const NlpcConfig *c, int done, int wrote,
                       const char *path)
{
    if (wrote)
        printf("stopped by a signal after iteration %d of %d; checkpoint "
               "%s\nto continue, run the same command again with "
               "checkpoint.resume = auto (the default)\n", done,
               c->iterations, path);
    else
        fprintf(stderr, "nlpc_mpi: stopped by SIGTERM after iteration %d "
                "without a checkpoint (too little time before the kill); "
                "the newest complete checkpoint in %s is still valid\n",
                done, c->ckpt_dir);
    fflush(stdout);
}

/* after iteration `done`: periodic, final or signalled checkpoint; returns
 * 1 when the loop must stop */
static int after_iteration(Trainer *tr, const NlpcConfig *c,
                           const NetTopo *t, int done, double *last_write,
                           LoopResult *res)
{
    char path[CFG_PATH_MAX + 32] = "";
    int d = decide(t, *last_write);
    int due = done == c->iterations
              || (c->ckpt_every > 0 && done % c->ckpt_every == 0);

    if (d == 1 || (d == 0 && due)) {
        *last_write = checkpoint(tr, c, t, done, path, sizeof(path));
        net_bcast(t, last_write, 1, MPI_DOUBLE);
    }
    if (d == 0)
        return 0;
    res->stopped = 1;
    res->checkpointed = d == 1;
    if (t->rank == 0)
        print_stop(c, done, d == 1, path);
    return 1;
}

void loop_train(Trainer *tr, const NlpcConfig *c, const NetTopo *t,
                const DataSplit *d, const long counts[3], int start,
                LoopResult *res)
{
    char err[CFG_ERR_MAX];
    RunLog *log = NULL;
    double t0 = MPI_Wtime(), prev = t0, last_write = 0.0;

    memset(res, 0, sizeof(*res));
    res->final_goal = NAN;
    res->done = start;
    if (t->rank == 0 && !(log = runlog_open(c->out_dir, c->nodes, start,
                                            err, sizeof(err))))
        fprintf(stderr, "WARNING: %s; no run log\n", err);
    for (int it = start; it < c->iterations; it++) {
        TrainStats st;
        double now;

        train_step(tr, it, &st);
        now = MPI_Wtime();
        st.val_acc = NAN;
        if (c->monitor_every > 0 && (it + 1) % c->monitor_every == 0) {
            st.val_acc = assess_monitor(tr, c, d, counts, t->rank);
            res->monitor_seconds += MPI_Wtime() - now;
        }
        if (t->rank == 0) {
            print_progress(it, start, c->iterations, now - prev,
                           now - t0 - res->monitor_seconds, &st, c->nodes);
            runlog_row(log, it + 1, now - prev, &st);
            res->final_goal = st.goal_error;
        }
        res->done = it + 1;
        if (after_iteration(tr, c, t, it + 1, &last_write, res))
            break;
        prev = MPI_Wtime();
    }
    runlog_close(log);
    res->train_seconds = MPI_Wtime() - t0 - res->monitor_seconds;
}
