/* secure_gen — reference-counted generations behind a holder (see the header). */
#include "secure_gen.h"

#include "apr_atomic.h"

#include <stdlib.h>

secure_gen_t *secure_gen_new(void *data, void (*free_data)(void *data))
{
    secure_gen_t *g = calloc(1, sizeof(*g));

    if (g == NULL)
        return NULL;
    g->refs = 1;
    g->data = data;
    g->free_data = free_data;
    return g;
}

void secure_gen_release(secure_gen_t *g)
{
    if (g == NULL || apr_atomic_dec32(&g->refs) != 0)
        return;
    if (g->free_data != NULL)
        g->free_data(g->data);
    free(g);
}

static apr_status_t holder_cleanup(void *data)
{
    secure_gen_publish(data, NULL);
    return APR_SUCCESS;
}

apr_status_t secure_gen_holder_init(secure_gen_holder_t *h, apr_pool_t *p)
{
    apr_status_t rv;

    h->cur = NULL;
    if ((rv = apr_thread_mutex_create(&h->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS)
        return rv;
    apr_pool_cleanup_register(p, h, holder_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

secure_gen_t *secure_gen_acquire(secure_gen_holder_t *h)
{
    secure_gen_t *g;

    apr_thread_mutex_lock(h->mutex);
    if ((g = h->cur) != NULL)
        apr_atomic_inc32(&g->refs);
    apr_thread_mutex_unlock(h->mutex);
    return g;
}

void secure_gen_publish(secure_gen_holder_t *h, secure_gen_t *g)
{
    secure_gen_t *old;

    apr_thread_mutex_lock(h->mutex);
    old = h->cur;
    h->cur = g;
    apr_thread_mutex_unlock(h->mutex);
    secure_gen_release(old);
}
