/* secure_gen — a reloadable object shared by threads: the holder publishes one generation at a time;
 * readers take a reference on the current one and use it without a lock while a reload publishes the
 * next; the last reference frees it. APR only (no httpd types): the deny list and the CRL store each keep
 * their parsed data in one. A generation and its data are heap memory (malloc), not pool memory, because
 * they outlive the reload that made them. */
#ifndef SECURE_GEN_H
#define SECURE_GEN_H

#include "apr.h"
#include "apr_pools.h"
#include "apr_thread_mutex.h"

typedef struct secure_gen {
    apr_uint32_t refs;              /* apr_atomic; the holder's reference counts as one */
    void *data;
    void (*free_data)(void *data);  /* called with data when the last reference goes */
} secure_gen_t;

typedef struct secure_gen_holder {
    apr_thread_mutex_t *mutex;      /* guards cur, held only to take a reference or to swap */
    secure_gen_t *cur;
} secure_gen_holder_t;

/* A new generation holding data (one reference, the caller's), or NULL when out of memory (data is then
 * not freed: the caller still owns it). */
secure_gen_t *secure_gen_new(void *data, void (*free_data)(void *data));
/* Drops one reference (g may be NULL); the last one frees the data and g. */
void secure_gen_release(secure_gen_t *g);

/* Sets up h with no generation. Its mutex lives in p, and a cleanup of p drops the holder's reference. */
apr_status_t secure_gen_holder_init(secure_gen_holder_t *h, apr_pool_t *p);
/* The current generation with a new reference (release it when done), or NULL when none was published. */
secure_gen_t *secure_gen_acquire(secure_gen_holder_t *h);
/* Makes g current (the caller's reference passes to the holder; g may be NULL) and drops the holder's
 * reference on the previous one, which readers still holding it keep alive. */
void secure_gen_publish(secure_gen_holder_t *h, secure_gen_t *g);

#endif /* SECURE_GEN_H */
