/*
 * net.h - the MPI transport: which rank owns which network node, and the
 * point-to-point block messages between neighbouring nodes.
 *
 * Any rank count P from 1 to L: rank r owns a contiguous block of nodes
 * (one rank per node when P = L, every node in one process when P = 1).
 * Blocks only travel between neighbours and to or from rank 0; nothing
 * here broadcasts a block. Every MPI return value is checked: a failed
 * call or a message of the wrong size prints the rank, the node and the
 * cause and ends the job with MPI_Abort, so that no rank is left waiting.
 */
#ifndef NLPC_NET_H
#define NLPC_NET_H

#include <stddef.h>

#include <mpi.h>

/* Message tags, one per kind of block. */
enum {
    NET_TAG_U = 1,          /* U_l, node l -> l + 1 (forward pass) */
    NET_TAG_GOAL_U,         /* U_lG, goal node -> rank 0 */
    NET_TAG_GOAL_G,         /* G_lG, rank 0 -> goal node */
    NET_TAG_D,              /* propagated goal D_l, node l -> l + 1 */
    NET_TAG_E,              /* goal error E_l, node l -> l + 1 */
    NET_TAG_BE,             /* B_{l-1} E_l, node l -> l - 1 */
    NET_TAG_E_LEFT,         /* untied: E_l, node l -> l - 1 */
    NET_TAG_U_LEFT,         /* untied: U_l, node l -> l - 1 */
    NET_TAG_A_LEFT,         /* untied: A_{l-1}, node l -> l - 1 */
    NET_TAG_TERMS,          /* objective terms, node l -> rank 0 */
    NET_TAG_STATE,          /* checkpoint state, node l <-> rank 0 */
    NET_TAG_EVAL,           /* evaluation chunks */
    NET_TAG_WEIGHT          /* final weights, node l -> rank 0 */
};

typedef struct {
    MPI_Comm comm;
    int rank, size;
    int nodes;              /* L */
} NetTopo;

/* Layout of L nodes over the ranks of comm: size must be 1..L. On a
 * misfit returns -1 with a message saying which rank counts work. Sets
 * MPI_ERRORS_RETURN on comm so that errors reach the checks here.
 * Collective over comm. */
int net_init(NetTopo *t, MPI_Comm comm, int nodes, char *err,
             size_t errlen);

/* Rank that owns node l (1..L); whether this rank owns it. */
int net_owner(const NetTopo *t, int l);
int net_is_local(const NetTopo *t, int l);

/* Blocking send of count doubles to the owner of node `to`; blocking
 * receive of exactly count doubles from the owner of node `from` (any
 * other size aborts the job). `node` names the local node for messages. */
void net_send(const NetTopo *t, int node, int to, int tag, const double *buf,
              size_t count);
void net_recv(const NetTopo *t, int node, int from, int tag, double *buf,
              size_t count);

/* A halo exchange: nonblocking receives and sends posted together and
 * completed at once, so that neighbours sending large blocks to each
 * other in any order cannot deadlock. */
#define NET_HALO_MAX 8

typedef struct {
    const NetTopo *t;
    int node;
    int n;
    MPI_Request req[NET_HALO_MAX];
    size_t want[NET_HALO_MAX];      /* expected count; 0 for sends */
} NetHalo;

void net_halo_begin(NetHalo *h, const NetTopo *t, int node);
void net_halo_recv(NetHalo *h, int from, int tag, double *buf,
                   size_t count);
void net_halo_send(NetHalo *h, int to, int tag, const double *buf,
                   size_t count);
void net_halo_wait(NetHalo *h);

/* 1 when every message of h has completed (h is then empty, as after
 * net_halo_wait), else 0; never waits. Calling it lets MPI move the
 * messages on while the caller works between calls. */
int net_halo_test(NetHalo *h);

/* A stream of sends completed together: net_isend posts one (buf must
 * stay unchanged until then), net_wait_sends waits for n of them. For
 * the forward pipeline, whose blocks outnumber NET_HALO_MAX. */
void net_isend(const NetTopo *t, int node, int to, int tag,
               const double *buf, size_t count, MPI_Request *req);
void net_wait_sends(const NetTopo *t, int node, int n, MPI_Request *req);

/* Running totals of this process: seconds spent waiting for messages to
 * complete, and bytes sent. */
void net_counters(double *wait_seconds, double *bytes_sent);

/* MPI_Bcast from rank 0 of a few values, waiting like net_barrier.
 * Collective. */
void net_bcast(const NetTopo *t, void *buf, int count, MPI_Datatype type);

/* A barrier whose waiting ranks sleep between polls instead of spinning,
 * for ranks that idle while rank 0 works alone (the SVM). Collective. */
void net_barrier(const NetTopo *t);

/* Print "nlpc_mpi: rank R, node L: <message>" to stderr and end the whole
 * job with MPI_Abort. For fatal errors found outside this module too. */
void net_fatal(const NetTopo *t, int node, const char *fmt, ...);

#endif
