# ClientHello variables and fingerprints, each checked against an independent dissection of the very hello
# the client sent on that connection: openssl s_client -msg prints the bytes, tshark computes JA3 from them,
# and t/lib/SecureHello.pm computes JA4 from tshark's fields.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json run_cmd error_log_mark);
use SecureHello qw(s_client_hello tshark_hello ja4_from_tshark);
use JSON::PP ();

plan tests => 28, need_module('mod_ssl.c', 'mod_secure.c'), need_cgi;

my @cases = (
    ['TLS 1.3, groups and ALPN offered', ['-tls1_3', '-groups', 'X25519:P-256:P-384', '-alpn', 'foo,http/1.1'], 'localhost'],
    ['TLS 1.2, one cipher, no SNI', ['-tls1_2', '-cipher', 'ECDHE-RSA-AES256-GCM-SHA384'], ''],
    ['default client', [], 'localhost'],
);
for my $case (@cases) {
    my ($name, $args, $sni) = @$case;
    my $h = s_client_hello(vhost => 'secure_main', path => '/info', args => $args, sni => $sni);
    my $v = $h->{json};
    ok(length $h->{hello} > 100, "$name: s_client printed its ClientHello");
    my $t = tshark_hello($h->{hello}, qw(tls.handshake.ja3 tls.handshake.ja3_full));
    is($v->{SECURE_JA3}, $t->{'tls.handshake.ja3'}, "$name: SECURE_JA3 = tshark's JA3 of the same hello");
    is($v->{SECURE_JA3_STRING}, $t->{'tls.handshake.ja3_full'}, "$name: SECURE_JA3_STRING = tshark's");
    my ($ja4, $ja4_r) = ja4_from_tshark($h->{hello});
    is($v->{SECURE_JA4}, $ja4, "$name: SECURE_JA4 = JA4 computed from tshark's fields");
    is($v->{SECURE_JA4_R}, $ja4_r, "$name: SECURE_JA4_R");
}

# The offered lists, as the client was told to offer them.
my $h = s_client_hello(vhost => 'secure_main', path => '/info',
                       args => ['-tls1_3', '-groups', 'X25519:P-256:P-384', '-alpn', 'foo,http/1.1']);
my $v = $h->{json};
is($v->{SECURE_CLIENT_HELLO_GROUPS}, 'x25519,secp256r1,secp384r1', 'SECURE_CLIENT_HELLO_GROUPS = -groups');
is($v->{SECURE_CLIENT_HELLO_ALPN}, 'foo,http/1.1', 'SECURE_CLIENT_HELLO_ALPN = -alpn');
is($v->{SECURE_ALPN}, 'http/1.1', 'SECURE_ALPN = the one the server chose');
is($v->{SECURE_CLIENT_HELLO_VERSIONS}, 'TLSv1.3', 'SECURE_CLIENT_HELLO_VERSIONS with -tls1_3');
$h = s_client_hello(vhost => 'secure_main', path => '/info', args => ['-no_ssl3']);
is($h->{json}{SECURE_CLIENT_HELLO_VERSIONS}, 'TLSv1.3,TLSv1.2,TLSv1.1,TLSv1',
   'SECURE_CLIENT_HELLO_VERSIONS of OpenSSL 3.0 default client');

# Server signature scheme, as s_client reports the peer's signature.
$h = s_client_hello(vhost => 'secure_main', path => '/info', args => ['-tls1_3']);
my ($type) = $h->{out} =~ /Peer signature type: (\S+)/;
my ($dgst) = $h->{out} =~ /Peer signing digest: (\S+)/;
my $expect = ($type // '') eq 'RSA-PSS' ? 'rsa_pss_rsae_' . lc($dgst // '') : "?$type";
is($h->{json}{SECURE_SERVER_SIGALG}, $expect, "SECURE_SERVER_SIGALG = s_client's peer signature ($type/$dgst)");
$h = s_client_hello(vhost => 'secure_main', path => '/info', args => ['-tls1_2', '-sigalgs', 'RSA+SHA384']);
is($h->{json}{SECURE_SERVER_SIGALG}, 'rsa_pkcs1_sha384', 'SECURE_SERVER_SIGALG rsa_pkcs1_sha384 when only that is offered');

# Handshake time: present and plausible on a full handshake, absent on a resumed one.
my $usec = $h->{json}{SECURE_HANDSHAKE_USEC} // '';
ok($usec =~ /^\d+$/ && $usec > 0 && $usec < 5_000_000, "SECURE_HANDSHAKE_USEC on a full handshake: $usec");
{
    my $ctx = SecureTest::client_ctx(SSL_version => 'TLSv1_2');
    tls_request(vhost => 'secure_main', path => '/info', ctx => $ctx);
    my $r = tls_request(vhost => 'secure_main', path => '/info', ctx => $ctx);
    my $iv = info_json($r);
    is($iv->{SECURE_SESSION_RESUMED}, '1', 'second connection resumed');
    ok(!exists $iv->{SECURE_HANDSHAKE_USEC}, 'no SECURE_HANDSHAKE_USEC on a resumed handshake');
}

# HTTP/2 (a secondary connection per stream): curl --http2 sees the same facts as the master connection.
SKIP: {
    skip 'mod_http2 not loaded', 2 unless Apache::Test::have_module('mod_http2.c');
    my $port = SecureTest::vhost_port('secure_main');
    my ($rc, $out) = run_cmd(['curl', '-sk', '--http2', '--max-time', '10',
                              "https://localhost:$port/info"], '', 15);
    my $j = eval { JSON::PP->new->decode($out) } || {};
    is($j->{SECURE_ALPN}, 'h2', 'HTTP/2: SECURE_ALPN h2');
    like($j->{SECURE_JA4} // '', qr/^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/, 'HTTP/2: SECURE_JA4 of curl (ALPN h2)');
}

# LogFormat %{SECURE_JA4}e: the access log carries the fingerprint of this connection.
{
    my $h2 = s_client_hello(vhost => 'secure_main', path => '/index.html?logcheck=1', args => ['-tls1_3']);
    my ($ja4) = ja4_from_tshark($h2->{hello});
    my $log = Apache::Test::vars('t_logs') . '/secure_access_log';
    my $found = SecureTest::wait_until(5, sub {
        open my $fh, '<', $log or return 0;
        return scalar grep { /\Q$ja4\E "GET \/index.html\?logcheck=1/ } <$fh>;
    });
    ok($found, "access log line has %{SECURE_JA4}e = $ja4");
}
