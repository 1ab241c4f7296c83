# The compliance profiles nist-800-52r2 and cnsa (t/conf/policy2.conf.in), as an outside scanner sees them and
# as an out-of-profile client meets them. Both vhosts run over a mod_ssl that allows everything OpenSSL has
# (SSLProtocol all, every cipher at security level 0, all five TLS 1.3 suites), as does the control
# policy2_open without a policy, so what the scan finds is the profile's doing. The server certificate is the
# asf test CA's RSA-2048 one: of each profile's TLS 1.2 list, only the RSA-authenticated suites can be seen.
#
# Two scanners: a handshake per protocol version, TLS 1.2 cipher, TLS 1.3 suite and TLS 1.3 group with
# openssl s_client; and sslscan (build/deps installs it), whose own ClientHellos enumerate the same.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Net::SSLeay ();
use SecureTest qw(tls_request info_json vhost_port run_cmd cert_file key_file alert_of config_test
                  error_log_mark error_log_since);
use SecurePolicy qw(client_cert start_fails);

plan tests => 48, need_module('mod_ssl.c', 'mod_secure.c');

# What the documents allow, for an RSA server certificate (OpenSSL names; see mod_secure/secure_profiles.h
# for the sections). NIST SP 800-52 Rev. 2, 3.3.1.1.2 (RSA certificates) and 3.3.1.2; RFC 9151 sections 6 and 7.
my %want = (
    policy2_nist => {
        versions => [qw(TLSv1.2 TLSv1.3)],
        tls12    => [sort qw(ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 DHE-RSA-AES128-GCM-SHA256
                             DHE-RSA-AES256-GCM-SHA384 DHE-RSA-AES128-CCM DHE-RSA-AES256-CCM DHE-RSA-AES128-CCM8
                             DHE-RSA-AES256-CCM8 ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384
                             DHE-RSA-AES128-SHA256 DHE-RSA-AES256-SHA256 ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA
                             DHE-RSA-AES128-SHA DHE-RSA-AES256-SHA)],
        tls13    => [sort qw(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_AES_128_CCM_SHA256
                             TLS_AES_128_CCM_8_SHA256)],
        groups   => [sort qw(P-256 P-384 P-521 ffdhe2048 ffdhe3072 ffdhe4096)],
    },
    policy2_cnsa => {
        versions => [qw(TLSv1.2 TLSv1.3)],
        tls12    => ['ECDHE-RSA-AES256-GCM-SHA384'],
        tls13    => ['TLS_AES_256_GCM_SHA384'],
        groups   => [sort qw(P-384 ffdhe3072 ffdhe4096)],
    },
);

my @versions = (['TLSv1', '-tls1'], ['TLSv1.1', '-tls1_1'], ['TLSv1.2', '-tls1_2'], ['TLSv1.3', '-tls1_3']);
my @suites = qw(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256 TLS_AES_128_CCM_SHA256
                TLS_AES_128_CCM_8_SHA256);
my @groups = qw(X25519 X448 P-256 P-384 P-521 ffdhe2048 ffdhe3072 ffdhe4096 ffdhe6144 ffdhe8192);
my (undef, $list) = run_cmd(['openssl', 'ciphers', '-s', '-tls1_2', 'ALL:!PSK:!SRP:@SECLEVEL=0'], '', 20);
chomp $list;
my @tls12 = grep { !/^TLS_/ } split /:/, $list;
ok(@tls12 > 40 && @tls12 < 200, scalar(@tls12) . ' TLS 1.2 ciphers for the scanner to try');

# One handshake with openssl s_client (no request): true when it completed.
sub handshake {
    my ($vhost, @args) = @_;
    my ($rc, $out) = run_cmd(['openssl', 's_client', '-connect', '127.0.0.1:' . vhost_port($vhost),
                              '-servername', 'localhost', '-brief', @args], '', 15);
    return $out =~ /^CONNECTION ESTABLISHED/m;
}

