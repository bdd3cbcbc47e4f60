/*
 * net.c - MPI transport between network nodes (see net.h).
 */
#include "net.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int net_init(NetTopo *t, MPI_Comm comm, int nodes, char *err,
             size_t errlen)
{
    t->comm = comm;
    t->nodes = nodes;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->size);
    if (t->size > nodes) {
        snprintf(err, errlen,
                 "the network has %d nodes but the job has %d ranks: a "
                 "rank must own at least one node; run with -np %d (one "
                 "rank per node) or fewer ranks, down to -np 1, or change "
                 "[network] nodes", nodes, t->size, nodes);
        return -1;
    }
    return 0;
}

int net_owner(const NetTopo *t, int l)
{
    /* contiguous blocks: node l goes to floor((l - 1) P / L), so that
     * block sizes differ by at most one and every rank owns a node */
    return (int)(((long)(l - 1) * t->size) / t->nodes);
}

int net_is_local(const NetTopo *t, int l)
{
    return net_owner(t, l) == t->rank;
}

void net_fatal(const NetTopo *t, int node, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "nlpc_mpi: rank %d, node %d: ", t->rank, node);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    MPI_Abort(t->comm, 1);
    exit(1);        /* not reached: MPI_Abort does not return */
}

static void check(const NetTopo *t, int node, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;

    if (rc == MPI_SUCCESS)
        return;
    MPI_Error_string(rc, msg, &len);
    net_fatal(t, node, "%s failed: %s", what, msg);
}

static int count_int(const NetTopo *t, int node, size_t count)
{
    if (count > INT_MAX)
        net_fatal(t, node, "a block of %zu doubles exceeds one MPI message; "
                  "lower [train] batch_fraction or [eval] eval_chunk",
                  count);
    return (int)count;
}

static void check_count(const NetTopo *t, int node, const MPI_Status *st,
                        size_t want, int from)
{
    int got = 0;

    MPI_Get_count(st, MPI_DOUBLE, &got);
    if ((size_t)got != want)
        net_fatal(t, node, "message of %d doubles from rank %d (tag %d), "
                  "expected %zu: the ranks disagree on the shapes; run one "
                  "binary with one configuration on every rank",
                  got, from, st->MPI_TAG, want);
}

/* Complete n requests, sleeping between polls. Open MPI's shared-memory
 * transport otherwise spins while it waits, and with more ranks than cores
 * (6 nodes on 2 cores) the spinning ranks take CPU time from the rank that
 * computes. Blocks here are megabytes, so a 0.1-1 ms poll costs nothing. */
/* seconds this process has spent waiting for messages, bytes it sent */
static double waited;
static double sent;

void net_counters(double *wait_seconds, double *bytes_sent)
{
    *wait_seconds = waited;
    *bytes_sent = sent;
}

static void wait_all(const NetTopo *t, int node, int n, MPI_Request *req,
                     MPI_Status *st)
{
    struct timespec nap = { 0, 20000 };
    double t0 = MPI_Wtime();
    int done = 0;

    for (;;) {
        int rc = MPI_Testall(n, req, &done, st);

        check(t, node, rc, "MPI_Testall");
        if (done) {
            waited += MPI_Wtime() - t0;
            return;
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 1000000)
            nap.tv_nsec *= 2;
    }
}

void net_send(const NetTopo *t, int node, int to, int tag, const double *buf,
              size_t count)
{
    MPI_Request req;
    MPI_Status st;
    int rc = MPI_Isend(buf, count_int(t, node, count), MPI_DOUBLE,
                       net_owner(t, to), tag, t->comm, &req);

    check(t, node, rc, "MPI_Isend");
    sent += 8.0 * (double)count;
    wait_all(t, node, 1, &req, &st);
}

