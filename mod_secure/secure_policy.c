/* secure_policy — SecurePolicy: config, startup checks, SSL_CTX narrowing, handshake and request checks,
 * report mode and `Require secure-policy`. */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_cfgtree.h"
#include "mod_auth.h"
#include "ap_provider.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "secure_compat.h"
#include "secure_config.h"
#include "secure_conn.h"
#include "secure_log.h"
#include "secure_ossl.h"
#include "secure_policy.h"
#include "secure_profiles.h"
#include "secure_sslconf.h"
#include "secure_status.h"
#include "secure_util.h"

APLOG_USE_MODULE(secure);

/* Report-mode and handshake-refusal lines: at most one per vhost and rule in this many seconds per process;
 * the next line says how many were held back. */
#define SECURE_POLICY_LOG_INTERVAL 10

typedef struct {
    volatile apr_uint32_t last;         /* second of the last line written, 0: never */
    volatile apr_uint32_t suppressed;   /* lines held back since */
} secure_ratelimit_t;

/* A vhost's policy, built once per config pass in check_config (pconf) and read-only afterwards except for
 * the log rate limiters. */
typedef struct secure_policy_state {
    const secure_profile_t *profile;    /* &secure_profile_none: floors without SecurePolicy */
    const char *label;                  /* for the log: "SecurePolicy intermediate" / "the Secure* floors" */
    const char *version;                /* SECURE_POLICY_VERSION: "mozilla-6.0 intermediate", "none" */
    int report;
    secure_rules_t rules;
    secure_sslconf_t ssl;
    secure_ratelimit_t rl[SECURE_RULE_COUNT];
} secure_policy_state_t;

struct secure_policy_conf {
    const secure_profile_t *profile;    /* SecurePolicy; NULL: unset */
    int mode;                           /* SecurePolicyMode: SECURE_UNSET, 0 enforce, 1 report */
    int min_version;                    /* SecureMinProtocol: SECURE_UNSET or a TLS version */
    const char *exclude;                /* SecureCipherExclude */
    const char *groups;                 /* SecureGroups */
    int rsa_min, ec_min;                /* SecureClientKeyMin: SECURE_UNSET or bits */
    int allow_sha1;                     /* SecureClientAllowSHA1 */
};

/* The profiles' own rules (untightened), for `Require secure-policy`: built in check_config. */
static secure_rules_t *secure_profile_rules;

#define SECURE_PROFILE_NAME(name, version, source, lo, hi, ciphers, suites, groups, rsa, ec) name,
static const char *const secure_profile_names[] = { SECURE_PROFILES(SECURE_PROFILE_NAME) NULL };
#undef SECURE_PROFILE_NAME
static const char *const secure_mode_words[] = { "enforce", "report", NULL };
static const char *const secure_min_protocol_words[] = { "TLSv1.2", "TLSv1.3", NULL };

static secure_counter_t rule_counter(int i)
{
    static const secure_counter_t ctr[SECURE_RULE_COUNT] = {
        SECURE_CTR_POLICY_V_PROTOCOL, SECURE_CTR_POLICY_V_CIPHER, SECURE_CTR_POLICY_V_GROUP,
        SECURE_CTR_POLICY_V_CLIENTKEY, SECURE_CTR_POLICY_V_CLIENTSIG,
    };
    return ctr[i];
}

/* Index of the lowest rule bit in mask. */
static int first_rule(int mask)
{
    int i;

    for (i = 0; i < SECURE_RULE_COUNT; i++)
        if (mask & (1 << i))
            return i;
    return 0;
}

static void count_violation(int mask)
{
    int i;

    secure_status_count(SECURE_CTR_POLICY_VIOLATION);
    for (i = 0; i < SECURE_RULE_COUNT; i++)
        if (mask & (1 << i))
            secure_status_count(rule_counter(i));
}

/* True when this line may be written now; *held gets the number held back since the last one. */
static int ratelimit_pass(secure_ratelimit_t *rl, apr_uint32_t *held)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&rl->last);

    if ((last != 0 && now - last < SECURE_POLICY_LOG_INTERVAL) || apr_atomic_cas32(&rl->last, now, last) != last) {
        apr_atomic_inc32(&rl->suppressed);
        return 0;
    }
    *held = apr_atomic_xchg32(&rl->suppressed, 0);
    return 1;
}