# The scan of one vhost: accepted versions, TLS 1.2 ciphers, TLS 1.3 suites, TLS 1.3 groups.
sub scan {
    my $vhost = shift;
    my %s;
    $s{versions} = [map { $_->[0] } grep { handshake($vhost, $_->[1], '-cipher', 'ALL:@SECLEVEL=0') } @versions];
    $s{tls12} = [sort grep { handshake($vhost, '-tls1_2', '-cipher', "$_:\@SECLEVEL=0") } @tls12];
    $s{tls13} = [sort grep { handshake($vhost, '-tls1_3', '-ciphersuites', $_) } @suites];
    $s{groups} = [sort grep { handshake($vhost, '-tls1_3', '-groups', $_) } @groups];
    return \%s;
}

my $open = scan('policy2_open');
is_deeply($open->{versions}, [qw(TLSv1 TLSv1.1 TLSv1.2 TLSv1.3)], 'control: the scanner sees TLS 1.0 to 1.3');
ok(scalar(grep { $_ eq 'ECDHE-RSA-CHACHA20-POLY1305' } @{ $open->{tls12} }) && @{ $open->{tls12} } > 20,
   'control: the scanner sees ' . scalar(@{ $open->{tls12} }) . ' TLS 1.2 ciphers, ECDHE-RSA-CHACHA20-POLY1305 among them');
is(scalar @{ $open->{tls13} }, 5, 'control: all five TLS 1.3 suites');
is(scalar @{ $open->{groups} }, 10, 'control: all ten TLS 1.3 groups');

for my $vhost (qw(policy2_nist policy2_cnsa)) {
    my $s = scan($vhost);
    for my $k (qw(versions tls12 tls13 groups)) {
        is_deeply($s->{$k}, $want{$vhost}{$k}, "$vhost: openssl s_client scan, $k as the document")
            or diag("seen: @{ $s->{$k} }");
    }
}

