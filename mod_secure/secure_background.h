/* secure_background — SECURE_BACKGROUND_THREADS threads per child process sharing a bounded queue of jobs
 * (so one slow or hanging responder or distribution point holds one of them, not the process's whole
 * background work; SecureOCSPMaxInflight still bounds the queries per URL), for work a
 * handshake must not wait for (SecureRevocationFirstSeen unknown: the first query about a certificate;
 * refresh ahead; every CRL distribution point download).
 * Jobs are heap memory owned by the queue once submitted: run or drop frees them. The threads are
 * started in child_init and stopped (queue drained through drop) in a pre-cleanup of the child's pool,
 * before that pool goes away. */
#ifndef SECURE_BACKGROUND_H
#define SECURE_BACKGROUND_H

#include "httpd.h"

/* Jobs waiting at most; a submit beyond it is refused. */
#define SECURE_BACKGROUND_QUEUE 64
/* Threads per child that run them. */
#define SECURE_BACKGROUND_THREADS 4

typedef struct {
    void (*run)(void *job, apr_pool_t *p);   /* on the background thread; p is cleared after it; frees job */
    void (*drop)(void *job);                 /* frees a job that will not run (queue stopped) */
    void *job;
} secure_bg_job_t;

/* Queues j. 1 when queued (the queue owns j->job now), 0 when the queue is full, -1 when no background
 * thread runs in this process (in both cases the caller still owns j->job). Never blocks for more than
 * the queue's mutex. */
int secure_bg_submit(const secure_bg_job_t *j);
/* 1 on the background thread itself (a job must not queue work and wait for it), else 0. */
int secure_bg_is_current(void);
/* Starts this child's background thread when needed (child_init); failures are logged, and then
 * secure_bg_submit refuses every job. */
void secure_bg_child_init(apr_pool_t *pchild, server_rec *s, int needed);

#endif /* SECURE_BACKGROUND_H */
