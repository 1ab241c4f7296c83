#!/bin/sh
# bench/soak/pki.sh DIR OCSP-URL — the soak's throw-away PKI, made with openssl only (EC P-256, valid 30 days):
#   root.crt            trust anchor (CN=soak root CA)
#   ica-crl.crt         intermediate whose status comes from a local CRL (SecureCRL) and the deny list
#   ica-ocsp.crt        intermediate with no CRL; its leaves name OCSP-URL in their AIA: their status comes from
#                       the OCSP responder only (ica-crl's leaves name no responder, so that their queries, when
#                       no CRL answers, cannot trip the circuit breaker of the ica-ocsp responder)
#   client-cas.pem      root + both intermediates: the vhosts' SSLCACertificateFile (a CRL is verified only
#                       against CAs there, doc/revoke.md "Limits")
#   server.crt          localhost / 127.0.0.1, issued by the root
#   clients (leaf only, the intermediates are in client-cas.pem):
#     good.crt          ica-crl, in no list                    -> GOOD while a fresh CRL is in force
#     revoked.crt       ica-crl, in every CRL variant          -> REVOKED, never admitted
#     denied.crt        ica-crl, in the deny list only         -> refused by the deny list, never admitted
#     unknown.crt       ica-ocsp, absent from the responder's index -> UNKNOWN whatever the responder does
#     ocspgood.crt      ica-ocsp, "V" in the responder's index -> GOOD while the responder is healthy
#     ocsprevoked.crt   ica-ocsp, "R" in the responder's index -> REVOKED (UNKNOWN while it is not healthy)
#   crl-variants/       CRLs of ica-crl the soak rotates through (all list revoked.crt):
#     small.pem small.der big.pem big.der alt.pem   fresh (nextUpdate in 2 days)
#     expired.pem                                   nextUpdate passed a day ago
#     forged.pem        issuer name of ica-crl, signed by another key, does NOT list revoked.crt
#   ocsp/index.txt      the responder's database (openssl ocsp -index) for ica-ocsp
#   deny/               facts the deny-list writer uses (sha256 hex with and without colons, serial, DNs)
set -eu
D=$1
OCSP_URL=${2:?usage: pki.sh DIR OCSP-URL}
mkdir -p "$D" && cd "$D"
mkdir -p crl-variants ocsp deny work
q() { "$@" >/dev/null 2>&1 || { echo "pki.sh: failed: $*" >&2; exit 1; }; }
newkey() { q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
serial() { echo "0x$(openssl rand -hex 8)"; }

cat > work/ext.cnf <<X
[ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[client_ocsp]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:$OCSP_URL
X

newkey root.key
q openssl req -x509 -new -key root.key -out root.crt -days 30 -subj "/O=mod_secure soak/CN=soak root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# issue NAME SUBJECT ISSUER SECTION
issue() {
    newkey "$1.key"
    q openssl req -new -key "$1.key" -out "work/$1.csr" -subj "$2"
    q openssl x509 -req -in "work/$1.csr" -CA "$3.crt" -CAkey "$3.key" -set_serial "$(serial)" -days 30 \
        -extfile work/ext.cnf -extensions "$4" -out "$1.crt"
}
issue ica-crl "/O=mod_secure soak/CN=soak ICA crl" root ca
issue ica-ocsp "/O=mod_secure soak/CN=soak ICA ocsp" root ca
issue server "/O=mod_secure soak/CN=localhost" root server
for c in good revoked denied; do issue "$c" "/O=mod_secure soak/CN=soak client $c" ica-crl client; done
for c in unknown ocspgood ocsprevoked; do issue "$c" "/O=mod_secure soak/CN=soak client $c" ica-ocsp client_ocsp; done
cat root.crt ica-crl.crt ica-ocsp.crt > client-cas.pem

hexserial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
exp=$(date -u -d "+30 days" +%y%m%d%H%M%SZ)
rev=$(date -u -d "-1 hour" +%y%m%d%H%M%SZ)

# The responder's database for ica-ocsp: unknown.crt is deliberately absent (status "unknown").
printf 'V\t%s\t\t%s\tunknown\t/CN=soak client ocspgood\n' "$exp" "$(hexserial ocspgood.crt)" > ocsp/index.txt
printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=soak client ocsprevoked\n' "$exp" "$rev" \
    "$(hexserial ocsprevoked.crt)" >> ocsp/index.txt
echo 'unique_subject = no' > ocsp/index.txt.attr

# gencrl NAME FILLERS KEY CERT [extra openssl ca args]: a CRL revoking revoked.crt (unless KEY is the forger)
# and FILLERS random serials, via `openssl ca -gencrl` over an index of our own.
gencrl() {
    name=$1; n=$2; key=$3; cert=$4; shift 4
    w="work/ca-$name"; mkdir -p "$w"
    : > "$w/index.txt"
    echo 'unique_subject = no' > "$w/index.txt.attr"
    echo 1000 > "$w/crlnumber"
    if [ "$key" = ica-crl.key ]; then
        printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=soak client revoked\n' "$exp" "$rev" \
            "$(hexserial revoked.crt)" >> "$w/index.txt"
    fi
    openssl rand -hex $((8 * n)) | fold -w 16 | while read -r s; do
        printf 'R\t%s\t%s\t%s\tunknown\t/CN=filler\n' "$exp" "$rev" "$(echo "$s" | tr a-f A-F)"
    done >> "$w/index.txt"
    cat > "$w/ca.cnf" <<X
[ca]
default_ca = soak
[soak]
database = $PWD/$w/index.txt
crlnumber = $PWD/$w/crlnumber
default_md = sha256
default_crl_days = 2
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
X
    q openssl ca -batch -gencrl -config "$w/ca.cnf" -keyfile "$key" -cert "$cert" -out "crl-variants/$name.pem" "$@"
}
gencrl small 20 ica-crl.key ica-crl.crt
gencrl big 3000 ica-crl.key ica-crl.crt
gencrl alt 200 ica-crl.key ica-crl.crt
gencrl expired 20 ica-crl.key ica-crl.crt -crl_lastupdate "$(date -u -d '-3 days' +%y%m%d%H%M%SZ)" \
    -crl_nextupdate "$(date -u -d '-1 day' +%y%m%d%H%M%SZ)"
# the forger: a self-signed certificate with ica-crl's exact subject name and a key of its own
newkey forger.key
q openssl req -x509 -new -key forger.key -out forger.crt -days 30 -subj "/O=mod_secure soak/CN=soak ICA crl" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
gencrl forged 20 forger.key forger.crt
for v in small big; do q openssl crl -in "crl-variants/$v.pem" -outform DER -out "crl-variants/$v.der"; done

# Facts for the deny list writer
openssl x509 -in denied.crt -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1 > deny/sha256
openssl x509 -in denied.crt -noout -fingerprint -sha256 | cut -d= -f2 > deny/sha256-colons
hexserial denied.crt > deny/serial
openssl x509 -in denied.crt -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//' > deny/issuer-rfc2253
openssl x509 -in denied.crt -noout -issuer | sed 's/^issuer=//' > deny/issuer-oneline
openssl x509 -in denied.crt -noout -issuer_hash > deny/issuer-hash

# sanity: the CRL variants say what this file promises
openssl crl -in crl-variants/small.pem -CAfile client-cas.pem -noout 2>&1 | grep -q 'verify OK' \
    || { echo "pki.sh: small.pem does not verify" >&2; exit 1; }
openssl crl -in crl-variants/forged.pem -CAfile client-cas.pem -noout 2>&1 | grep -q 'verify OK' \
    && { echo "pki.sh: forged.pem verifies?!" >&2; exit 1; }
openssl verify -CAfile client-cas.pem -crl_check -CRLfile crl-variants/small.pem revoked.crt >/dev/null 2>&1 \
    && { echo "pki.sh: revoked.crt is not revoked by small.pem" >&2; exit 1; }
openssl verify -CAfile client-cas.pem -crl_check -CRLfile crl-variants/small.pem good.crt >/dev/null 2>&1 \
    || { echo "pki.sh: good.crt does not verify with small.pem" >&2; exit 1; }
rm -rf work
exit 0
