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

void batch_free(Batcher *b);

#endif
