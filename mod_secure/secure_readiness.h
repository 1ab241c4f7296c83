/* secure_readiness — could this ClientHello complete a handshake under these rules? The judgement behind
 * mod_secure_policy_readiness_total: the versions, TLS 1.3 suites, TLS <= 1.2 ciphers and groups the client
 * offered against a rule set (a built-in profile or a vhost's policy). Pure C (no httpd or APR types, no
 * allocation), so unit tests and the fuzzer call it directly; a few hundred compares per call. */
#ifndef SECURE_READINESS_H
#define SECURE_READINESS_H

#include "secure_hello.h"
#include "secure_profiles.h"

/* The outcome: ready, or the first thing that would fail (protocol before cipher before group). */
typedef enum {
    SECURE_READY = 0,
    SECURE_READY_NO_PROTOCOL,   /* no version the client offers is in the rules' range */
    SECURE_READY_NO_CIPHER,     /* a shared version, but no shared TLS 1.3 suite / TLS <= 1.2 cipher */
    SECURE_READY_NO_GROUP,      /* a shared version and cipher, but no shared key-exchange group */
    SECURE_READY_OUTCOMES
} secure_ready_t;

/* Judges hello h against rules. Only what the client offered is judged (the server's certificate type and
 * signature algorithms are not: the built-in profiles name none). */
secure_ready_t secure_readiness_check(const secure_hello_t *h, const secure_rules_t *rules);

/* Static label of an outcome: "ready", "protocol", "cipher", "group". */
const char *secure_readiness_name(secure_ready_t r);

#endif /* SECURE_READINESS_H */
