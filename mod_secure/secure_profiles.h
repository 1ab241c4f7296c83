/* secure_profiles — the TLS profiles behind `SecurePolicy` (one table) and the OpenSSL work on them that
 * needs no httpd types: resolving a profile into rule sets, narrowing an SSL_CTX to a rule set, and checking
 * a finished handshake against one. Nothing here logs; callers put the words into the error log. */
#ifndef SECURE_PROFILES_H
#define SECURE_PROFILES_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

/* The Mozilla Server Side TLS suites and groups the profiles share. */
#define SECURE_SUITES_MOZ "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define SECURE_CIPHERS_ECDHE_AEAD \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define SECURE_GROUPS_MOZ "X25519MLKEM768:X25519:prime256v1:secp384r1"

/* NIST SP 800-52 Rev. 2 (August 2019), "Guidelines for the Selection, Configuration, and Use of TLS
 * Implementations", server side:
 *   protocols  3.1 (servers for government-only applications: TLS 1.2, TLS 1.3; not TLS 1.1 or older)
 *   TLS 1.2    3.3.1.1, the ephemeral suites for ECDSA certificates (3.3.1.1.1) and for RSA certificates
 *              (3.3.1.1.2), in the document's order of preference: AES-GCM, AES-CCM, AES-CBC; the lists for
 *              DSA and static DH / ECDH certificates are left out (mod_ssl serves RSA and ECDSA keys)
 *   TLS 1.3    3.3.1.2: AES-GCM and AES-CCM suites (no ChaCha20-Poly1305: not a NIST-approved cipher)
 *   groups     the supported-groups guidance of section 3.4 (TLS extensions): the NIST curves P-256, P-384,
 *              P-521 and the RFC 7919 groups of 2048 bits and more (X25519 is not a NIST-approved curve there)
 *   keys       3.2.1 (server) and 4.2.1 (client certificates): RSA >= 2048 bits, ECDSA >= P-256 */
#define SECURE_CIPHERS_NIST \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES256-CCM:" \
    "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES256-CCM8:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:" \
    "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:" \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:" \
    "DHE-RSA-AES128-CCM:DHE-RSA-AES256-CCM:DHE-RSA-AES128-CCM8:DHE-RSA-AES256-CCM8:" \
    "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:" \
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA"
#define SECURE_SUITES_NIST "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"
#define SECURE_GROUPS_NIST "prime256v1:secp384r1:secp521r1:ffdhe2048:ffdhe3072:ffdhe4096"

/* CNSA 1.0 (CNSSP 15) as applied to TLS by RFC 9151, "Commercial National Security Algorithm (CNSA) Suite
 * Profile for TLS and DTLS 1.2 and 1.3" (April 2022):
 *   protocols  TLS 1.2 and TLS 1.3 (RFC 9151 sections 6 and 7)
 *   TLS 1.2    section 6 ((D)TLS 1.2 requirements): TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
 *              TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384; TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 is left out on
 *              purpose: in TLS 1.2 the DH group size is not negotiated, mod_ssl derives it from the
 *              certificate's key, and CNSA wants DH >= 3072 bits (a narrower list is still CNSA)
 *   TLS 1.3    section 7 ((D)TLS 1.3 requirements): TLS_AES_256_GCM_SHA384 only
 *   groups     sections 4.1 (key establishment) and 5 (compliance): ECDH over P-384, DH with 3072 bits or
 *              more (RFC 7919)
 *   keys       section 4.2 (authentication): RSA >= 3072 bits, ECDSA over P-384 */
#define SECURE_CIPHERS_CNSA "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
#define SECURE_GROUPS_CNSA "secp384r1:ffdhe3072:ffdhe4096"

/* The one profile table: X(name, version, source, lowest protocol, highest protocol, TLS<=1.2 ciphers,
 * TLS 1.3 suites, groups, client RSA floor, client EC floor). version is the short citation that
 * SECURE_POLICY_VERSION carries; source the document. Protocols and ciphers are written as OpenSSL spells
 * them so that the help text and README print them as is. The Mozilla rows are checked against verbatim
 * copies of the guidelines' JSON (t/guidelines/, t/unit/test_guidelines.c): modern and intermediate from 6.0,
 * old from 5.8, the last version that has it. Adding a profile is adding a line. */