/* Drains OpenSSL's error queue into one log line (why a setting was refused); nothing when it is empty. */
static void log_openssl_errors(server_rec *s, apr_pool_t *p)
{
    const char *errs = secure_ossl_errors(p);

    if (*errs)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, SECTAG(10209) "vhost %s: OpenSSL: %s", secure_config_vhost_name(s),
                     errs);
}

/* The vhost's policy state (its resolved object's), or NULL when it enforces none. */
static secure_policy_state_t *policy_state(const server_rec *s)
{
    const secure_vhost_t *vh = secure_vhost_get(s);

    return vh != NULL && secure_config_engine_on(s) ? vh->policy : NULL;
}

static struct secure_policy_conf *cmd_conf(cmd_parms *cmd)
{
    secure_srv_conf_t *conf = ap_get_module_config(cmd->server->module_config, &secure_module);
    return conf->policy;
}

/* ---- directives ---------------------------------------------------------------------------------- */

const char *secure_policy_cmd_policy(cmd_parms *cmd, void *dconf, const char *arg)
{
    int idx;
    const char *err = secure_arg_keyword(cmd, arg, secure_profile_names, &idx);

    (void)dconf;
    if (err == NULL)
        cmd_conf(cmd)->profile = &secure_profiles[idx];
    return err;
}

const char *secure_policy_cmd_mode(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_keyword(cmd, arg, secure_mode_words, &cmd_conf(cmd)->mode);
}

const char *secure_policy_cmd_min_protocol(cmd_parms *cmd, void *dconf, const char *arg)
{
    int idx;
    const char *err = secure_arg_keyword(cmd, arg, secure_min_protocol_words, &idx);

    (void)dconf;
    if (err == NULL)
        cmd_conf(cmd)->min_version = secure_protocol_version(secure_min_protocol_words[idx]);
    return err;
}

/* Each ':' entry must name something: TLS_* a TLS 1.3 suite, the rest together at least one cipher. */
const char *secure_policy_cmd_cipher_exclude(cmd_parms *cmd, void *dconf, const char *arg)
{
    SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
    const char *err = NULL, *p, *tls12 = "";
    char item[64];

    (void)dconf;
    if (scratch == NULL)
        return apr_psprintf(cmd->pool, "%s: OpenSSL cannot create a TLS context", cmd->cmd->name);
    SSL_CTX_set_security_level(scratch, 0);
    ERR_set_mark();
    for (p = arg; err == NULL && secure_list_next(&p, item, sizeof(item)); ) {
        if (!strncmp(item, "TLS_", 4)) {
            if (SSL_CTX_set_ciphersuites(scratch, item) != 1)
                err = apr_psprintf(cmd->pool, "%s: '%s' is not a TLS 1.3 suite this OpenSSL knows (%s)",
                                   cmd->cmd->name, item, SECURE_SUITES_MOZ ":TLS_AES_128_CCM_SHA256");
        }
        else if (*item) {
            tls12 = *tls12 ? apr_pstrcat(cmd->temp_pool, tls12, ":", item, NULL) : apr_pstrdup(cmd->temp_pool, item);
        }
    }
    if (err == NULL && *tls12 && SSL_CTX_set_cipher_list(scratch, tls12) != 1)
        err = apr_psprintf(cmd->pool, "%s: '%s' matches no cipher; use an OpenSSL cipher string such as "
                           "'CBC', 'AESCCM' or 'ECDHE-RSA-AES128-SHA' (see `openssl ciphers -v`), and TLS_* names "
                           "for TLS 1.3 suites", cmd->cmd->name, tls12);
    ERR_pop_to_mark();
    SSL_CTX_free(scratch);
    if (err == NULL)
        cmd_conf(cmd)->exclude = arg;
    return err;
}

const char *secure_policy_cmd_groups(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *p = arg;
    char item[64];

    (void)dconf;
    if (*arg == '\0')
        return apr_psprintf(cmd->pool, "%s: an empty list is not allowed; name groups such as X25519:prime256v1",
                            cmd->cmd->name);
    while (secure_list_next(&p, item, sizeof(item)))
        if (*item == '\0' || (secure_group_nid(item) == NID_undef && !secure_group_in_profiles(item)))
            return apr_psprintf(cmd->pool, "%s: '%s' is not a key-exchange group; use names such as "
                                "X25519MLKEM768, X25519, prime256v1 (P-256), secp384r1 (P-384), separated by ':'",
                                cmd->cmd->name, item);
    cmd_conf(cmd)->groups = arg;
    return NULL;
}