# --- sslscan's view ---
sub sslscan {
    my $vhost = shift;
    my ($rc, $xml) = run_cmd(['sslscan', '--no-colour', '--no-heartbleed', '--no-renegotiation', '--no-compression',
                              '--no-fallback', '--sni-name=localhost', '--xml=-', '127.0.0.1:' . vhost_port($vhost)],
                             '', 120);
    my %s = (versions => [], tls12 => [], tls13 => [], groups => []);
    while ($xml =~ /<protocol type="tls" version="([\d.]+)" enabled="1"/g) { push @{ $s{versions} }, "TLSv$1" }
    $_ = $_ eq 'TLSv1.0' ? 'TLSv1' : $_ for @{ $s{versions} };
    while ($xml =~ /<cipher status="(?:accepted|preferred)" sslversion="TLSv1\.([23])"[^>]*? cipher="([^"]+)"/g) {
        push @{ $s{$1 eq '2' ? 'tls12' : 'tls13'} }, $2;
    }
    while ($xml =~ /<group sslversion="TLSv1\.3"[^>]*? name="([^"]+)"/g) { push @{ $s{groups} }, $1 =~ s/ \(.*//r }
    $s{$_} = [sort @{ $s{$_} }] for qw(tls12 tls13 groups);
    return (\%s, $xml);
}
SKIP: {
    skip 'sslscan is not installed (build/deps installs it)', 8 unless -x '/usr/bin/sslscan' || `command -v sslscan`;
    my %names = ('P-256' => 'secp256r1', 'P-384' => 'secp384r1', 'P-521' => 'secp521r1');
    for my $vhost (qw(policy2_nist policy2_cnsa)) {
        my ($s, $xml) = sslscan($vhost);
        is_deeply($s->{versions}, $want{$vhost}{versions}, "$vhost: sslscan finds only TLS 1.2 and 1.3 enabled")
            or diag($xml);
        is_deeply($s->{tls12}, $want{$vhost}{tls12}, "$vhost: sslscan's TLS 1.2 ciphers are the document's")
            or diag("seen: @{ $s->{tls12} }");
        is_deeply($s->{tls13}, $want{$vhost}{tls13}, "$vhost: sslscan's TLS 1.3 suites are the document's")
            or diag("seen: @{ $s->{tls13} }");
        my @want_groups = sort map { $names{$_} // $_ } @{ $want{$vhost}{groups} };
        is_deeply($s->{groups}, \@want_groups, "$vhost: sslscan's TLS 1.3 groups are the document's")
            or diag("seen: @{ $s->{groups} }");
    }
}

# --- out-of-profile clients ---
sub refused { my $r = shift; return defined $r->{error} && !defined $r->{status} }
my $r = tls_request(vhost => 'policy2_cnsa', path => '/info',
                    ssl => { SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'secp384r1' });
is($r->{status}, 200, 'cnsa: a TLS 1.3 client offering secp384r1 gets through');
is($r->{cipher}, 'TLS_AES_256_GCM_SHA384', '... over TLS_AES_256_GCM_SHA384');
my $v = info_json($r);
is($v->{SECURE_POLICY}, 'cnsa', 'SECURE_POLICY = cnsa');
is($v->{SECURE_POLICY_VERSION}, 'cnsa-1.0 cnsa', 'SECURE_POLICY_VERSION = cnsa-1.0 cnsa');
$r = tls_request(vhost => 'policy2_cnsa', path => '/info', ssl => { SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519:P-256' });
ok(refused($r), 'cnsa: a TLS 1.3 client offering only X25519 and P-256 (intermediate\'s) fails the handshake');
$r = tls_request(vhost => 'policy2_cnsa', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-GCM-SHA256' });
ok(refused($r), 'cnsa: a TLS 1.2 client offering only ECDHE-RSA-AES128-GCM-SHA256 fails the handshake');
is(alert_of($r), 40, '... with alert 40 (handshake failure)');
$r = tls_request(vhost => 'policy2_open', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-AES128-GCM-SHA256' });
is($r->{status}, 200, 'control: the same client gets through');

$r = tls_request(vhost => 'policy2_nist', path => '/info', ssl => { SSL_version => 'TLSv1_3' });
is($r->{status}, 200, 'nist-800-52r2: a default TLS 1.3 client gets through');
$v = info_json($r);
is($v->{SECURE_POLICY_VERSION}, 'nist-sp800-52r2 nist-800-52r2', 'SECURE_POLICY_VERSION = nist-sp800-52r2 nist-800-52r2');
isnt($v->{SECURE_KEX_GROUP}, 'x25519', '... not over x25519 (' . ($v->{SECURE_KEX_GROUP} // '?') . ')');
$r = tls_request(vhost => 'policy2_nist', path => '/info', ssl => { SSL_version => 'TLSv1_3', SSL_ecdh_curve => 'X25519' });
ok(refused($r), 'nist-800-52r2: an X25519-only TLS 1.3 client fails the handshake');
$r = tls_request(vhost => 'policy2_nist', path => '/info',
                 ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => 'ECDHE-RSA-CHACHA20-POLY1305' });
ok(refused($r), 'nist-800-52r2: a ChaCha20-only TLS 1.2 client fails the handshake');

# --- client certificate floors: cnsa wants RSA >= 3072 ---
my ($rsa3072_crt, $rsa3072_key) = client_cert('rsa3072', key => 'rsa:3072');
sub with_cert {
    my ($vhost, $crt, $key) = @_;
    my $load = sub {
        my $ctx = shift;
        Net::SSLeay::CTX_use_certificate_chain_file($ctx, $crt) or die "client certificate $crt";
        Net::SSLeay::CTX_use_PrivateKey_file($ctx, $key, Net::SSLeay::FILETYPE_PEM()) or die "client key $key";
    };
    return tls_request(vhost => $vhost, path => '/info',
                       ssl => { SSL_version => 'TLSv1_2', SSL_create_ctx_callback => $load });
}
my $mark = error_log_mark();
$r = with_cert('policy2_cnsa', cert_file('client_ok'), key_file('client_ok'));
ok(refused($r), 'cnsa: the RSA-2048 client certificate fails the handshake');
is(alert_of($r), 42, '... with alert 42 (bad certificate)');
like(error_log_since($mark), qr/SEC10221: .*SecurePolicy cnsa refused the client certificate: client_key:rsa:2048 at chain depth 0 \(floors rsa:3072 ec:384/,
     '... the log names the profile\'s floor (SEC10221)');
$r = with_cert('policy2_cnsa', $rsa3072_crt, $rsa3072_key);
is($r->{status}, 200, 'cnsa: the RSA-3072 client certificate gets through');
$r = with_cert('policy2_nist', cert_file('client_ok'), key_file('client_ok'));
is($r->{status}, 200, 'nist-800-52r2: the RSA-2048 client certificate gets through');

# --- the server's own key against the profile's sizes: a startup warning, not a refusal ---
my $startup = error_log_since(0);
my ($cnsa_port, $nist_port) = (vhost_port('policy2_cnsa'), vhost_port('policy2_nist'));
like($startup, qr/SEC11400: vhost localhost:$cnsa_port: SecurePolicy cnsa asks for server keys of at least rsa:3072 ec:384, but the certificate mod_ssl serves has rsa:2048/,
     'cnsa over the RSA-2048 server certificate: startup warns (SEC11400)');
unlike($startup, qr/SEC11400: vhost localhost:$nist_port:/, 'nist-800-52r2 (RSA >= 2048): no warning');

# --- startup refuses a profile that mod_ssl's settings leave empty ---
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
sub vhost_conf {
    my ($policy, $ssl) = @_;
    return <<"CONF";
$load<VirtualHost 127.0.0.1:\@PORT\@>
    ServerName compliance.test
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
$ssl
    SecureEngine on
    SecurePolicy $policy
</VirtualHost>
CONF
}
my ($rc, $out) = config_test(vhost_conf('cnsa', "    SSLProtocol TLSv1.3\n    SSLCipherSuite TLSv1.3 TLS_AES_128_GCM_SHA256"));
isnt($rc, 0, 'httpd -t refuses cnsa over SSLCipherSuite TLSv1.3 TLS_AES_128_GCM_SHA256 and SSLProtocol TLSv1.3');
like($out, qr/SEC10204: vhost compliance\.test:\d+: SecurePolicy cnsa and SSLCipherSuite TLSv1\.3 'TLS_AES_128_GCM_SHA256' .* leave no TLS 1\.3 suite to negotiate \(the policy allows: TLS_AES_256_GCM_SHA384\)/,
     '... naming the profile, the mod_ssl directive and what the profile allows');
($rc, $out) = config_test(vhost_conf('nist-800-52r2', "    SSLOpenSSLConfCmd Groups X25519:X448"));
isnt($rc, 0, 'httpd -t refuses nist-800-52r2 over SSLOpenSSLConfCmd Groups X25519:X448');
like($out, qr/SEC10204: .*SecurePolicy nist-800-52r2 and SSLOpenSSLConfCmd Groups 'X25519:X448' .* leave no key-exchange group/,
     '... no key-exchange group');
# SSLOpenSSLConfCmd MaxProtocol / CipherString are invisible to httpd -t's emulation: the real context decides
my $conf = vhost_conf('cnsa', "    SSLOpenSSLConfCmd MaxProtocol TLSv1.2\n    SSLOpenSSLConfCmd CipherString AES128-GCM-SHA256");
($rc, $out) = config_test($conf);
is($rc, 0, 'httpd -t cannot see SSLOpenSSLConfCmd MaxProtocol / CipherString') or diag($out);
($rc, $out) = start_fails($conf);
isnt($rc, 0, 'startup fails for cnsa when the real context (MaxProtocol TLSv1.2, CipherString AES128-GCM-SHA256) leaves nothing');
like($out, qr/SEC10211: vhost compliance\.test:\d+: SecurePolicy cnsa and /, '... with SEC10211 naming the profile');
