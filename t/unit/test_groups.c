/* Unit tests of the one group table (secure_hello.c: IANA code point, name, NID) and of the self-signed
 * check (secure_util.c) shared by the policy and revocation code. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "tap.h"
#include "x509_fixtures.h"
#include "secure_hello.h"
#include "secure_util.h"

void test_groups(void);

/* A certificate named cn, issued by issuer_cn and signed with key (self-signed when the names match and
 * key is its own). */
static X509 *make_cert(const char *cn, const char *issuer_cn, EVP_PKEY *pub, EVP_PKEY *signer)
{
    X509 *x = unit_cert_tbs(7, cn, issuer_cn, pub, 0, 3600);

    X509_sign(x, signer, EVP_sha256());
    return x;
}

static void test_self_signed(void)
{
    EVP_PKEY *ca = EVP_EC_gen("P-256"), *leaf = EVP_EC_gen("P-256");
    X509 *root, *child, *named_alike;

    if (!ok(ca != NULL && leaf != NULL, "EC keys generated for the self-signed checks"))
        return;
    root = make_cert("unit root", "unit root", ca, ca);
    child = make_cert("unit leaf", "unit root", leaf, ca);
    named_alike = make_cert("same name", "same name", leaf, ca);     /* self-issued, another key signed it */
    ok(secure_self_signed(root) == 1, "a root signed by its own key is self-signed");
    ok(secure_self_signed(child) == 0, "a leaf issued by another name is not self-signed");
    is_int(secure_self_signed(named_alike), X509_self_signed(named_alike, 0) == 1,
           "a self-issued certificate: the same answer as OpenSSL's X509_self_signed without the signature");
    X509_free(root);
    X509_free(child);
    X509_free(named_alike);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(leaf);
}

void test_groups(void)
{
    static const struct { uint16_t id; int nid; const char *name; } known[] = {
        { 23, NID_X9_62_prime256v1, "secp256r1" }, { 24, NID_secp384r1, "secp384r1" },
        { 25, NID_secp521r1, "secp521r1" },        { 29, NID_X25519, "x25519" },
        { 30, NID_X448, "x448" },                  { 0x0100, NID_ffdhe2048, "ffdhe2048" },
        { 0x0104, NID_ffdhe8192, "ffdhe8192" },    { 26, NID_brainpoolP256r1, "brainpoolP256r1" },
    };
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        is_str(secure_hello_group_name(known[i].id), known[i].name, "group 0x%04x is %s", known[i].id,
               known[i].name);
        is_str(secure_group_name_of_nid(known[i].nid), known[i].name, "NID %d (%s) is %s", known[i].nid,
               OBJ_nid2sn(known[i].nid), known[i].name);
        is_int(secure_group_nid_of_name(known[i].name), known[i].nid, "%s names NID %d", known[i].name,
               known[i].nid);
    }
    is_str(secure_hello_group_name(0x11ec), "X25519MLKEM768", "a hybrid without a NID is named by code point");
    ok(secure_hello_group_name(0x7777) == NULL, "an unregistered code point has no name");
    is_int(secure_group_nid_of_name("SECP256R1"), NID_X9_62_prime256v1, "names compare without case");
    is_int(secure_group_nid_of_name("X25519MLKEM768"), NID_undef, "a group without a NID maps to NID_undef");
    ok(secure_group_name_of_nid(NID_secp224r1) == NULL,
       "a NID outside the table keeps OpenSSL's own short name (no table name)");
    ok(secure_group_name_of_nid(NID_undef) == NULL, "NID_undef has no name");
    test_self_signed();
}
