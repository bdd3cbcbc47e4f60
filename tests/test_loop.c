/*
 * test_loop.c - checkpoints, resume, signals and failures of whole runs
 * under mpirun: a run stopped by SIGUSR1, killed with kill -9 or killed in
 * the middle of a checkpoint write and then resumed ends with the same
 * weights, bit for bit, as an uninterrupted run; bad checkpoints are
 * skipped or refused with a message; a NaN ends every rank promptly and
 * leaves the last good checkpoint; blocks of full width and batch cross
 * the halo exchange without deadlock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "harness.h"

#define ITERS 1000
#define LONG_RUN "--set train.iterations=1000 --set checkpoint.every=50 "

/* the uninterrupted reference, trained once for the whole group */
static void reference(void)
{
    static int done;

    if (!done)
        train_with(3, TMP "/ref", LONG_RUN);
    done = 1;
}

static int log_rows(const char *dir)
{
    char path[256], line[16384];
    FILE *f;
    int rows = -1;

    snprintf(path, sizeof(path), "%s/log.csv", dir);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        rows++;
    fclose(f);
    return rows;
}

/* start a 3-rank run of configs/tiny.ini in its own process group */
static pid_t start_run(const char *out, const char *extra)
{
    char cmd[1024];
    pid_t pid;

    snprintf(cmd, sizeof(cmd), "exec " MPIRUN "-np 3 " PROG
             "--set output.dir=%s %s configs/tiny.ini > %s.log 2>&1", out,
             extra, out);
    pid = fork();
    if (pid == 0) {
        setsid();
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* wait until the run's log has at least `rows` iterations (60 s at most) */
static void wait_rows(const char *out, int rows)
{
    struct timespec nap = { 0, 20000000 };

    for (int i = 0; i < 3000 && log_rows(out) < rows; i++)
        nanosleep(&nap, NULL);
    assert_true(log_rows(out) >= rows);
}

static int finish(pid_t pid)
{
    int st;

    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void resume_and_compare(const char *out)
{
    train_with(3, out, LONG_RUN);
    assert_same_weights(TMP "/ref", out);
    assert_int_equal(log_rows(out), ITERS);
}

static void usr1_stop_then_resume_is_bitwise_the_same(void **state)
{
    const char *out = TMP "/usr1";
    pid_t pid;

    (void)state;
    reference();
    pid = start_run(out, LONG_RUN);
    wait_rows(out, 30);
    kill(pid, SIGUSR1);
    assert_int_equal(finish(pid), 0);
    assert_true(file_mentions(TMP "/usr1.log", "stopped by a signal"));
    assert_true(log_rows(out) < ITERS);
    resume_and_compare(out);
    assert_true(file_mentions(TMP "/usr1.log", "resumed from"));
}

static void kill9_then_auto_resume_is_bitwise_the_same(void **state)
{
    const char *out = TMP "/kill9";
    char cmd[64];
    pid_t pid;

    (void)state;
    reference();
    pid = start_run(out, LONG_RUN);
    wait_rows(out, 120);
    /* every process of the job's session: mpirun and its ranks */
    snprintf(cmd, sizeof(cmd), "pkill -KILL -s %d", (int)pid);
    assert_int_equal(system(cmd), 0);
    finish(pid);
    assert_true(log_rows(out) < ITERS);
    resume_and_compare(out);
}

static void kill_inside_a_checkpoint_write_then_resume(void **state)
{
    const char *out = TMP "/killckpt";
    char **paths = NULL;
    int n;
    pid_t pid;

    (void)state;
    reference();
    /* rank 0 kills itself with SIGKILL half way through writing the
     * checkpoint after iteration 100 (a test hook in ckpt.c) */
    setenv("NLPC_TEST_KILL_IN_CKPT", "100", 1);
    pid = start_run(out, LONG_RUN);
    assert_int_not_equal(finish(pid), 0);
    unsetenv("NLPC_TEST_KILL_IN_CKPT");
    n = ckpt_list(TMP "/killckpt/checkpoints", &paths);
    assert_int_equal(n, 1);         /* iteration 50 only; no .tmp listed */
    assert_non_null(strstr(paths[0], "ckpt-00000050.h5"));
    free(paths[0]);
    free(paths);
    assert_true(access(TMP "/killckpt/checkpoints/ckpt-00000100.h5.tmp",
                       F_OK) == 0);
    resume_and_compare(out);
    /* the resumed run removed the partial file */
    assert_true(access(TMP "/killckpt/checkpoints/ckpt-00000100.h5.tmp",
                       F_OK) != 0);
}

static void truncated_newest_checkpoint_is_skipped(void **state)
{
    const char *out = TMP "/trunc";
    const char *short_run = "--set train.iterations=6 "
                            "--set checkpoint.every=2 ";
    const char *longer = "--set train.iterations=8 "
                         "--set checkpoint.every=2 ";

    (void)state;
    train_with(1, out, short_run);
    assert_int_equal(truncate(TMP "/trunc/checkpoints/ckpt-00000006.h5",
                              2000), 0);
    train_with(1, out, longer);
    assert_true(file_mentions(TMP "/trunc.log", "skipping checkpoint"));
    assert_true(file_mentions(TMP "/trunc.log", "ckpt-00000006.h5"));
    assert_true(file_mentions(TMP "/trunc.log",
                              "resumed from the checkpoint after iteration 4"));

    /* a shorter run skips the checkpoints beyond its iterations */
    train_with(1, out, "--set train.iterations=5 --set checkpoint.every=2");
    assert_true(file_mentions(TMP "/trunc.log", "beyond this run's"));
    assert_true(file_mentions(TMP "/trunc.log",
                              "resumed from the checkpoint after iteration 4"));
}

static void checkpoint_of_another_configuration_is_refused(void **state)
{
    char cmd[512];

    (void)state;
    train_with(1, TMP "/other", "--set train.iterations=2");
    snprintf(cmd, sizeof(cmd), MPIRUN "-np 1 " PROG "--set output.dir=%s "
             "--set train.iterations=4 --set train.l2=1 configs/tiny.ini",
             TMP "/other");
    assert_int_not_equal(run(cmd, TMP "/other2.log"), 0);
    assert_true(file_mentions(TMP "/other2.log", "l2 = 34"));
    assert_true(file_mentions(TMP "/other2.log", "l2 = 1"));
    assert_true(file_mentions(TMP "/other2.log", "none fits"));
}

static void injected_nan_stops_every_rank_and_keeps_checkpoints(void **state)
{
    char cmd[512], err[512];
    CkptState s;
    time_t t0 = time(NULL);
    struct stat sb;

    (void)state;
    snprintf(cmd, sizeof(cmd), "NLPC_TEST_INJECT_NAN=2:7 timeout 60 "
             MPIRUN "-np 3 " PROG "--set output.dir=%s "
             "--set train.iterations=20 --set checkpoint.every=5 "
             "configs/tiny.ini", TMP "/nan");
    /* non-zero, and not timeout's 124: every rank ended by itself */
    {
        int rc = run(cmd, TMP "/nan.log");

        assert_int_not_equal(rc, 0);
        assert_int_not_equal(rc, 124);
    }
    assert_true(time(NULL) - t0 < 30);
    assert_true(file_mentions(TMP "/nan.log", "node 2"));
    assert_true(file_mentions(TMP "/nan.log", "iteration 7"));
    assert_int_equal(ckpt_read(TMP "/nan/checkpoints/ckpt-00000005.h5", &s,
                               err, sizeof(err)), 0);
    assert_int_equal(s.iteration, 5);
    ckpt_state_free(&s);
    assert_int_not_equal(stat(TMP "/nan/checkpoints/ckpt-00000010.h5", &sb),
                         0);
}

/* nogoal = diffuse runs away on the tiny set (its transform error grows
 * from about 10 to 1e7 by iteration 21): the run stops with the numbers
 * and the hint, every rank ends, the checkpoint of iteration 15 stays,
 * and no weights.h5 or summary.json is written */
static void runaway_iteration_stops_with_its_numbers(void **state)
{
    char cmd[512], path[256];
    struct stat sb;
    int rc;

    (void)state;
    snprintf(cmd, sizeof(cmd), "timeout 60 " MPIRUN "-np 3 " PROG
             "--set output.dir=%s --set train.iterations=40 "
             "--set train.nogoal=diffuse --set checkpoint.every=5 "
             "configs/tiny.ini", TMP "/runaway");
    rc = run(cmd, TMP "/runaway.log");
    assert_int_not_equal(rc, 0);
    assert_int_not_equal(rc, 124);
    assert_true(file_mentions(TMP "/runaway.log", "running away"));
    assert_true(file_mentions(TMP "/runaway.log", "at its first update"));
    assert_true(file_mentions(TMP "/runaway.log", "train.nogoal = zero"));
    snprintf(path, sizeof(path), "%s/checkpoints/ckpt-00000015.h5",
             TMP "/runaway");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_not_equal(stat(TMP "/runaway/weights.h5", &sb), 0);
    assert_int_not_equal(stat(TMP "/runaway/summary.json", &sb), 0);
}

/* 28 x 28 images: blocks of 784 x 9000 doubles (56 MB) in every message,
 * far above Open MPI's 4 KB shared-memory eager limit */
static void write_wide_data(const char *dir, int n)
{
    char path[256];
    uint8_t h[16] = { 0, 0, 8, 3 }, *px = malloc((size_t)n * 784);
    FILE *f;

    for (size_t i = 0; i < (size_t)n * 784; i++)
        px[i] = (uint8_t)((i * 2654435761u >> 13) % 251);
    for (int i = 0; i < n; i++)
        px[(size_t)i * 784 + (i % 10) * 70] = 255;
    h[4] = (uint8_t)(n >> 24); h[5] = (uint8_t)(n >> 16);
    h[6] = (uint8_t)(n >> 8); h[7] = (uint8_t)n;
    h[11] = 28; h[15] = 28;
    for (int set = 0; set < 2; set++) {
        snprintf(path, sizeof(path), "%s/%s-images-idx3-ubyte", dir,
                 set ? "t10k" : "train");
        f = fopen(path, "wb");
        fwrite(h, 1, 16, f);
        fwrite(px, 1, (size_t)n * 784, f);
        fclose(f);
        snprintf(path, sizeof(path), "%s/%s-labels-idx1-ubyte", dir,
                 set ? "t10k" : "train");
        f = fopen(path, "wb");
        fwrite((uint8_t[8]){ 0, 0, 8, 1, h[4], h[5], h[6], h[7] }, 1, 8, f);
        for (int i = 0; i < n; i++)
            fputc(i % 10, f);
        fclose(f);
    }
    free(px);
}

static void full_width_full_batch_halo_does_not_deadlock(void **state)
{
    const char *opt = "--set data.dir=" TMP "/wide --set network.width=784 "
                      "--set data.validation=0 --set train.batch_fraction=1 "
                      "--set train.iterations=1 --set network.goal_node=2 "
                      "--set data.test_limit=100 --set eval.eval_chunk=3000";
    char cmd[1024];

    (void)state;
    mkdir(TMP "/wide", 0777);
    write_wide_data(TMP "/wide", 9000);
    for (int np = 1; np <= 3; np += 2) {
        snprintf(cmd, sizeof(cmd), "timeout 300 " MPIRUN "-np %d "
                 "bin/nlpc_mpi --set output.dir=%s/wide%d %s "
                 "configs/tiny.ini", np, TMP, np, opt);
        assert_int_equal(run(cmd, TMP "/wide.log"), 0);
    }
    assert_same_weights(TMP "/wide1", TMP "/wide3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usr1_stop_then_resume_is_bitwise_the_same),
        cmocka_unit_test(kill9_then_auto_resume_is_bitwise_the_same),
        cmocka_unit_test(kill_inside_a_checkpoint_write_then_resume),
        cmocka_unit_test(truncated_newest_checkpoint_is_skipped),
        cmocka_unit_test(checkpoint_of_another_configuration_is_refused),
        cmocka_unit_test(injected_nan_stops_every_rank_and_keeps_checkpoints),
        cmocka_unit_test(runaway_iteration_stops_with_its_numbers),
        cmocka_unit_test(full_width_full_batch_halo_does_not_deadlock),
    };

    return cmocka_run_group_tests(tests, harness_setup, NULL);
}