const char *secure_policy_cmd_client_key_min(cmd_parms *cmd, void *dconf, const char *arg)
{
    struct secure_policy_conf *pc = cmd_conf(cmd);
    const char *colon = strchr(arg, ':');
    long bits;

    (void)dconf;
    if (colon != NULL && secure_parse_long(colon + 1, &bits) == 0) {
        if (!strncasecmp(arg, "rsa:", 4) && bits >= 1024 && bits <= 16384) {
            pc->rsa_min = (int)bits;
            return NULL;
        }
        if (!strncasecmp(arg, "ec:", 3) && bits >= 160 && bits <= 571) {
            pc->ec_min = (int)bits;
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool, "%s: '%s' is not allowed; use rsa:BITS (1024 to 16384) and/or ec:BITS "
                        "(160 to 571), e.g. SecureClientKeyMin rsa:3072 ec:256", cmd->cmd->name, arg);
}

const char *secure_policy_cmd_allow_sha1(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
    return secure_arg_flag(cmd, arg, &cmd_conf(cmd)->allow_sha1);
}

/* ---- create / merge ------------------------------------------------------------------------------- */

struct secure_policy_conf *secure_policy_create_srv(apr_pool_t *p)
{
    struct secure_policy_conf *pc = apr_pcalloc(p, sizeof(*pc));

    pc->mode = SECURE_UNSET;
    pc->min_version = SECURE_UNSET;
    pc->rsa_min = SECURE_UNSET;
    pc->ec_min = SECURE_UNSET;
    pc->allow_sha1 = SECURE_UNSET;
    return pc;
}

struct secure_policy_conf *secure_policy_merge_srv(apr_pool_t *p, const struct secure_policy_conf *base,
                                                   const struct secure_policy_conf *add)
{
    struct secure_policy_conf *conf = apr_pcalloc(p, sizeof(*conf));

    SECURE_MERGE_PTR(profile);
    SECURE_MERGE_INT(mode);
    SECURE_MERGE_INT(min_version);
    SECURE_MERGE_PTR(exclude);
    SECURE_MERGE_PTR(groups);
    SECURE_MERGE_INT(rsa_min);
    SECURE_MERGE_INT(ec_min);
    SECURE_MERGE_INT(allow_sha1);
    return conf;
}

static const char *empty_what(secure_empty_t why)
{
    switch (why) {
    case SECURE_EMPTY_PROTOCOL: return "no protocol version";
    case SECURE_EMPTY_CIPHERS:  return "no TLS 1.2-or-older cipher";
    case SECURE_EMPTY_SUITES:   return "no TLS 1.3 suite";
    case SECURE_EMPTY_GROUPS:   return "no key-exchange group";
    default:                    return "nothing OpenSSL accepts";
    }
}

/* What the policy allows on the axis that came out empty, for the message. */
static const char *allowed_text(apr_pool_t *p, const secure_policy_state_t *st, secure_empty_t why)
{
    switch (why) {
    case SECURE_EMPTY_PROTOCOL:
        return apr_psprintf(p, "%s to %s", secure_protocol_name(st->rules.min_version),
                            secure_protocol_name(st->rules.max_version));
    case SECURE_EMPTY_CIPHERS:
        return st->profile == &secure_profile_none ? "mod_ssl's ciphers except SecureCipherExclude's"
                                                   : st->profile->ciphers;
    case SECURE_EMPTY_SUITES:
        return st->profile == &secure_profile_none ? "mod_ssl's TLS 1.3 suites except SecureCipherExclude's"
                                                   : st->profile->suites;
    case SECURE_EMPTY_GROUPS:   return st->rules.groups;
    default:                    return "";
    }
}

/* ---- check_config: every vhost's rules, and the startup refusal of an empty intersection ---------------- */

static int log_this_pass(void)
{
    return ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG
           || ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL;
}

/* Each SecureGroups entry must be one the profile lists (tightening only). NULL or an error text. */
static const char *groups_outside_profile(apr_pool_t *p, const struct secure_policy_conf *pc)
{
    const char *list = pc->groups;
    char w[64], pw[64];

    while (list != NULL && secure_list_next(&list, w, sizeof(w))) {
        const char *pl = pc->profile->groups;
        int nid = secure_group_nid(w), ok = 0;

        while (!ok && secure_list_next(&pl, pw, sizeof(pw)))
            ok = !strcasecmp(pw, w) || (nid != NID_undef && secure_group_nid(pw) == nid);
        if (!ok)
            return apr_psprintf(p, "SecureGroups '%s' is not in SecurePolicy %s (groups %s): SecureGroups can only "
                                "narrow the profile", w, pc->profile->name, pc->profile->groups);
    }
    return NULL;
}

int secure_policy_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *main_s)
{
    server_rec *s;
    char skipped[256] = "", sk[256];
    size_t i, n = secure_profiles_count();
    int rc = OK;

    (void)plog;

    /* the untightened profiles, for `Require secure-policy` */
    secure_profile_rules = apr_pcalloc(pconf, sizeof(*secure_profile_rules) * n);
    for (i = 0; i < n; i++) {
        secure_rules_build(&secure_profile_rules[i], &secure_profiles[i], 0, NULL, NULL, sk, sizeof(sk));
        if (*sk && !strstr(skipped, sk))
            apr_cpystrn(skipped + strlen(skipped), apr_psprintf(ptemp, "%s%s", *skipped ? ", " : "", sk),
                        sizeof(skipped) - strlen(skipped));
    }
    if (*skipped && log_this_pass())
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_s,
                     SECTAG(10201) "SecurePolicy: %s lacks the group(s) %s; the profiles go without them",
                     OpenSSL_version(OPENSSL_VERSION), skipped);

    for (s = main_s; s != NULL; s = s->next) {
        struct secure_policy_conf *pc = secure_config_srv(s)->policy;
        secure_vhost_t *vh = secure_vhost_get(s);
        const secure_profile_t *prof;
        secure_policy_state_t *st;
        secure_empty_t why;
        const char *err;
        SSL_CTX *scratch = NULL;

        if (vh == NULL)
            return HTTP_INTERNAL_SERVER_ERROR;      /* secure_vhosts_build runs first in check_config */
        vh->policy = NULL;
        if (!secure_config_engine_on(s))
            continue;
        prof = pc->profile;
        if (prof == NULL) {
            /* Floors without a profile apply on their own, on top of mod_ssl's settings. */
            if (pc->min_version == SECURE_UNSET && pc->exclude == NULL && pc->groups == NULL
                && pc->rsa_min == SECURE_UNSET && pc->ec_min == SECURE_UNSET && pc->allow_sha1 == SECURE_UNSET) {
                if (pc->mode != SECURE_UNSET)
                    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                                 SECTAG(10200) "vhost %s: SecurePolicyMode has no effect without SecurePolicy or "
                                 "a floor (SecureMinProtocol, SecureCipherExclude, SecureGroups, SecureClientKeyMin, "
                                 "SecureClientAllowSHA1)", secure_config_vhost_name(s));
                continue;
            }
            prof = &secure_profile_none;
        }
        else if ((err = groups_outside_profile(ptemp, pc)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SECTAG(10202) "vhost %s: %s", secure_config_vhost_name(s), err);
            rc = HTTP_INTERNAL_SERVER_ERROR;
            continue;
        }
        st = apr_pcalloc(pconf, sizeof(*st));
        st->profile = prof;
        st->label = prof == &secure_profile_none ? "the Secure* floors (no SecurePolicy)"
                                                 : apr_pstrcat(pconf, "SecurePolicy ", prof->name, NULL);
        st->version = prof == &secure_profile_none ? "none" : apr_pstrcat(pconf, prof->version, " ", prof->name, NULL);
        st->report = pc->mode == 1;
        why = secure_rules_build(&st->rules, prof, pc->min_version == SECURE_UNSET ? 0 : pc->min_version,
                                 pc->exclude, pc->groups, skipped, sizeof(skipped));
        if (why != SECURE_EMPTY_NONE) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         SECTAG(10203) "vhost %s: %s tightened by SecureMinProtocol / SecureCipherExclude / "
                         "SecureGroups leaves %s to negotiate%s%s", secure_config_vhost_name(s), st->label,
                         empty_what(why), *skipped ? "; groups this OpenSSL lacks: " : "", skipped);
            rc = HTTP_INTERNAL_SERVER_ERROR;
            continue;
        }
        /* the profile's floors (none for secure_profile_none), unless a directive says otherwise; without a
         * profile, SHA-1 signatures are refused only when SecureClientAllowSHA1 off is written */
        if (pc->rsa_min != SECURE_UNSET)
            st->rules.rsa_min = pc->rsa_min;
        if (pc->ec_min != SECURE_UNSET)
            st->rules.ec_min = pc->ec_min;
        st->rules.allow_weak_sig = pc->allow_sha1 == SECURE_UNSET ? prof == &secure_profile_none
                                                                  : pc->allow_sha1 == 1;
        st->ssl = secure_sslconf_view(pconf, s);
        vh->policy = st;

        /* What init_server will do to the real context, done now on a scratch one built from the same
         * directives, so that `httpd -t` refuses what startup would refuse. */
        if (st->report || st->ssl.engine.value == NULL
            || (strcasecmp(st->ssl.engine.value, "on") && strcasecmp(st->ssl.engine.value, "optional")))
            continue;
        if ((scratch = SSL_CTX_new(TLS_server_method())) == NULL) {
            log_openssl_errors(s, ptemp);
            continue;
        }
        ERR_set_mark();
        if (st->ssl.protocol.value)
            (void)secure_sslconf_apply_protocol(scratch, ptemp, st->ssl.protocol.value);
        if (st->ssl.ciphers.value)
            (void)SSL_CTX_set_cipher_list(scratch, st->ssl.ciphers.value);
        if (st->ssl.suites.value)
            (void)SSL_CTX_set_ciphersuites(scratch, st->ssl.suites.value);
        ERR_pop_to_mark();      /* a value mod_ssl itself refuses is mod_ssl's to report */
        why = secure_rules_narrow(scratch, &st->rules, st->ssl.groups.value, NULL);
        secure_ossl_discard("OpenSSL refusing a setting on the scratch context is reported by init_server on "
                            "the real one (SEC10211)");
        SSL_CTX_free(scratch);
        if (why != SECURE_EMPTY_NONE && why != SECURE_EMPTY_OPENSSL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         SECTAG(10204) "vhost %s: %s and %s leave %s to negotiate (the policy allows: "
                         "%s); widen that mod_ssl directive, choose another SecurePolicy, or use "
                         "SecurePolicyMode report", secure_config_vhost_name(s), st->label,
                         secure_sslconf_conflict(ptemp, &st->ssl, why, NULL), empty_what(why), allowed_text(ptemp, st, why));
            rc = HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return rc;
}

