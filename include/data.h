/*
 * data.h - image data sets: IDX files (raw or gzip, through zlib), their
 * validation, per-image standardisation, subsets and the validation split.
 *
 * Images are stored column-major as doubles: column k (dim values) is
 * sample k, so a batch is an N x K block ready for BLAS. This module never
 * exits; every failure returns -1 with a message naming the file and the
 * problem.
 */
#ifndef NLPC_DATA_H
#define NLPC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define DATA_CLASSES 10

typedef struct {
    int count;          /* number of samples */
    int dim;            /* values per sample (rows * cols) */
    double *x;          /* dim x count, column-major, owned */
    int *y;             /* count labels in 0..DATA_CLASSES-1, owned */
} DataSet;

typedef struct {
    DataSet train;      /* what the trainer learns from */
    DataSet val;        /* carved from the training file by seed */
    DataSet test;
} DataSplit;

/* Read an IDX3 image file (raw or gzip, detected by content). On success
 * *pix holds count*rows*cols bytes (malloc'd, caller frees). Checks the
 * magic number 0x00000803, the dimensions and that the payload is complete
 * with nothing after it. */
int data_idx_read_images(const char *path, uint8_t **pix, int *count,
                         int *rows, int *cols, char *err, size_t errlen);

/* Read an IDX1 label file (magic 0x00000801); labels must lie in
 * 0..DATA_CLASSES-1. *lab is malloc'd, caller frees. */
int data_idx_read_labels(const char *path, uint8_t **lab, int *count,
                         char *err, size_t errlen);

/* Load the data set the configuration names: the four files of
 * [data] set under [data] dir (mnist and fashion in <dir>/<set>/, custom
 * directly in <dir>), each as <name> or <name>.gz. Checks that image and
 * label counts agree, that the image size equals [network] width, then
 * applies train_limit/test_limit (first images), carves [data] validation
 * images (chosen by seed) out of the training images and standardises
 * each image when [data] standardise is on. Returns 0 or -1. */
int data_load(const NlpcConfig *cfg, DataSplit *d, char *err,
              size_t errlen);

/* The pixels per image of the training images file that the
 * configuration names ([data] set and dir), from its header alone; path
 * (pathlen bytes) receives the file's name for messages. 0, or -1 with a
 * message (missing file, bad header). */
int data_image_size(const NlpcConfig *cfg, int *dim, char *path,
                    size_t pathlen, char *err, size_t errlen);

/* Standardise every column of s to zero mean and unit variance (a constant
 * image becomes all zeros). */
void data_standardise(DataSet *s);

void data_free_set(DataSet *s);
void data_free(DataSplit *d);

#endif
