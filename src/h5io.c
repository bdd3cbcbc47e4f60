/*
 * h5io.c - HDF5 plumbing shared by the weights writer (output.c) and the
 * checkpoints (ckpt.c); see h5io.h for the contracts.
 *
 * Serial HDF5, default property lists, one process. Every HDF5 status is
 * checked; a handle is closed on every path, and a failing close turns a
 * success into a failure. This module words no messages and knows no file
 * layout; it only moves attributes, data sets and files.
 */
#include "h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- error printing and files ------------------------------------------ */

void h5io_mute(H5ioQuiet *q)
{
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) >= 0;
    /* A failure here only means HDF5 also prints its own stack. */
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5io_unmute(const H5ioQuiet *q)
{
    /* Nothing better to do if HDF5 refuses its own saved handler. */
    if (q->saved)
        (void)H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

hid_t h5io_create(const char *path, const char **why)
{
    hid_t file;

    errno = 0;
    file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0 && why != NULL)
        *why = errno != 0 ? strerror(errno) : "HDF5 error";
    return file;
}

hid_t h5io_open_read(const char *path)
{
    if (H5Fis_hdf5(path) <= 0)
        return -1;
    return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
}

hid_t h5io_create_group(hid_t loc, const char *name)
{
    return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

hid_t h5io_open_group(hid_t loc, const char *name)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return -1;
    return H5Gopen2(loc, name, H5P_DEFAULT);
}

/* ---- attributes --------------------------------------------------------- */

/* Attribute `name` of loc: n values (n == 0: one scalar) of mtype from
 * buf, stored as ftype. */
static int h5io_put_attr(hid_t loc, const char *name, hid_t ftype,
                         hid_t mtype, hsize_t n, const void *buf)
{
    hid_t space = n == 0 ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(1, &n, NULL);
    hid_t attr;
    int rc = -1;

    if (space < 0)
        return -1;
    attr = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0) {
        rc = H5Awrite(attr, mtype, buf) < 0 ? -1 : 0;
        if (H5Aclose(attr) < 0)
            rc = -1;
    }
    if (H5Sclose(space) < 0)
        rc = -1;
    return rc;
}

/* Attribute `name` of loc holding exactly n values (n == 0: one scalar),
 * read into buf as mtype. */
static int h5io_get_attr(hid_t loc, const char *name, hid_t mtype,
                         size_t n, void *buf)
{
    hid_t attr, space;
    hssize_t points;
    int rc = -1;

    if (H5Aexists(loc, name) <= 0
        || (attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0)
        return -1;
    space = H5Aget_space(attr);
    points = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (points == (hssize_t)(n == 0 ? 1 : n)
        && H5Aread(attr, mtype, buf) >= 0)
        rc = 0;
    if (space >= 0 && H5Sclose(space) < 0)
        rc = -1;
    if (H5Aclose(attr) < 0)
        rc = -1;
    return rc;
}

int h5io_put_int(hid_t loc, const char *name, int value)
{
    return h5io_put_attr(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, 0,
                         &value);
}

int h5io_put_ints(hid_t loc, const char *name, const int *v, size_t n)
{
    if (n == 0)
        return -1;
    return h5io_put_attr(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, n, v);
}

int h5io_put_u64(hid_t loc, const char *name, uint64_t value)
{
    return h5io_put_attr(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 0,
                         &value);
}

int h5io_put_str(hid_t loc, const char *name, const char *text)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    int rc = -1;

    if (type < 0)
        return -1;
    if (H5Tset_size(type, strlen(text) + 1) >= 0
        && H5Tset_strpad(type, H5T_STR_NULLTERM) >= 0)
        rc = h5io_put_attr(loc, name, type, type, 0, text);
    if (H5Tclose(type) < 0)
        rc = -1;
    return rc;
}

int h5io_get_int(hid_t loc, const char *name, int *value)
{
    return h5io_get_attr(loc, name, H5T_NATIVE_INT, 0, value);
}