/* ---- handshake --------------------------------------------------------------------------------------- */

static void log_refusal(secure_policy_state_t *st, server_rec *s, secure_conn_t *sc, int mask, int tag_handshake,
                        const char *detail)
{
    apr_uint32_t held = 0;
    int rule = first_rule(mask);

    if (!ratelimit_pass(&st->rl[rule], &held))
        return;
    /* one message, two tags: refusals in the handshake and of client certificates are told apart */
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "%svhost %s, client %s: %s refused the %s: %s (%u similar refusals held back "
                 "in the last %d s)", tag_handshake ? SECTAG(10220) : SECTAG(10221),
                 secure_config_vhost_name(s), sc != NULL ? sc->c->client_ip : "-", st->label,
                 tag_handshake ? "handshake" : "client certificate", detail, held, SECURE_POLICY_LOG_INTERVAL);
}

/* Runs after the SNI switch, in the context of the vhost the client named: the protocol floor and groups
 * that context narrowing cannot carry through SNI. */
static int policy_cert_cb(SSL *ssl, void *arg)
{
    secure_policy_state_t *st = arg;
    server_rec *s = secure_conn_ctx_server(ssl);        /* NULL: logged under the main server */
    int v = SSL_version(ssl);
    char group[64], detail[128];

    if (v < st->rules.min_version || v > st->rules.max_version) {
        apr_snprintf(detail, sizeof(detail), "protocol:%s", SSL_get_version(ssl));
        count_violation(SECURE_RULE_PROTOCOL);
        secure_status_count(SECURE_CTR_POLICY_REJECTED);
        secure_status_policy(s, SECURE_POLICY_REJECTED, SECURE_RULE_PROTOCOL);
        log_refusal(st, s, secure_conn_from_ssl(ssl), SECURE_RULE_PROTOCOL, 1, detail);
        return 0;
    }
    if (v >= TLS1_3_VERSION) {
        if (!secure_rules_group_ok(&st->rules, ssl, group, sizeof(group))) {
            apr_snprintf(detail, sizeof(detail), "group:%s", group);
            count_violation(SECURE_RULE_GROUP);
            secure_status_count(SECURE_CTR_POLICY_REJECTED);
            secure_status_policy(s, SECURE_POLICY_REJECTED, SECURE_RULE_GROUP);
            log_refusal(st, s, secure_conn_from_ssl(ssl), SECURE_RULE_GROUP, 1, detail);
            return 0;
        }
    }
    else if (!st->rules.any_group && SSL_set1_groups_list(ssl, st->rules.groups) != 1) {
        /* cannot happen for a list check_config accepted; refuse rather than negotiate outside the policy */
        secure_conn_t *sc = secure_conn_from_ssl(ssl);
        secure_status_count(SECURE_CTR_POLICY_REJECTED);
        secure_status_policy(s, SECURE_POLICY_REJECTED, SECURE_RULE_GROUP);
        if (sc == NULL) {
            secure_ossl_discard("no connection state to log with; SEC11301 says what was refused");
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, SECTAG(11301) "vhost %s: a client refused at the "
                         "handshake: OpenSSL refused to narrow its TLS <= 1.2 key-exchange groups to "
                         "%s (groups %s)", secure_config_vhost_name(s), st->label, st->rules.groups);
        }
        else
            ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, sc->c, SECTAG(11300) "vhost %s: client %s refused at the "
                          "handshake: OpenSSL refused to narrow its TLS <= 1.2 key-exchange groups to "
                          "%s (groups %s) (%s)", secure_config_vhost_name(s), sc->c->client_ip,
                          st->label, st->rules.groups, secure_ossl_errors(sc->c->pool));
        return 0;
    }
    return 1;
}

