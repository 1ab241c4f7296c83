# Issuers at request time come from the verified chain only (issue 9, finding 3).
# Vhosts (t/conf/revoke_request.conf.in):
#   revoke_forged  SSLVerifyClient none, /need-cert asks for a certificate by renegotiation (TLS 1.2) or
#                  post-handshake authentication (TLS 1.3); SecureRevocationScope chain over the CRLs in
#                  logs/revoke/request/crl/; SecureRevocationUnknown allow.
#   revoke_resume  SSLVerifyClient require, SSLCACertificateFile = the asf root only, SecureCRLFetch on,
#                  SecureRevocationUnknown deny (the default).
# 1. An intermediate made here under the asf root issues a leaf; the root's CRL revokes the intermediate.
#    The client adds a forged copy of the intermediate (same name, same key identifier, its own key,
#    expired, so OpenSSL's chain builder passes over it and mod_ssl's verification succeeds) before the
#    real one. Taking the first sent certificate that "looks like" the issuer used to make the chain end
#    at the forgery: REVOKED became UNKNOWN and, under 'allow', 200. It must stay 403.
# 2. A session resumed with a leaf from an intermediate that is not in the trust store (the client sent
#    it at the handshake) must still find its issuer: its CRL (fetched from the leaf's distribution
#    point) says GOOD, so 200, not 403 (UNKNOWN under deny) on every resumed connection.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use Time::HiRes ();
use SecureTest qw(info_json s_client tls_request client_ctx error_log_mark error_log_since alert_of client);
use SecureRevoke qw(install_file keepalive_requests);
use SecurePKI qw(scratch_ca new_ca issue revoke gencrl ca_cmd serial_of);

plan tests => 20, need_module('mod_ssl.c', 'mod_secure.c');

my $cfg = Apache::Test::config();
my $rv = $cfg->{vars}->{t_logs} . '/revoke/request';
my $main_port = $cfg->{vars}->{port};

sub slurp { my $f = shift; open my $fh, '<', $f or die "$f: $!"; local $/; return <$fh> }
sub spew { my ($f, @parts) = @_; open my $fh, '>', $f or die "$f: $!"; print {$fh} @parts; close $fh }

# ---- 1. a forged intermediate on the renegotiation / post-handshake-auth path ------------------------
my $root = scratch_ca("$rv/fg-root");
my $int = new_ca("$rv/fg-int", 'mod_secure forged-test intermediate', $root);
my ($leaf, $leaf_key) = issue($int, 'fg_leaf');

# the forgery: the intermediate's subject and subjectKeyIdentifier, the asf root's name as issuer (so the
# old walk went on to the trusted root and found the forgery's serial unrevoked), another key, expired
my $skid = ca_cmd('x509', '-in', "$rv/fg-int/ca.crt", '-noout', '-ext', 'subjectKeyIdentifier');
$skid =~ /([0-9A-F]{2}(?::[0-9A-F]{2})+)/ or die "no subjectKeyIdentifier in: $skid";
$skid = $1;
my $asf_subject = ca_cmd('x509', '-in', "$rv/fg-root/ca.crt", '-noout', '-subject', '-nameopt', 'compat');
$asf_subject =~ s/^subject=\s*//;
chomp $asf_subject;
my $fake = "$rv/fg-fake";
File::Path::make_path("$fake/newcerts");
spew("$fake/index.txt", '');
spew("$fake/index.txt.attr", "unique_subject = no\n");
spew("$fake/serial", "4242\n");
spew("$fake/ca.cnf", <<"CNF");
[ca]
default_ca = fake
[fake]
database = $fake/index.txt
new_certs_dir = $fake/newcerts
serial = $fake/serial
default_md = sha256
policy = any
[any]
commonName = supplied
organizationName = optional
[forged]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = $skid
CNF
ca_cmd('req', '-x509', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$fake/ca.key", '-subj', $asf_subject,
       '-days', '30', '-out', "$fake/ca.crt");
ca_cmd('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$fake/forged.key",
       '-subj', '/O=mod_secure test/CN=mod_secure forged-test intermediate', '-out', "$fake/forged.csr");
ca_cmd('ca', '-batch', '-config', "$fake/ca.cnf", '-keyfile', "$fake/ca.key", '-cert', "$fake/ca.crt",
       '-startdate', '20200101000000Z', '-enddate', '20200301000000Z', '-extensions', 'forged',
       '-extfile', "$fake/ca.cnf", '-in', "$fake/forged.csr", '-out', "$fake/forged.crt", '-notext');
my $forged_skid = ca_cmd('x509', '-in', "$fake/forged.crt", '-noout', '-ext', 'subjectKeyIdentifier');
like($forged_skid, qr/\Q$skid\E/, 'the forged intermediate carries the real one\'s subjectKeyIdentifier');

my $real_bundle = "$rv/fg-int/leaf+int.pem";
my $forged_bundle = "$rv/fg-int/leaf+forged+int.pem";
spew($real_bundle, slurp($leaf), slurp("$rv/fg-int/ca.crt"));
spew($forged_bundle, slurp($leaf), slurp("$fake/forged.crt"), slurp("$rv/fg-int/ca.crt"));
my $sent_chain = "$rv/fg-int/forged+int.pem";
spew($sent_chain, slurp("$fake/forged.crt"), slurp("$rv/fg-int/ca.crt"));