#define SECURE_PROFILES(X) \
    X("modern", "mozilla-6.0", "Mozilla Server Side TLS v6.0", "TLSv1.3", "TLSv1.3", "", SECURE_SUITES_MOZ, \
      SECURE_GROUPS_MOZ, 2048, 256) \
    X("intermediate", "mozilla-6.0", "Mozilla Server Side TLS v6.0", "TLSv1.2", "TLSv1.3", SECURE_CIPHERS_ECDHE_AEAD, \
      SECURE_SUITES_MOZ, SECURE_GROUPS_MOZ, 2048, 256) \
    X("old", "mozilla-5.8", "Mozilla Server Side TLS v5.8", "TLSv1", "TLSv1.3", SECURE_CIPHERS_ECDHE_AEAD \
      ":ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA" \
      ":ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA" \
      ":AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA", \
      SECURE_SUITES_MOZ, SECURE_GROUPS_MOZ, 2048, 256) \
    X("nist-800-52r2", "nist-sp800-52r2", "NIST SP 800-52 Rev. 2 (2019), sections 3.1, 3.2.1, 3.3.1.1, 3.3.1.2, " \
      "4.2.1", "TLSv1.2", "TLSv1.3", SECURE_CIPHERS_NIST, SECURE_SUITES_NIST, SECURE_GROUPS_NIST, 2048, 256) \
    X("cnsa", "cnsa-1.0", "CNSA 1.0 for TLS, RFC 9151 sections 4 to 7", "TLSv1.2", "TLSv1.3", SECURE_CIPHERS_CNSA, \
      "TLS_AES_256_GCM_SHA384", SECURE_GROUPS_CNSA, 3072, 384)

/* The table as text, a line per profile, for the SecurePolicy directive's help string (a literal). */
#define SECURE_PROFILE_HELP(name, version, source, lo, hi, ciphers, suites, groups, rsa, ec) \
    "\n  " name " (" source "): " lo " to " hi "; TLS<=1.2 ciphers: " ciphers "; TLS 1.3 suites: " suites \
    "; groups: " groups "; client keys: rsa:" #rsa " ec:" #ec
#define SECURE_PROFILES_HELP SECURE_PROFILES(SECURE_PROFILE_HELP)

typedef struct secure_profile {
    const char *name;
    const char *version;                /* "mozilla-6.0": the guideline and its version */
    const char *source;
    const char *min_protocol, *max_protocol;
    const char *ciphers, *suites;
    const char *groups;                 /* "": any group (the floors-only pseudo-profile) */
    int rsa_min, ec_min;                /* client certificate key floors, bits (0: none) */
} secure_profile_t;

/* The table (static), its length, and a profile by name (case-insensitive), or NULL. */
extern const secure_profile_t secure_profiles[];
/* The pseudo-profile of a vhost that sets floors (SecureMinProtocol, SecureCipherExclude, SecureGroups,
 * SecureClientKeyMin, SecureClientAllowSHA1) without SecurePolicy: every protocol, cipher, suite and group
 * OpenSSL has, no key floor; mod_ssl's settings and the floors decide. Not in the table: `SecurePolicy` and
 * `Require secure-policy` do not accept its name, "none". */
extern const secure_profile_t secure_profile_none;
size_t secure_profiles_count(void);
const secure_profile_t *secure_profile_find(const char *name);

#define SECURE_RULES_MAX_CIPHERS 256     /* every TLS <= 1.2 cipher OpenSSL 3 has (secure_profile_none) */
#define SECURE_RULES_MAX_GROUPS  16

/* What a handshake may negotiate: a profile, tightened by a vhost's Secure* directives. */
typedef struct secure_rules {
    int min_version, max_version;                  /* TLS1_VERSION .. TLS1_3_VERSION */
    uint16_t ciphers[SECURE_RULES_MAX_CIPHERS];    /* TLS <= 1.2 cipher IDs (IANA code points) */
    size_t n_ciphers;
    uint16_t suites[8];                            /* TLS 1.3 suite IDs */
    size_t n_suites;
    int group_nids[SECURE_RULES_MAX_GROUPS];       /* groups this OpenSSL knows, in preference order */
    size_t n_groups;
    char groups[256];                              /* the same as an OpenSSL groups list */
    int any_group;                                 /* no group rule: mod_ssl's groups stand (n_groups 0) */
    int rsa_min, ec_min;                           /* client certificate key floors, bits (0: none) */
    int allow_weak_sig;                            /* accept SHA-1 / MD5 signatures in client chains */
} secure_rules_t;

/* The reason a narrowing or a rule set is empty. */
typedef enum {
    SECURE_EMPTY_NONE = 0,
    SECURE_EMPTY_PROTOCOL,    /* no protocol version left */
    SECURE_EMPTY_CIPHERS,     /* TLS <= 1.2 in range, but no cipher left */
    SECURE_EMPTY_SUITES,      /* TLS 1.3 in range, but no suite left */
    SECURE_EMPTY_GROUPS,      /* no key-exchange group left */
    SECURE_EMPTY_OPENSSL,     /* OpenSSL refused a setting (its error queue says why) */
} secure_empty_t;

