/* secure_status — shared counters and the secure-status handler. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "secure_log.h"
#include "secure_profiles.h"
#include "secure_status.h"

APLOG_USE_MODULE(secure);

#define SECURE_CTR_NAME(e, name) name,
static const char *const secure_counter_names[] = { SECURE_COUNTERS(SECURE_CTR_NAME) };
#undef SECURE_CTR_NAME

static volatile apr_uint32_t *secure_counters;

apr_status_t secure_status_init(apr_pool_t *pconf, server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    /* Anonymous shared memory is inherited by the forked children; a graceful restart makes a new segment
     * (counters start again from zero, as mod_status' do after a restart). */
    rv = apr_shm_create(&shm, sizeof(apr_uint32_t) * SECURE_CTR_MAX, NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     SECTAG(10701) "cannot create shared memory for the mod_secure counters; "
                     "counters stay per process");
        secure_counters = apr_pcalloc(pconf, sizeof(apr_uint32_t) * SECURE_CTR_MAX);
        return rv;
    }
    secure_counters = apr_shm_baseaddr_get(shm);
    memset((void *)secure_counters, 0, sizeof(apr_uint32_t) * SECURE_CTR_MAX);
    return APR_SUCCESS;
}

void secure_status_count(secure_counter_t ctr)
{
    if (secure_counters != NULL && ctr < SECURE_CTR_MAX)
        apr_atomic_inc32(&secure_counters[ctr]);
}

static apr_uint32_t status_get(secure_counter_t ctr)
{
    if (secure_counters == NULL || ctr >= SECURE_CTR_MAX)
        return 0;
    return apr_atomic_read32(&secure_counters[ctr]);
}

int secure_status_handler(request_rec *r)
{
    int i, json;

    if (strcmp(r->handler, "secure-status") != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    json = r->args != NULL && (strcmp(r->args, "json") == 0 || strncmp(r->args, "json&", 5) == 0);
    if (json) {
        ap_set_content_type(r, "application/json");
        ap_rputs("{", r);
        for (i = 0; i < SECURE_CTR_MAX; i++)
            ap_rprintf(r, "%s\"%s\":%u", i ? "," : "", secure_counter_names[i],
                       (unsigned)status_get((secure_counter_t)i));
        ap_rputs("}\n", r);
        return OK;
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs("<!DOCTYPE html>\n<html><head><title>mod_secure status</title></head><body>\n"
             "<h1>mod_secure status</h1>\n<table>\n<tr><th>counter</th><th>value</th></tr>\n", r);
    for (i = 0; i < SECURE_CTR_MAX; i++)
        ap_rprintf(r, "<tr><td>%s</td><td>%u</td></tr>\n", secure_counter_names[i],
                   (unsigned)status_get((secure_counter_t)i));
    ap_rputs("</table>\n<h2>SecurePolicy profiles</h2>\n<table>\n<tr><th>profile</th><th>version</th>"
             "<th>source</th></tr>\n", r);
    for (i = 0; i < (int)secure_profiles_count(); i++)      /* static strings of the table: no escaping */
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", secure_profiles[i].name,
                   secure_profiles[i].version, secure_profiles[i].source);
    ap_rputs("</table>\n<p>Machine-readable: <a href=\"?json\">?json</a></p>\n</body></html>\n", r);
    return OK;
}