/* The profile's key sizes apply to the server's own certificates too (CNSA: RSA >= 3072, P-384); which
 * certificate is served is mod_ssl's configuration, so a short key is a warning, not a refusal. */
static void check_server_keys(server_rec *s, const secure_policy_state_t *st, SSL_CTX *ctx)
{
    X509 *current = SSL_CTX_get0_certificate(ctx);
    secure_rules_t floors;
    int more;
    char what[128];

    if (st->profile == &secure_profile_none || current == NULL || !log_this_pass())
        return;
    memset(&floors, 0, sizeof(floors));
    floors.rsa_min = st->profile->rsa_min;
    floors.ec_min = st->profile->ec_min;
    floors.allow_weak_sig = 1;
    ERR_set_mark();
    for (more = (int)SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); more == 1;
         more = (int)SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
        X509 *cert = SSL_CTX_get0_certificate(ctx);
        if (cert != NULL && secure_rules_check_cert(&floors, cert, 0, what, sizeof(what)) != 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SECTAG(11400) "vhost %s: %s asks for server keys of at least rsa:%d ec:%d, but the "
                         "certificate mod_ssl serves has %s (SSLCertificateFile); clients are served anyway",
                         secure_config_vhost_name(s), st->label, floors.rsa_min, floors.ec_min, what);
    }
    /* leave mod_ssl's current certificate as it was */
    for (more = (int)SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
         more == 1 && SSL_CTX_get0_certificate(ctx) != current;
         more = (int)SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT))
        ;
    ERR_pop_to_mark();      /* walking past the last certificate is how the walk ends, not an error */
}

