# Profiles in enforce mode (t/conf/policy.conf.in): a client that offers only what the profile forbids fails
# the handshake; an allowed one gets through and sees the policy variables. The control vhost (no
# SecurePolicy, same mod_ssl defaults) accepts the forbidden offers, so each refusal is mod_secure's.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json s_client run_cmd httpd_bin error_log_mark error_log_since);

plan tests => 36, need_module('mod_ssl.c', 'mod_secure.c');

my $low = '@SECLEVEL=0';    # client side: let OpenSSL offer TLS 1.1 / SHA-1 ciphers at all

sub get {
    my ($vhost, %ssl) = @_;
    return tls_request(vhost => $vhost, path => '/info', ssl => \%ssl);
}
sub refused { my $r = shift; return defined $r->{error} && !defined $r->{status} }

# --- the control: mod_ssl's defaults accept every offer used below ---
my $r = get('policy_none', SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES128-SHA');
is($r->{status}, 200, 'control vhost (no SecurePolicy): TLS 1.2 AES128-SHA accepted');
$r = get('policy_none', SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'secp521r1');
is($r->{status}, 200, 'control vhost: TLS 1.3 with only secp521r1 accepted');
is(info_json($r)->{SECURE_POLICY}, undef, 'control vhost: SECURE_POLICY unset');

# --- modern: TLS 1.3 only ---
$r = get('policy_modern', SSL_version => 'TLSv1_2');
ok(refused($r), "modern: a TLS 1.2-only client fails the handshake ($r->{error})");
$r = get('policy_modern', SSL_version => 'TLSv1_3');
is($r->{status}, 200, 'modern: a TLS 1.3 client gets through');
my $v = info_json($r);
is($v->{SECURE_POLICY}, 'modern', 'SECURE_POLICY = modern');
is($v->{SECURE_POLICY_MODE}, 'enforce', 'SECURE_POLICY_MODE = enforce');
is($v->{SECURE_POLICY_RESULT}, 'pass', 'SECURE_POLICY_RESULT = pass');
is($v->{SECURE_POLICY_VIOLATION}, undef, 'SECURE_POLICY_VIOLATION unset on a pass');
$r = get('policy_modern', SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'secp521r1');
ok(refused($r), 'modern: a client offering only secp521r1 fails the handshake');
my ($rc, $out) = s_client(vhost => 'policy_modern', args => ['-tls1_3', '-ciphersuites', 'TLS_AES_128_CCM_SHA256']);
unlike($out, qr/^HTTP\/1\.1 200/m, 'modern: a TLS_AES_128_CCM_SHA256-only client gets no answer');

# --- intermediate over mod_ssl's defaults ---
$r = get('policy_inter', SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES128-SHA');
ok(refused($r), 'intermediate: TLS 1.2 AES128-SHA only fails the handshake');
$r = get('policy_inter', SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-SHA');
ok(refused($r), 'intermediate: TLS 1.2 ECDHE-RSA-AES128-SHA (CBC) only fails the handshake');
$r = get('policy_inter', SSL_version => 'TLSv1_1', SSL_cipher_list => "ECDHE-RSA-AES128-SHA:$low");
ok(refused($r), 'intermediate: a TLS 1.1 client fails the handshake');
$r = get('policy_inter', SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-GCM-SHA256');
is($r->{status}, 200, 'intermediate: TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 gets through');
is($r->{cipher}, 'ECDHE-RSA-AES128-GCM-SHA256', '... with that cipher');
$r = get('policy_inter', SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'secp521r1');
ok(refused($r), 'intermediate: TLS 1.3 with only secp521r1 fails the handshake');
$r = get('policy_inter', SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519');
is($r->{status}, 200, 'intermediate: TLS 1.3 with X25519 gets through');
is(info_json($r)->{SECURE_KEX_GROUP}, 'x25519', '... over x25519');
($rc, $out) = s_client(vhost => 'policy_inter', args => ['-tls1_2', '-groups', 'P-521']);
unlike($out, qr/^HTTP\/1\.1 200/m, 'intermediate: TLS 1.2 client offering only P-521 gets no answer (no ECDHE group)');

# --- intermediate tightened: no CHACHA20, secp384r1 only ---
$r = get('policy_tight', SSL_version => 'TLSv1_3', SSL_cipher_list => 'DEFAULT',
         SSL_ciphersuites => 'TLS_CHACHA20_POLY1305_SHA256', SSL_ecdh_curve => 'secp384r1');
ok(refused($r), 'SecureCipherExclude TLS_CHACHA20_POLY1305_SHA256: a CHACHA20-only TLS 1.3 client fails');
$r = get('policy_tight', SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-CHACHA20-POLY1305',
         SSL_ecdh_curve => 'secp384r1');
ok(refused($r), 'SecureCipherExclude CHACHA20: ECDHE-RSA-CHACHA20-POLY1305 only fails');
$r = get('policy_tight', SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519');
ok(refused($r), 'SecureGroups secp384r1: an X25519-only TLS 1.3 client fails');
$r = get('policy_tight', SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519:secp384r1');
is($r->{status}, 200, 'SecureGroups secp384r1: a client that also offers secp384r1 gets through');
is(info_json($r)->{SECURE_KEX_GROUP}, 'secp384r1', '... over secp384r1');

# --- old: TLS 1.0+ and CBC ciphers, over a mod_ssl that allows everything at security level 0 ---
$r = get('policy_old', SSL_version => 'TLSv1_1', SSL_cipher_list => "ECDHE-RSA-AES128-SHA:$low");
is($r->{status}, 200, 'old: a TLS 1.1 ECDHE-RSA-AES128-SHA client gets through');
is($r->{version}, 'TLSv1.1', '... over TLS 1.1');
is(info_json($r)->{SECURE_POLICY_RESULT}, 'pass', '... and passes the old profile');
$r = get('policy_old', SSL_version => 'TLSv1_2', SSL_cipher_list => 'AES128-SHA');
is($r->{status}, 200, 'old: TLS 1.2 AES128-SHA gets through');
$r = get('policy_old', SSL_version => 'TLSv1_2', SSL_cipher_list => "CAMELLIA128-SHA:$low");
ok(refused($r), 'old: CAMELLIA128-SHA (allowed by mod_ssl here, not by the profile) fails');

# --- the refusal is logged, once per rate-limit window, naming the vhost and the rule ---
my $mark = error_log_mark();
$r = tls_request(vhost => 'policy_sni', sni => 'b.policy', host => 'b.policy', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2' });
ok(refused($r), 'SNI b.policy (modern) behind a.policy (intermediate) on one port: TLS 1.2 fails the handshake');
like(error_log_since($mark), qr/SEC10220: vhost b\.policy:\d+, client 127\.0\.0\.1: SecurePolicy modern refused the handshake: protocol:TLSv1\.2/,
     '... and the error log says which vhost and rule (SEC10220)');
$r = tls_request(vhost => 'policy_sni', sni => 'b.policy', host => 'b.policy', path => '/info',
                 ssl => { SSL_version => 'TLSv1_3' });
is($r->{status}, 200, 'SNI b.policy over TLS 1.3 gets through');

# --- the profile table is the SecurePolicy help text ---
($rc, $out) = run_cmd([httpd_bin(), '-L', '-f', Apache::Test::config()->{vars}->{t_conf_file}], '', 30);
like($out, qr/intermediate \(Mozilla Server Side TLS v6\.0\): TLSv1\.2 to TLSv1\.3; TLS<=1\.2 ciphers: ECDHE-ECDSA-AES128-GCM-SHA256/,
     'httpd -L prints the intermediate profile');
like($out, qr/modern \(Mozilla Server Side TLS v6\.0\): TLSv1\.3 to TLSv1\.3/, '... the modern profile');
like($out, qr/old \(Mozilla Server Side TLS v5\.8\): TLSv1 to TLSv1\.3/, '... and the old profile');
