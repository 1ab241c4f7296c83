/* secure_background — the child's background threads and their bounded queue (see the header). A ring of
 * SECURE_BACKGROUND_QUEUE jobs under one mutex and one condition variable; each of the
 * SECURE_BACKGROUND_THREADS threads takes one job at a time and runs it with a pool of its own that it
 * clears after each job. */
#include "httpd.h"
#include "http_log.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

#include "secure_background.h"
#include "secure_log.h"

APLOG_USE_MODULE(secure);

static secure_bg_job_t bg_ring[SECURE_BACKGROUND_QUEUE];
static unsigned bg_head, bg_count;
static int bg_running;                  /* accepting jobs; cleared (under the mutex) to stop */
static apr_thread_mutex_t *bg_mutex;
static apr_thread_cond_t *bg_cond;
static apr_thread_t *bg_threads[SECURE_BACKGROUND_THREADS];
static int bg_started;                  /* threads started (joined at stop) */
static _Thread_local int bg_self;       /* set on the background threads only */

int secure_bg_is_current(void)
{
    return bg_self;
}

int secure_bg_submit(const secure_bg_job_t *j)
{
    int ok;

    if (bg_mutex == NULL || apr_thread_mutex_lock(bg_mutex) != APR_SUCCESS)
        return -1;
    ok = bg_running ? 0 : -1;
    if (bg_running && bg_count < SECURE_BACKGROUND_QUEUE) {
        bg_ring[(bg_head + bg_count) % SECURE_BACKGROUND_QUEUE] = *j;
        bg_count++;
        apr_thread_cond_signal(bg_cond);
        ok = 1;
    }
    apr_thread_mutex_unlock(bg_mutex);
    return ok;
}

static void *APR_THREAD_FUNC bg_main(apr_thread_t *thd, void *data)
{
    apr_pool_t *p = NULL;
    secure_bg_job_t j;

    (void)data;
    bg_self = 1;
    if (apr_pool_create(&p, apr_thread_pool_get(thd)) != APR_SUCCESS)
        p = NULL;
    apr_thread_mutex_lock(bg_mutex);
    for (;;) {
        while (bg_running && bg_count == 0)
            apr_thread_cond_wait(bg_cond, bg_mutex);
        if (!bg_running)
            break;
        j = bg_ring[bg_head];
        bg_head = (bg_head + 1) % SECURE_BACKGROUND_QUEUE;
        bg_count--;
        apr_thread_mutex_unlock(bg_mutex);
        if (p != NULL) {
            j.run(j.job, p);
            apr_pool_clear(p);
        }
        else
            j.drop(j.job);
        apr_thread_mutex_lock(bg_mutex);
    }
    /* stopped: what is still queued will not run */
    while (bg_count > 0) {
        j = bg_ring[bg_head];
        bg_head = (bg_head + 1) % SECURE_BACKGROUND_QUEUE;
        bg_count--;
        j.drop(j.job);
    }
    apr_thread_mutex_unlock(bg_mutex);
    if (p != NULL)
        apr_pool_destroy(p);
    apr_thread_exit(thd, APR_SUCCESS);
    return NULL;
}

/* A pre-cleanup of the child's pool: stop the threads and wait for them, before the pool they use goes. */
static apr_status_t bg_stop(void *data)
{
    apr_status_t rv;
    int i;

    (void)data;
    if (bg_started == 0)
        return APR_SUCCESS;
    apr_thread_mutex_lock(bg_mutex);
    bg_running = 0;
    apr_thread_cond_broadcast(bg_cond);
    apr_thread_mutex_unlock(bg_mutex);
    for (i = 0; i < bg_started; i++) {
        apr_thread_join(&rv, bg_threads[i]);
        bg_threads[i] = NULL;
    }
    bg_started = 0;
    bg_mutex = NULL;
    bg_cond = NULL;
    return APR_SUCCESS;
}

void secure_bg_child_init(apr_pool_t *pchild, server_rec *s, int needed)
{
    apr_status_t rv = APR_SUCCESS;
    int i;

    bg_head = bg_count = 0;
    bg_running = 0;
    bg_mutex = NULL;
    bg_cond = NULL;
    bg_started = 0;
    if (!needed)
        return;
    if ((rv = apr_thread_mutex_create(&bg_mutex, APR_THREAD_MUTEX_DEFAULT, pchild)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&bg_cond, pchild)) != APR_SUCCESS) {
        bg_mutex = NULL;
        goto failed;
    }
    bg_running = 1;
    for (i = 0; i < SECURE_BACKGROUND_THREADS; i++) {
        if ((rv = apr_thread_create(&bg_threads[bg_started], NULL, bg_main, NULL, pchild)) != APR_SUCCESS)
            break;
        bg_started++;
    }
    if (bg_started == 0) {
        bg_running = 0;
        goto failed;
    }
    apr_pool_pre_cleanup_register(pchild, NULL, bg_stop);
    if (bg_started < SECURE_BACKGROUND_THREADS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     SECTAG(11612) "revocation background work: only %d of %d threads could be started in this "
                     "process; jobs run on those", bg_started, SECURE_BACKGROUND_THREADS);
    return;
failed:
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                 SECTAG(11608) "SecureRevocationFirstSeen unknown: cannot start this process's background "
                 "threads; certificates seen for the first time get the unknown answer and are not queried in "
                 "the background (later handshakes query them as with 'wait')");
}