apr_status_t secure_policy_init_server(server_rec *s, apr_pool_t *p, SSL_CTX *ctx)
{
    secure_policy_state_t *st = policy_state(s);
    secure_narrowed_t *nw;
    secure_empty_t why;

    if (st == NULL)
        return APR_SUCCESS;
    check_server_keys(s, st, ctx);
    secure_status_policy_rules(s, &st->rules);          /* readiness metrics: "configured" */
    if (st->report) {
        if (log_this_pass())
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         SECTAG(10213) "vhost %s: %s in report mode: TLS settings left as mod_ssl "
                         "made them, violations are recorded", secure_config_vhost_name(s), st->label);
        return APR_SUCCESS;
    }
    nw = apr_pcalloc(p, sizeof(*nw));
    why = secure_rules_narrow(ctx, &st->rules, st->ssl.groups.value, nw);
    if (why != SECURE_EMPTY_NONE) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     SECTAG(10211) "vhost %s: %s and %s leave %s to negotiate (the policy allows: "
                     "%s); widen that mod_ssl directive, choose another SecurePolicy, or use SecurePolicyMode report",
                     secure_config_vhost_name(s), st->label, secure_sslconf_conflict(p, &st->ssl, why, ctx),
                     empty_what(why), allowed_text(p, st, why));
        log_openssl_errors(s, p);
        return APR_EGENERAL;
    }
    SSL_CTX_set_cert_cb(ctx, policy_cert_cb, st);
    if (log_this_pass())
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     SECTAG(10210) "vhost %s: %s (enforce): protocols %s to %s; TLS<=1.2 ciphers: %s; "
                     "TLS 1.3 suites: %s; groups: %s", secure_config_vhost_name(s), st->label,
                     secure_protocol_name(nw->min_version), secure_protocol_name(nw->max_version),
                     *nw->ciphers ? nw->ciphers : "(none)", *nw->suites ? nw->suites : "(none)", nw->groups);
    return APR_SUCCESS;
}