my $root_crl = "$rv/crl/fg-root.crl";
install_file($root_crl, src => gencrl($root, "$rv/fg-root/crl0.pem"));
Time::HiRes::sleep(2.5);

sub reneg {
    my $bundle = shift;
    my ($err, $resp) = keepalive_requests(vhost => 'revoke_forged', paths => ['/need-cert'],
                                          ssl => { SSL_version => 'TLSv1_2', SSL_cert_file => $bundle,
                                                   SSL_key_file => $leaf_key });
    return ($resp->[0] // { error => $err });
}

my $r = reneg($forged_bundle);
is($r->{status}, 200, 'intermediate not revoked: leaf + forged + real intermediate by renegotiation gets 200')
    or diag($r->{error} // '');
is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN',
   '... UNKNOWN (no verifiable CRL from the intermediate; allow): mod_ssl accepted the chain with the forgery in it');

revoke($root, "$rv/fg-int/ca.crt", 'cACompromise');
install_file($root_crl, src => gencrl($root, "$rv/fg-root/crl1.pem"));
Time::HiRes::sleep(2.5);
my $int_serial = serial_of("$rv/fg-int/ca.crt");

my $mark = error_log_mark();
$r = reneg($real_bundle);
is($r->{status}, 403, 'intermediate revoked in the root\'s CRL: leaf + real intermediate by renegotiation gets 403');
$r = reneg($forged_bundle);
is($r->{status}, 403, '... and with the forged intermediate sent first: still 403, not UNKNOWN (allow) and 200');
unlike($r->{body} // '', qr/SECURE_CLIENT_REVOCATION/, '... no content');
my $log = error_log_since($mark);
my @refusals = $log =~ /(SEC10304: [^\n]*)/g;
is(scalar @refusals, 2, 'two refusals logged (SEC10304)');
like($refusals[-1] // '', qr/certificate '[^']*CN=mod_secure forged-test intermediate[^']*' \(serial 0*\Q$int_serial\E,.* is revoked now \(source crl, reason cACompromise/,
     '... the second names the real intermediate (its serial) and the CRL reason');

# TLS 1.3 post-handshake authentication: the same chain, forgery first
my ($rc, $out) = s_client(vhost => 'revoke_forged', path => '/need-cert',
                          args => ['-tls1_3', '-enable_pha', '-cert', $leaf, '-key', $leaf_key,
                                   '-cert_chain', $sent_chain]);
like($out, qr/HTTP\/1\.1 403/, 'TLS 1.3 post-handshake auth, forged intermediate sent first: 403');
unlike($out, qr/HTTP\/1\.1 200/, '... not 200');

# ---- 2. resumption with an intermediate that is not in the trust store -----------------------------
my $root2 = scratch_ca("$rv/rs-root");
my $int2 = new_ca("$rv/rs-int", 'mod_secure resume-test intermediate', $root2);
my $crl_url = "http://127.0.0.1:$main_port/revoke-request-pki/rs-int.crl";
spew("$rv/rs-int/leaf.ext", <<"EXT");
[leaf_cdp]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
crlDistributionPoints = URI:$crl_url
EXT
my ($rleaf, $rleaf_key) = ("$rv/rs-int/rs_leaf.crt", "$rv/rs-int/rs_leaf.key");
ca_cmd('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', $rleaf_key, '-subj', '/O=mod_secure test/CN=rs_leaf',
       '-out', "$rv/rs-int/rs_leaf.csr");
ca_cmd('ca', '-batch', '-config', $int2->{cnf}, '-passin', $int2->{pass}, '-extfile', "$rv/rs-int/leaf.ext",
       '-extensions', 'leaf_cdp', '-in', "$rv/rs-int/rs_leaf.csr", '-out', $rleaf, '-notext');
install_file("$rv/pki/rs-int.crl", src => gencrl($int2, "$rv/rs-int/crl0.der", der => 1));
my $rbundle = "$rv/rs-int/rs_leaf+int.pem";
spew($rbundle, slurp($rleaf), slurp("$rv/rs-int/ca.crt"));

for my $ver ('TLSv1_2', 'TLSv1_3') {
    my $ctx = client_ctx(SSL_version => $ver, SSL_cert_file => $rbundle, SSL_key_file => $rleaf_key);
    $r = tls_request(vhost => 'revoke_resume', path => '/info', ctx => $ctx);
    is($r->{status}, 200, "$ver full handshake, leaf from an intermediate the client sends: 200")
        or diag($r->{error} // '');
    my $v = info_json($r);
    is($v->{SECURE_CLIENT_REVOCATION} // '', 'GOOD', '... GOOD (the intermediate\'s CRL from the distribution point)');
    $mark = error_log_mark();
    $r = tls_request(vhost => 'revoke_resume', path => '/info', ctx => $ctx);
    is($r->{reused}, 1, "$ver: the next connection resumes the session (no chain from the client)");
    is($r->{status}, 200, '... and gets 200, not 403: the issuer is found without the client\'s chain')
        or diag(error_log_since($mark));
    is(info_json($r)->{SECURE_CLIENT_REVOCATION} // '', 'GOOD', '... GOOD');
}
