/*
 * harness.h - shared helpers of the whole-run tests (test_train.c,
 * test_loop.c). Paths are relative to the repository root.
 */
#ifndef NLPC_TEST_HARNESS_H
#define NLPC_TEST_HARNESS_H

#include <stdint.h>

#define TMP "tests/tmp/whole"
#define DATA TMP "/data"
#define MPIRUN "mpirun --bind-to none "
#define PROG "bin/nlpc_mpi --set data.dir=" DATA " "

/* cmocka group setup: an empty TMP with the synthetic data set in DATA
 * (400 training and 100 test images of 4 x 8 pixels, ten classes) */
int harness_setup(void **state);

/* write an IDX image file (n images of rows x cols bytes, pix) and its
 * label file (n labels, lab); asserts that both are written */
void harness_write_idx(const char *images, const char *labels, int n,
                       int rows, int cols, const uint8_t *pix,
                       const uint8_t *lab);

/* the MPI environment make check exports, for a test program run alone */
void harness_env(void);

/* run a shell command with its output into log; its exit status */
int run(const char *cmd, const char *log);

/* 1 when the file mentions text; prints the file otherwise */
int file_mentions(const char *path, const char *text);

/* train configs/tiny.ini with np ranks into out (+ extra options), and
 * assert that it succeeded; the log goes to <out>.log */
void train_with(int np, const char *out, const char *extra);

/* the weights.h5 of two output directories: bitwise equal, or not */
void assert_same_weights(const char *a, const char *b);
void assert_weights_differ(const char *a, const char *b);

/* the whole file at path in a malloc'd buffer with a NUL after it; *len
 * gets its size (asserts that it can be read) */
unsigned char *harness_slurp(const char *path, long *len);

/* len draws of N(0,1) from stream `stream` of run seed `seed`, malloc'd:
 * the random inputs of the unit tests */
double *harness_randn(int len, unsigned long seed, unsigned stream);

#endif