int h5io_get_ints(hid_t loc, const char *name, int *v, size_t n)
{
    if (n == 0)
        return -1;
    return h5io_get_attr(loc, name, H5T_NATIVE_INT, n, v);
}

int h5io_get_u64(hid_t loc, const char *name, uint64_t *value)
{
    return h5io_get_attr(loc, name, H5T_NATIVE_UINT64, 0, value);
}

/* The size of attr's type if it is one fixed-length string; else 0. */
static size_t h5io_str_size(hid_t attr, hid_t type)
{
    hid_t space = H5Aget_space(attr);
    size_t size = 0;

    if (space < 0)
        return 0;
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) == 0
        && H5Sget_simple_extent_npoints(space) == 1)
        size = H5Tget_size(type);
    if (H5Sclose(space) < 0)
        size = 0;
    return size;
}

int h5io_get_str(hid_t loc, const char *name, char **out)
{
    hid_t attr, type;
    size_t size = 0;
    char *text = NULL;
    int rc = -1;

    if (H5Aexists(loc, name) <= 0
        || (attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0)
        return -1;
    type = H5Aget_type(attr);
    if (type >= 0)
        size = h5io_str_size(attr, type);
    if (size > 0 && (text = calloc(size + 1, 1)) != NULL
        && H5Aread(attr, type, text) >= 0)
        rc = 0;
    if ((type >= 0 && H5Tclose(type) < 0) || H5Aclose(attr) < 0)
        rc = -1;
    if (rc == 0)
        *out = text;
    else
        free(text);
    return rc;
}

/* ---- data sets ---------------------------------------------------------- */

/* Data set creation properties: one chunk holding the whole data set,
 * with HDF5's Fletcher-32 checksum, so that a reader finds bytes that
 * changed on disk (H5Dread fails) instead of using them. An empty data
 * set cannot be chunked and stays contiguous. */
static hid_t h5io_checksummed(int rank, const hsize_t *dims)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);

    if (dcpl < 0)
        return H5P_DEFAULT;
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0)
            return dcpl;
    if (H5Pset_chunk(dcpl, rank, dims) < 0 || H5Pset_fletcher32(dcpl) < 0) {
        H5Pclose(dcpl);
        return H5P_DEFAULT;
    }
    return dcpl;
}

int h5io_put_dset(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                  int rank, const hsize_t *dims, const void *buf)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl, dset;
    int rc = -1;

    if (space < 0)
        return -1;
    dcpl = h5io_checksummed(rank, dims);
    dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl,
                      H5P_DEFAULT);
    if (dcpl != H5P_DEFAULT)
        H5Pclose(dcpl);
    if (dset >= 0) {
        rc = H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0
             ? -1 : 0;
        if (H5Dclose(dset) < 0)
            rc = -1;
    }
    if (H5Sclose(space) < 0)
        rc = -1;
    return rc;
}

/* 1 if dset has `rank` extents, stored in got; else 0. */
static int h5io_extents(hid_t dset, int rank, hsize_t *got)
{
    hid_t space = H5Dget_space(dset);
    int ok;

    if (space < 0)
        return 0;
    ok = H5Sget_simple_extent_ndims(space) == rank
         && H5Sget_simple_extent_dims(space, got, NULL) == rank;
    if (H5Sclose(space) < 0)
        ok = 0;
    return ok;
}

/* Open loc/name into *dset and check its shape as h5io_dset_shape
 * describes; on H5IO_OK the caller closes *dset. */
static H5ioStatus h5io_open_dset(hid_t loc, const char *name, int rank,
                                 hsize_t *dims, hid_t *dset)
{
    hsize_t got[2] = { 0, 0 }, want0;
    int ok;

    if (rank < 1 || rank > 2)
        return H5IO_SHAPE;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0
        || (*dset = H5Dopen2(loc, name, H5P_DEFAULT)) < 0)
        return H5IO_MISSING;
    ok = h5io_extents(*dset, rank, got);
    want0 = rank == 1 && dims[0] == 0 ? got[0] : dims[0];
    ok = ok && got[0] == want0 && (rank == 1 || got[1] == dims[1]);
    if (!ok) {
        /* already failing: a failed close cannot change the answer */
        (void)H5Dclose(*dset);
        return H5IO_SHAPE;
    }
    dims[0] = want0;
    return H5IO_OK;
}