int secure_policy_verify_cert(server_rec *s, secure_conn_t *sc, X509_STORE_CTX *ctx)
{
    secure_policy_state_t *st = policy_state(s);
    X509 *cert = X509_STORE_CTX_get_current_cert(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx), mask;
    char what[128], detail[192];

    if (st == NULL || st->report || cert == NULL)
        return 1;       /* report mode: the request-time check records what this would refuse */
    /* the trust anchor is the operator's choice (SSLCACertificateFile), not the client's */
    if (chain != NULL && depth == sk_X509_num(chain) - 1 && secure_self_signed(cert))
        return 1;
    mask = secure_rules_check_cert(&st->rules, cert, !secure_self_signed(cert), what, sizeof(what));
    if (mask == 0)
        return 1;
    X509_STORE_CTX_set_error(ctx, mask == SECURE_RULE_CLIENT_SIG ? X509_V_ERR_CA_MD_TOO_WEAK
                                  : depth == 0 ? X509_V_ERR_EE_KEY_TOO_SMALL : X509_V_ERR_CA_KEY_TOO_SMALL);
    count_violation(mask);
    secure_status_count(SECURE_CTR_POLICY_REJECTED);
    secure_status_policy(s, SECURE_POLICY_REJECTED, mask);
    apr_snprintf(detail, sizeof(detail), "%s:%s at chain depth %d (floors rsa:%d ec:%d%s)",
                 secure_rule_name(first_rule(mask)), what, depth, st->rules.rsa_min, st->rules.ec_min,
                 st->rules.allow_weak_sig ? "" : ", no SHA-1/MD5 signatures");
    log_refusal(st, s, sc, mask, 0, detail);
    return 0;
}

/* ---- first request ------------------------------------------------------------------------------------ */

int secure_policy_check_request(request_rec *r, secure_conn_t *sc)
{
    secure_policy_state_t *st = policy_state(r->server), *hs_st;
    server_rec *hs;
    const char *violation;
    char buf[512];
    int mask;

    if (st == NULL || sc->ssl == NULL)
        return OK;
    /* once per vhost, TLS session and client certificate: another Host vhost, a renegotiation or a
     * post-handshake authentication gets a fresh verdict */
    secure_conn_lock(sc);       /* HTTP/2 streams of one connection run on several threads */
    if (!sc->policy_checked || sc->policy_server != r->server || sc->policy_session != SSL_get_session(sc->ssl)
        || sc->policy_peer != SSL_get0_peer_certificate(sc->ssl)) {
        mask = secure_rules_check(&st->rules, sc->ssl, 1, buf, sizeof(buf));
        sc->policy_checked = 1;
        sc->policy_server = r->server;
        sc->policy_session = SSL_get_session(sc->ssl);
        sc->policy_peer = SSL_get0_peer_certificate(sc->ssl);
        sc->policy_result = mask ? "violation" : "pass";
        sc->policy_violation = mask ? apr_pstrdup(secure_conn_pool(sc, r->connection), buf) : NULL;
        violation = sc->policy_violation;
        secure_conn_unlock(sc);
        if (mask == 0) {
            secure_status_count(SECURE_CTR_POLICY_PASS);
            secure_status_policy(r->server, SECURE_POLICY_PASS, 0);
            return OK;
        }
        count_violation(mask);
        if (st->report) {
            apr_uint32_t held = 0;
            secure_status_policy(r->server, SECURE_POLICY_VIOLATION, mask);
            if (ratelimit_pass(&st->rl[first_rule(mask)], &held))
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                              SECTAG(10230) "vhost %s, client %s: %s (report mode) would refuse this "
                              "connection: %s (%u similar lines held back in the last %d s)",
                              secure_config_vhost_name(r->server), r->useragent_ip, st->label, buf, held,
                              SECURE_POLICY_LOG_INTERVAL);
            return OK;
        }
    }
    else {
        violation = sc->policy_violation;
        secure_conn_unlock(sc);
    }
    if (st->report || violation == NULL)
        return OK;

    /* The Host vhost refuses what the SNI vhost accepted: the client should ask that vhost on a connection
     * of its own (as mod_ssl answers an SNI / Host mismatch). */
    hs = secure_conn_ctx_server(sc->ssl);
    if (hs != NULL && hs != r->server
        && ((hs_st = policy_state(hs)) == NULL || secure_rules_check(&hs_st->rules, sc->ssl, 1, buf, sizeof(buf)) == 0)) {
        secure_status_count(SECURE_CTR_POLICY_MISDIRECTED);
        secure_status_policy(r->server, SECURE_POLICY_MISDIRECTED, 0);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SECTAG(10232) "vhost %s, client %s: Host names a vhost whose %s refuses this "
                      "connection (%s), negotiated with vhost %s: 421 Misdirected Request",
                      secure_config_vhost_name(r->server), r->useragent_ip, st->label, violation,
                      secure_config_vhost_name(hs));
        return HTTP_MISDIRECTED_REQUEST;
    }
    secure_status_count(SECURE_CTR_POLICY_REJECTED);
    secure_status_policy(r->server, SECURE_POLICY_REJECTED,             /* the rule, for the metric */
                         secure_rules_check(&st->rules, sc->ssl, 1, buf, sizeof(buf)));
    r->connection->keepalive = AP_CONN_CLOSE;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  SECTAG(10231) "vhost %s, client %s: %s refuses this connection: %s; answered 403 and "
                  "closed", secure_config_vhost_name(r->server), r->useragent_ip, st->label,
                  violation);
    return HTTP_FORBIDDEN;
}