void net_recv(const NetTopo *t, int node, int from, int tag, double *buf,
              size_t count)
{
    MPI_Request req;
    MPI_Status st;
    int src = net_owner(t, from);
    int rc = MPI_Irecv(buf, count_int(t, node, count), MPI_DOUBLE, src, tag,
                       t->comm, &req);

    check(t, node, rc, "MPI_Irecv");
    wait_all(t, node, 1, &req, &st);
    check_count(t, node, &st, count, src);
}

void net_halo_begin(NetHalo *h, const NetTopo *t, int node)
{
    h->t = t;
    h->node = node;
    h->n = 0;
}

static MPI_Request *halo_slot(NetHalo *h, size_t want)
{
    if (h->n == NET_HALO_MAX)
        net_fatal(h->t, h->node, "more than %d messages in one exchange",
                  NET_HALO_MAX);
    h->want[h->n] = want;
    return &h->req[h->n++];
}

void net_halo_recv(NetHalo *h, int from, int tag, double *buf, size_t count)
{
    int c = count_int(h->t, h->node, count);
    int rc = MPI_Irecv(buf, c, MPI_DOUBLE, net_owner(h->t, from), tag,
                       h->t->comm, halo_slot(h, count));

    check(h->t, h->node, rc, "MPI_Irecv");
}

void net_halo_send(NetHalo *h, int to, int tag, const double *buf,
                   size_t count)
{
    int c = count_int(h->t, h->node, count);
    int rc = MPI_Isend(buf, c, MPI_DOUBLE, net_owner(h->t, to), tag,
                       h->t->comm, halo_slot(h, 0));

    check(h->t, h->node, rc, "MPI_Isend");
    sent += 8.0 * (double)count;
}

void net_halo_wait(NetHalo *h)
{
    MPI_Status st[NET_HALO_MAX];

    wait_all(h->t, h->node, h->n, h->req, st);
    for (int i = 0; i < h->n; i++)
        if (h->want[i] > 0)
            check_count(h->t, h->node, &st[i], h->want[i], st[i].MPI_SOURCE);
    h->n = 0;
}

int net_halo_test(NetHalo *h)
{
    MPI_Status st[NET_HALO_MAX];
    int done = 0, rc = MPI_Testall(h->n, h->req, &done, st);

    check(h->t, h->node, rc, "MPI_Testall");
    if (!done)
        return 0;
    for (int i = 0; i < h->n; i++)
        if (h->want[i] > 0)
            check_count(h->t, h->node, &st[i], h->want[i], st[i].MPI_SOURCE);
    h->n = 0;
    return 1;
}

void net_isend(const NetTopo *t, int node, int to, int tag,
               const double *buf, size_t count, MPI_Request *req)
{
    int rc = MPI_Isend(buf, count_int(t, node, count), MPI_DOUBLE,
                       net_owner(t, to), tag, t->comm, req);

    check(t, node, rc, "MPI_Isend");
    sent += 8.0 * (double)count;
}

void net_wait_sends(const NetTopo *t, int node, int n, MPI_Request *req)
{
    MPI_Status *st = n > 0 ? malloc((size_t)n * sizeof(*st)) : NULL;

    if (n > 0 && !st)
        net_fatal(t, node, "out of memory waiting for %d messages", n);
    if (n > 0)
        wait_all(t, node, n, req, st);
    free(st);
}

void net_barrier(const NetTopo *t)
{
    MPI_Request req;
    MPI_Status st;
    int rc = MPI_Ibarrier(t->comm, &req);

    check(t, t->rank + 1, rc, "MPI_Ibarrier");
    wait_all(t, t->rank + 1, 1, &req, &st);
}

void net_bcast(const NetTopo *t, void *buf, int count, MPI_Datatype type)
{
    MPI_Request req;
    MPI_Status st;
    int rc = MPI_Ibcast(buf, count, type, 0, t->comm, &req);

    check(t, t->rank + 1, rc, "MPI_Ibcast");
    wait_all(t, t->rank + 1, 1, &req, &st);
}
