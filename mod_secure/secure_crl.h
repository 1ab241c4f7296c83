/* secure_crl — the CRL store of one vhost (SecureCRL): loads PEM / DER CRL files and directories through
 * the CRL core (secure_crlcore.h: the rules every CRL passes, compaction, lookups), verifies each CRL
 * against the vhost's trusted CAs, reloads changed files without a restart (keeping the last good copy
 * when a new one fails), keeps a copy of every verified file in DefaultRuntimeDir so that a restart
 * while a file is corrupt still knows its revocations, and answers "is this serial revoked" in
 * O(log n). Loaded data is held in reference-counted generations: a reload parses outside any lock and
 * swaps one pointer, and a generation is freed when its last reader releases it. */
#ifndef SECURE_CRL_H
#define SECURE_CRL_H

#include "httpd.h"
#include "http_config.h"
#include <openssl/x509.h>

#include "secure_types.h"

typedef struct secure_crl_store secure_crl_store_t;

/* Creates the store for vhost s over paths (const char * each: files or directories) and loads them now
 * (failures are logged and counted, never fatal; a file that does not verify falls back to its last
 * verified copy). trust is up-referenced and used to verify CRL signatures. Everything is released by
 * a cleanup on p (pconf). */
secure_crl_store_t *secure_crl_store_create(server_rec *s, apr_pool_t *p, const apr_array_header_t *paths,
                                            X509_STORE *trust);
/* Stats every file and reloads the changed, added or removed ones; publishes a new generation when
 * anything changed. Any thread may call it: while one reload runs, another call returns 0 at once
 * (skipped). Returns the number of files whose content changed. */
int secure_crl_store_refresh(secure_crl_store_t *st);
/* Looks cert (issued by issuer) up in the newest generation. Sets *v and returns its status: GOOD or
 * REVOKED from a covering CRL that is fresh (nextUpdate + max_stale not passed), REVOKED also from a
 * covering CRL that is not fresh (except certificateHold), UNKNOWN when the only covering CRLs are not
 * fresh (v->detail says why), NONE when no loaded CRL covers cert. Strings in *v come from p. */
secure_rev_status_t secure_crl_lookup(secure_crl_store_t *st, X509 *cert, X509 *issuer, long max_stale,
                                      secure_verdict_t *v, apr_pool_t *p);
/* Number of CRLs in the current generation (tests, status). */
int secure_crl_count(secure_crl_store_t *st);

#endif /* SECURE_CRL_H */
