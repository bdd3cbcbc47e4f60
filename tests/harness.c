/*
 * harness.c - what the whole-run tests share: a tiny synthetic data set in
 * IDX files, running bin/nlpc_mpi under mpirun, and comparing the weights
 * two runs wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "output.h"
#include "rng.h"

#define DIM 32

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void harness_write_idx(const char *images, const char *labels, int n,
                       int rows, int cols, const uint8_t *pix,
                       const uint8_t *lab)
{
    uint8_t h[16];
    FILE *f = fopen(images, "wb");

    assert_non_null(f);
    put32(h, 0x803);
    put32(h + 4, (uint32_t)n);
    put32(h + 8, (uint32_t)rows);
    put32(h + 12, (uint32_t)cols);
    assert_int_equal(fwrite(h, 1, 16, f), 16);
    assert_int_equal(fwrite(pix, 1, (size_t)n * rows * cols, f),
                     (size_t)n * rows * cols);
    assert_int_equal(fclose(f), 0);
    f = fopen(labels, "wb");
    assert_non_null(f);
    put32(h, 0x801);
    assert_int_equal(fwrite(h, 1, 8, f), 8);
    assert_int_equal(fwrite(lab, 1, (size_t)n, f), (size_t)n);
    assert_int_equal(fclose(f), 0);
}

/* n images of 4 x 8 pixels, image k of class k % 10: a class-specific bar
 * pattern plus noise, so that the classes are learnable but not
 * trivially separable */
static void write_set(const char *images, const char *labels, int n,
                      Rng *r)
{
    uint8_t *b = malloc((size_t)n * DIM), *lab = malloc((size_t)n);
    double noise[DIM];

    for (int k = 0; k < n; k++) {
        int c = k % 10;

        lab[k] = (uint8_t)c;
        rng_uniform(r, noise, DIM);
        for (int j = 0; j < DIM; j++) {
            int bar = (j * 7 + c * 3) % 10 < 3;   /* distinct per class */
            double v = 90.0 * noise[j] + (bar ? 140.0 : 20.0);

            b[(size_t)k * DIM + j] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    harness_write_idx(images, labels, n, 4, 8, b, lab);
    free(b);
    free(lab);
}

int harness_setup(void **state)
{
    Rng r;

    (void)state;
    /* every run starts afresh: no checkpoints of an earlier suite */
    if (system("rm -rf " TMP " && mkdir -p " DATA) != 0)
        return -1;
    harness_env();
    rng_init(&r, 11, 1);
    write_set(DATA "/train-images-idx3-ubyte", DATA
              "/train-labels-idx1-ubyte", 400, &r);
    write_set(DATA "/t10k-images-idx3-ubyte", DATA
              "/t10k-labels-idx1-ubyte", 100, &r);
    return 0;
}

/* run a shell command, its output into log; returns its exit status */
int run(const char *cmd, const char *log)
{
    char full[1400];
    int st;

    snprintf(full, sizeof(full), "%s > %s 2>&1", cmd, log);
    st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int file_mentions(const char *path, const char *text)
{
    char buf[16384];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    if (!strstr(buf, text))
        fprintf(stderr, "%s does not mention '%s':\n%s\n", path, text, buf);
    return strstr(buf, text) != NULL;
}

/* train with np ranks into out; returns the weights file path */
void train_with(int np, const char *out, const char *extra)
{
    char cmd[1024], log[256];

    snprintf(cmd, sizeof(cmd), MPIRUN "-np %d " PROG
             "--set output.dir=%s %s configs/tiny.ini", np, out, extra);
    snprintf(log, sizeof(log), "%s.log", out);
    assert_int_equal(run(cmd, log), 0);
}

void assert_same_weights(const char *a, const char *b)
{
    char pa[256], pb[256], err[512];
    double **A, **B;
    int la, lb, na, nb;

    snprintf(pa, sizeof(pa), "%s/weights.h5", a);
    snprintf(pb, sizeof(pb), "%s/weights.h5", b);
    assert_int_equal(out_read_weights(pa, &la, &na, &A, err, sizeof(err)),
                     0);
    assert_int_equal(out_read_weights(pb, &lb, &nb, &B, err, sizeof(err)),
                     0);
    assert_int_equal(la, lb);
    assert_int_equal(na, nb);
    for (int j = 0; j < la; j++) {
        /* bitwise: the same arithmetic in the same order on any layout */
        assert_memory_equal(A[j], B[j], (size_t)na * na * sizeof(double));
        free(A[j]);
        free(B[j]);
    }
    free(A);
    free(B);
}

void assert_weights_differ(const char *a, const char *b)
{
    char pa[256], pb[256], err[512];
    double **A, **B;
    int l, n, differ = 0;

    snprintf(pa, sizeof(pa), "%s/weights.h5", a);
    snprintf(pb, sizeof(pb), "%s/weights.h5", b);
    assert_int_equal(out_read_weights(pa, &l, &n, &A, err, sizeof(err)), 0);
    assert_int_equal(out_read_weights(pb, &l, &n, &B, err, sizeof(err)), 0);
    for (int j = 0; j < l; j++) {
        differ |= memcmp(A[j], B[j], (size_t)n * n * sizeof(double)) != 0;
        free(A[j]);
        free(B[j]);
    }
    free(A);
    free(B);
    assert_true(differ);
}


void harness_env(void)
{
    /* what `make check` exports, so that a test program also runs alone:
     * root in CI, 3 ranks on 2 cores, one BLAS thread per rank */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
}

double *harness_randn(int len, unsigned long seed, unsigned stream)
{
    double *x = malloc((size_t)len * sizeof(double));
    Rng r;

    rng_init(&r, seed, stream);
    rng_normal(&r, x, len);
    return x;
}

unsigned char *harness_slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    *len = ftell(f);
    rewind(f);
    buf = malloc((size_t)*len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    buf[*len] = 0;
    return buf;
}
