/* secure_sslconf — mod_ssl's settings as `httpd -t` sees them, emulated from the configuration tree.
 *
 * Why this exists: `apachectl graceful` (and `apachectl -t`) runs a configuration test first, and only
 * check_config runs then; mod_ssl's post_config, which builds the real SSL_CTX, does not. A policy that
 * leaves mod_ssl's settings nothing (SecurePolicy modern with SSLProtocol TLSv1.2, say) must fail that
 * test, because failing only in post_config would stop a running server on a graceful restart. So this
 * file reads SSLEngine, SSLProtocol, SSLCipherSuite and SSLOpenSSLConfCmd Groups from the configuration
 * tree (the main server's, overridden by the vhost's own section) and applies SSLProtocol's words to a
 * scratch context the way mod_ssl does. It is an emulation, kept to exactly these directives and tested
 * against mod_ssl's own behaviour in t/policy_config.t; the real narrowing is done on the real SSL_CTX
 * in init_server (secure_policy_init_server), and what mod_ssl really set wins there. */
#include "httpd.h"
#include "http_config.h"
#include "apr_strings.h"

#include <openssl/ssl.h>
#include <string.h>
#include <strings.h>

#include "secure_sslconf.h"

static void view_take(apr_pool_t *p, secure_sslconf_t *v, const ap_directive_t *d)
{
    const char *args = d->args, *w1, *rest;
    ssl_setting_t set = { NULL, d->filename, d->line_num };

    if (!strcasecmp(d->directive, "SSLEngine")) {
        set.value = ap_getword_conf(p, &args);
        v->engine = set;
    }
    else if (!strcasecmp(d->directive, "SSLProtocol")) {
        set.value = d->args;
        v->protocol = set;
    }
    else if (!strcasecmp(d->directive, "SSLCipherSuite")) {
        w1 = ap_getword_conf(p, &args);
        rest = ap_getword_conf(p, &args);
        if (*rest == '\0') {
            set.value = w1;
            v->ciphers = set;
        }
        else if (!strcasecmp(w1, "TLSv1.3")) {
            set.value = rest;
            v->suites = set;
        }
        else {
            set.value = rest;      /* "SSL" (or any other protocol word mod_ssl treats as TLS <= 1.2) */
            v->ciphers = set;
        }
    }
    else if (!strcasecmp(d->directive, "SSLOpenSSLConfCmd")) {
        w1 = ap_getword_conf(p, &args);
        if (!strcasecmp(w1, "Groups") || !strcasecmp(w1, "Curves")) {
            set.value = ap_getword_conf(p, &args);
            v->groups = set;
        }
    }
}

/* The view of the directives directly in one section (nested <Location> etc. are per-directory). */
static void view_section(apr_pool_t *p, secure_sslconf_t *v, const ap_directive_t *first)
{
    const ap_directive_t *d;

    for (d = first; d != NULL; d = d->next)
        if (d->directive[0] != '<')
            view_take(p, v, d);
}

secure_sslconf_t secure_sslconf_view(apr_pool_t *p, const server_rec *s)
{
    secure_sslconf_t v;
    const ap_directive_t *d;

    memset(&v, 0, sizeof(v));
    view_section(p, &v, ap_conftree);
    if (s->is_virtual && s->defn_name != NULL)
        for (d = ap_conftree; d != NULL; d = d->next)
            if (!strcasecmp(d->directive, "<VirtualHost") && d->line_num == (int)s->defn_line_number
                && d->filename != NULL && !strcmp(d->filename, s->defn_name))
                view_section(p, &v, d->first_child);
    return v;
}

/* mod_ssl's SSLProtocol on a scratch context: +/- words add and remove, a bare word replaces, and the range
 * is the highest version down to the lowest without a hole. 0 when the value is not understood. */
int secure_sslconf_apply_protocol(SSL_CTX *ctx, apr_pool_t *p, const char *value)
{
    static const struct { const char *name; int bit; } words[] = {
        { "SSLv3", 1 }, { "TLSv1", 2 }, { "TLSv1.1", 4 }, { "TLSv1.2", 8 }, { "TLSv1.3", 16 }, { "all", 30 },
    };
    static const int versions[] = { SSL3_VERSION, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION };
    int mask = 0, hi, lo;
    const char *w;

    while (*(w = ap_getword_conf(p, &value))) {
        char action = (*w == '+' || *w == '-') ? *w++ : 0;
        size_t i;
        int bit = 0;

        for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (!strcasecmp(w, words[i].name))
                bit = words[i].bit;
        if (bit == 0)
            return 0;
        mask = action == '-' ? (mask & ~bit) : action == '+' ? (mask | bit) : bit;
    }
    for (hi = 4; hi >= 0 && !(mask & (1 << hi)); hi--)
        ;
    if (hi < 0)
        return 0;
    for (lo = hi; lo > 0 && (mask & (1 << (lo - 1))); lo--)
        ;
    return SSL_CTX_set_min_proto_version(ctx, versions[lo]) && SSL_CTX_set_max_proto_version(ctx, versions[hi]);
}

/* Which mod_ssl directive a narrowing failure points at, and its value as configured; with ctx (startup),
 * also the protocol range mod_ssl's context really has (SSLOpenSSLConfCmd and OpenSSL's own configuration
 * can set it too). */
const char *secure_sslconf_conflict(apr_pool_t *p, const secure_sslconf_t *v, secure_empty_t why, SSL_CTX *ctx)
{
    const ssl_setting_t *set;
    const char *name;

    if (why == SECURE_EMPTY_PROTOCOL && ctx != NULL) {
        int lo = (int)SSL_CTX_get_min_proto_version(ctx), hi = (int)SSL_CTX_get_max_proto_version(ctx);
        return apr_psprintf(p, "%s, whose TLS context allows %s to %s (SSLProtocol, SSLOpenSSLConfCmd "
                            "MinProtocol/MaxProtocol, OpenSSL's configuration)",
                            secure_sslconf_conflict(p, v, why, NULL), lo ? secure_protocol_name(lo) : "any",
                            hi ? secure_protocol_name(hi) : "TLSv1.3");
    }

    switch (why) {
    case SECURE_EMPTY_PROTOCOL: set = &v->protocol; name = "SSLProtocol"; break;
    case SECURE_EMPTY_CIPHERS:  set = &v->ciphers;  name = "SSLCipherSuite"; break;
    case SECURE_EMPTY_SUITES:   set = &v->suites;   name = "SSLCipherSuite TLSv1.3"; break;
    case SECURE_EMPTY_GROUPS:   set = &v->groups;   name = "SSLOpenSSLConfCmd Groups"; break;
    default: return "the TLS settings mod_ssl was given";
    }
    if (set->value == NULL)
        return apr_psprintf(p, "%s (not set: mod_ssl's / OpenSSL's default)", name);
    return apr_psprintf(p, "%s '%s' (%s:%d)", name, set->value, set->file, set->line);
}