/* mod_ssl renegotiates for a per-directory SSLVerifyClient / SSLCipherSuite in its access checker, after
 * post_read_request, with its own verify callback: look again before the handler runs. A pointer compare
 * when nothing changed. */
int secure_policy_fixups(request_rec *r)
{
    secure_conn_t *sc;
    int rc;

    if (r->main != NULL || !secure_config_engine_on(r->server) || (sc = secure_conn_get(r->connection)) == NULL
        || sc->ssl == NULL)
        return DECLINED;
    rc = secure_policy_check_request(r, sc);
    return rc == OK ? DECLINED : rc;
}

/* ---- Require secure-policy ------------------------------------------------------------------------------ */

/* The profile names for a message: "modern, intermediate, ... or cnsa". */
static const char *profile_names_text(apr_pool_t *p)
{
    const char *text = secure_profile_names[0];
    size_t i;

    for (i = 1; secure_profile_names[i] != NULL; i++)
        text = apr_pstrcat(p, text, secure_profile_names[i + 1] ? ", " : " or ", secure_profile_names[i], NULL);
    return text;
}

static const char *policy_authz_parse(cmd_parms *cmd, const char *line_text, const void **parsed)
{
    const char *line = line_text, *word = ap_getword_conf(cmd->temp_pool, &line);
    const secure_profile_t *prof = secure_profile_find(word);

    if (prof == NULL || *ap_getword_conf(cmd->temp_pool, &line))
        return apr_psprintf(cmd->pool, "Require secure-policy: '%s' is not allowed; use one profile: %s", line_text,
                            profile_names_text(cmd->temp_pool));
    *parsed = prof;
    return NULL;
}

static authz_status policy_authz_check(request_rec *r, const char *line_text, const void *parsed)
{
    const secure_profile_t *prof = parsed;
    secure_conn_t *sc = secure_conn_get(r->connection);
    char buf[512];

    (void)line_text;
    if (sc == NULL || sc->ssl == NULL || secure_profile_rules == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SECTAG(10241) "vhost %s, client %s: Require secure-policy %s: not a TLS connection with "
                      "SecureEngine on; access denied", secure_config_vhost_name(r->server), r->useragent_ip,
                      prof->name);
        return AUTHZ_DENIED;
    }
    if (secure_rules_check(&secure_profile_rules[prof - secure_profiles], sc->ssl, 0, buf, sizeof(buf)) == 0)
        return AUTHZ_GRANTED;
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  SECTAG(10240) "vhost %s, client %s: Require secure-policy %s not met for %s: %s",
                  secure_config_vhost_name(r->server), r->useragent_ip, prof->name, r->uri, buf);
    return AUTHZ_DENIED;
}

const authz_provider secure_policy_authz_provider = {
    &policy_authz_check,
    &policy_authz_parse,
};


/* ---- names for the variables ----------------------------------------------------------------------------- */

const char *secure_policy_name(const server_rec *s)
{
    const secure_policy_state_t *st = policy_state(s);
    return st ? st->profile->name : NULL;
}

const char *secure_policy_version(const server_rec *s)
{
    const secure_policy_state_t *st = policy_state(s);
    return st ? st->version : NULL;
}

const char *secure_policy_mode_name(const server_rec *s)
{
    const secure_policy_state_t *st = policy_state(s);
    return st ? secure_mode_words[st->report] : NULL;
}