H5ioStatus h5io_dset_shape(hid_t loc, const char *name, int rank,
                           hsize_t *dims)
{
    hid_t dset;
    H5ioStatus st = h5io_open_dset(loc, name, rank, dims, &dset);

    if (st == H5IO_OK && H5Dclose(dset) < 0)
        st = H5IO_CLOSE;
    return st;
}

H5ioStatus h5io_get_dset(hid_t loc, const char *name, hid_t mtype,
                         int rank, hsize_t *dims, void *buf)
{
    hid_t dset;
    H5ioStatus st = h5io_open_dset(loc, name, rank, dims, &dset);

    if (st != H5IO_OK)
        return st;
    if (H5Dread(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        st = H5IO_READ;
    if (H5Dclose(dset) < 0 && st == H5IO_OK)
        st = H5IO_CLOSE;
    return st;
}

/* ---- matrices ----------------------------------------------------------- */

/* Column-major a (rows x cols) into row-major disk order. */
static void h5io_to_disk(double *disk, const double *a, int rows, int cols)
{
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
            disk[(size_t)r * cols + c] = a[r + (size_t)c * rows];
}

/* The inverse of h5io_to_disk. */
static void h5io_from_disk(double *a, const double *disk, int rows,
                           int cols)
{
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
            a[r + (size_t)c * rows] = disk[(size_t)r * cols + c];
}

int h5io_put_matrix(hid_t loc, const char *name, const double *a,
                    int rows, int cols, double *scratch)
{
    hsize_t dims[2] = { (hsize_t)rows, (hsize_t)cols };

    h5io_to_disk(scratch, a, rows, cols);
    return h5io_put_dset(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2,
                         dims, scratch);
}

H5ioStatus h5io_get_matrix(hid_t loc, const char *name, int rows, int cols,
                           double **out)
{
    hsize_t dims[2] = { (hsize_t)rows, (hsize_t)cols };
    size_t n = (size_t)rows * cols;
    double *disk = malloc(n * sizeof *disk);
    double *a = malloc(n * sizeof *a);
    H5ioStatus st = H5IO_NOMEM;

    if (disk != NULL && a != NULL)
        st = h5io_get_dset(loc, name, H5T_NATIVE_DOUBLE, 2, dims, disk);
    if (st == H5IO_OK) {
        h5io_from_disk(a, disk, rows, cols);
        *out = a;
        a = NULL;
    }
    free(disk);
    free(a);
    return st;
}

/* ---- publishing --------------------------------------------------------- */

char *h5io_tmp_name(const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);

    if (tmp != NULL) {
        memcpy(tmp, path, n);
        memcpy(tmp + n, ".tmp", 5);
    }
    return tmp;
}

/* fsync what path names (a file or, with O_DIRECTORY, a directory);
 * 0, or -1 with errno describing the failure. */
static int h5io_sync(const char *path, int flags)
{
    int fd = open(path, flags);
    int rc, saved;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    saved = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

H5ioStatus h5io_publish(const char *tmp, const char *path, const char *dir)
{
    if (dir != NULL && h5io_sync(tmp, O_RDONLY) != 0)
        return H5IO_SYNC;
    if (rename(tmp, path) != 0)
        return H5IO_RENAME;
    /* EINVAL: a file system that cannot sync directories */
    if (dir != NULL && h5io_sync(dir, O_RDONLY | O_DIRECTORY) != 0
        && errno != EINVAL)
        return H5IO_DIRSYNC;
    return H5IO_OK;
}
