/*
 * rng.h - the run's random draws, from LAPACK's dlarnv generator.
 *
 * Every random draw of a run comes from a stream identified by the run's
 * seed and a stream number, so that any rank can reproduce any other rank's
 * draws and a run gives the same numbers whatever the rank count. The state
 * is LAPACK's four-integer seed, small enough to store in a checkpoint.
 */
#ifndef NLPC_RNG_H
#define NLPC_RNG_H

#include <stdint.h>

typedef struct {
    int iseed[4];       /* dlarnv state: each in 0..4095, iseed[3] odd */
} Rng;

/* Streams used by the trainer; weights use RNG_STREAM_WEIGHT + j. */
enum {
    RNG_STREAM_SPLIT = 1,       /* validation split */
    RNG_STREAM_BATCH = 2,       /* per-iteration batch draw */
    RNG_STREAM_SCHEDULE = 3,    /* asynchronous schedule */
    RNG_STREAM_SVM = 4,         /* liblinear's rand() seed */
    RNG_STREAM_WEIGHT = 100
};

/* Initialise the state of stream `stream` for the run seed `seed`. */
void rng_init(Rng *r, unsigned long seed, unsigned stream);

/* n draws of N(0,1), or of U(0,1). */
void rng_normal(Rng *r, double *x, int n);
void rng_uniform(Rng *r, double *x, int n);

/* Uniform integer in 0..n-1. */
long rng_below(Rng *r, long n);

/* Fisher-Yates shuffle of idx[0..n-1]. */
void rng_shuffle(Rng *r, int *idx, int n);

#endif