/* Walks a ':'-separated list: copies the next entry into item (NUL-terminated; an entry longer than item_len
 * is cut) and advances *cursor. Returns 1 while there was an entry (possibly empty), 0 at the end. */
int secure_list_next(const char **cursor, char *item, size_t item_len);

/* Protocol name <-> version: "TLSv1.2" <-> TLS1_2_VERSION (0 / NULL when unknown). */
int secure_protocol_version(const char *name);
const char *secure_protocol_name(int version);

/* OpenSSL NID of a group name ("X25519", "prime256v1", "P-256", "secp256r1", "ffdhe2048"), or NID_undef when
 * this OpenSSL does not know the group. */
int secure_group_nid(const char *name);
/* True when name is a group any profile lists (known even where this OpenSSL lacks it, e.g. ML-KEM). */
int secure_group_in_profiles(const char *name);

/* Builds the rules of profile prof tightened by min_version (0: none), exclude (an OpenSSL cipher string for
 * TLS <= 1.2 whose TLS_* entries name TLS 1.3 suites; NULL: none) and groups (a ':' list; NULL: the
 * profile's). Groups this OpenSSL lacks are left out and named in *skipped (static buffer of the caller:
 * skipped/skipped_len, may be NULL). A profile without groups ("", secure_profile_none) and no groups
 * argument give any_group: no group rule at all. The key floors are the profile's. Returns SECURE_EMPTY_NONE,
 * or what ended up empty. */
secure_empty_t secure_rules_build(secure_rules_t *rules, const secure_profile_t *prof, int min_version,
                                  const char *exclude, const char *groups, char *skipped, size_t skipped_len);

/* The narrowed settings of an SSL_CTX, as text for the log (caller's buffers). */
typedef struct secure_narrowed {
    int min_version, max_version;
    char ciphers[2048];
    char suites[256];
    char groups[256];
} secure_narrowed_t;

/* Narrows ctx to what both its current settings and rules allow: protocol range, TLS <= 1.2 cipher list
 * (in ctx's order), TLS 1.3 suites, groups. ssl_groups: the groups list mod_ssl was configured with (NULL: the
 * library default, which holds every profile group); with rules->any_group the groups are left as they are.
 * Nothing is changed when the result would be empty.
 * Returns SECURE_EMPTY_NONE, or what would be empty; out (may be NULL) gets the result. OpenSSL errors stay
 * on the error queue for the caller to log. */
secure_empty_t secure_rules_narrow(SSL_CTX *ctx, const secure_rules_t *rules, const char *ssl_groups,
                                   secure_narrowed_t *out);

/* Which rules a finished handshake breaks. */
enum {
    SECURE_RULE_PROTOCOL   = 1 << 0,
    SECURE_RULE_CIPHER     = 1 << 1,
    SECURE_RULE_GROUP      = 1 << 2,
    SECURE_RULE_CLIENT_KEY = 1 << 3,
    SECURE_RULE_CLIENT_SIG = 1 << 4,
};
#define SECURE_RULE_COUNT 5
/* Rule name as used in SECURE_POLICY_VIOLATION ("protocol", "cipher", "group", "client_key", "client_sig"). */
const char *secure_rule_name(int index);

/* Checks the negotiated parameters of ssl (and, with check_client, the client's certificate chain) against
 * rules. Returns a mask of SECURE_RULE_* broken (0: pass); buf gets "protocol:TLSv1.1 cipher:AES128-SHA ..."
 * (NUL-terminated, truncated to bufsz). */
int secure_rules_check(const secure_rules_t *rules, SSL *ssl, int check_client, char *buf, size_t bufsz);

/* Checks one client certificate against the key floors and, when check_sig is true, the signature rule.
 * Pass check_sig 0 for a self-signed certificate (a trust anchor: its own signature proves nothing, so its
 * algorithm is not held against it), 1 for every other. Returns a mask of SECURE_RULE_CLIENT_KEY /
 * SECURE_RULE_CLIENT_SIG; what (may be NULL) gets "rsa:1024" or "sha1WithRSAEncryption". */
int secure_rules_check_cert(const secure_rules_t *rules, X509 *cert, int check_sig, char *what, size_t what_len);

/* True when the group ssl negotiated is one the rules allow; no group (RSA key exchange, or not negotiated
 * yet) is allowed. name (may be NULL) gets the group's name for the log. */
int secure_rules_group_ok(const secure_rules_t *rules, SSL *ssl, char *name, size_t name_len);

#endif /* SECURE_PROFILES_H */
