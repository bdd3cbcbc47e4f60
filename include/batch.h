/*
 * batch.h - rank 0's draw of each iteration's batch (design note section
 * 5): K training images, stratified by class, from the run's seed.
 *
 * Within each class the draw is a partial Fisher-Yates shuffle of that
 * class's index list, so a batch never repeats an image; the chosen
 * images are put in ascending order of their index. No MPI, no I/O.
 */
#ifndef NLPC_BATCH_H
#define NLPC_BATCH_H

#include "data.h"
#include "rng.h"

typedef struct Batcher Batcher;

/* A sampler of batches of K images of s (which it does not own and which
 * must outlive it) with its own random stream. NULL on no memory. */
Batcher *batch_new(const DataSet *s, int K, unsigned long seed);

/* Draw the next batch: its images into X (dim x K, column-major) and
 * their labels into label[K]. */
void batch_draw(Batcher *b, double *X, int *label);

/* The sampler's state for a checkpoint: its random stream and the order
 * of its per-class index lists (which every draw permutes), as `len` ints
 * (the training set's size) into perm. batch_set_state restores it and
 * returns -1 when len does not match the data set. */
void batch_get_state(const Batcher *b, int rng[4], int *perm);
int batch_set_state(Batcher *b, const int rng[4], const int *perm,
                    int len);

void batch_free(Batcher *b);

#endif
