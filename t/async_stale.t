# SecureRevocationStaleIfError (issue 12, item 4): while every online source fails, a verdict that expired
# less than the window ago still counts, marked SECURE_CLIENT_REVOCATION_SOURCE=cache-stale, logged
# (SEC11607); a revocation never goes stale into UNKNOWN or GOOD. Off by default.
# Setup: a generated CA; for each certificate the test records a real OCSP response (responder CGI in
# "record" mode), which the responder then replays ("replay" mode, so SecureOCSPNonce off) until the test
# deletes it: from then on the responder answers 500. Instance "stale": SecureRevocationCacheTTL 2 (the
# verdict expires 2 s after the query), SecureRevocationUnknownTTL 0, three vhosts:
#   a: SecureRevocationStaleIfError 3, a good certificate
#   b: no SecureRevocationStaleIfError (off), a good certificate
#   c: SecureRevocationStaleIfError 3, a revoked certificate
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Socket::INET ();
use Time::HiRes ();
use SecureTest qw(tls_request info_json t_logs run_ok config_test);
use SecureOCSP qw(responder_url make_pki gen_dir start_instance stop_all spare_port_base instance_vhost main_port);

plan tests => 16, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $base = spare_port_base() + 36;
my %port = (a => $base, b => $base + 1, c => $base + 2);
make_pki(stalea => {}, staleb => {}, stalerev => { revoked => 1 });
my $gen = gen_dir();
my %tag = (a => 'stale-a', b => 'stale-b', c => 'stale-c');
my %leaf = (a => 'stalea', b => 'staleb', c => 'stalerev');

# Config-time check: httpd -t refuses a bad SecureRevocationStaleIfError.
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
for my $bad ('-1', '8d', 'soon') {
    my ($rc, $out) = config_test("${load}SecureRevocationStaleIfError $bad\n");
    ok($rc != 0 && $out =~ /SecureRevocationStaleIfError: '\Q$bad\E' is not a valid duration/,
       "httpd -t refuses 'SecureRevocationStaleIfError $bad' with a precise message") or diag($out);
}

# Records the responder's answer about $leaf under $tag (POST of a nonce-less request to record mode).
sub record_response {
    my ($leaf, $tag) = @_;
    my $req = t_logs() . "/$tag.req";
    run_ok('openssl', 'ocsp', '-issuer', "$gen/ca.crt", '-cert', "$gen/$leaf.crt", '-no_nonce', '-reqout', $req);
    open my $fh, '<:raw', $req or die "$req: $!";
    my $body = do { local $/; <$fh> };
    close $fh;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => main_port(), Timeout => 10)
        or die "responder: $!";
    print $s "POST /ocsp/resp.cgi/gen/record/$tag HTTP/1.0\r\nHost: localhost\r\n"
           . "Content-Type: application/ocsp-request\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
    my $resp = '';
    local $SIG{ALRM} = sub { die "responder: timeout\n" };
    alarm 15;
    while (sysread($s, my $buf, 65536)) { $resp .= $buf }
    alarm 0;
    return $resp =~ m{^HTTP/1\.\d 200} && -s t_logs() . "/ocsp-saved-$tag.der";
}

sub req {
    my $k = shift;
    my $r = tls_request(port => $port{$k}, path => '/info', timeout => 15,
                        ssl => { SSL_cert_file => "$gen/$leaf{$k}.crt", SSL_key_file => "$gen/$leaf{$k}.key",
                                 SSL_version => 'TLSv1_2' });
    my $v = info_json($r);
    return ($r, join(' ', $r->{status} // 'error', $v->{SECURE_CLIENT_REVOCATION} // 'none',
                     $v->{SECURE_CLIENT_REVOCATION_SOURCE} // 'none'));
}

sub log_count {
    my $re = shift;
    open my $fh, '<', t_logs() . '/inst-stale/logs/error_log' or return 0;
    return scalar grep { /$re/ } <$fh>;
}

ok(record_response($leaf{$_}, $tag{$_}), "recorded the responder's answer for $leaf{$_}") for qw(a b c);
my $stale = "    SecureOCSPNonce off\n    SecureRevocationStaleIfError 3\n";
start_instance(name => 'stale', mpm => 'event', ports => [@port{qw(a b c)}],
               conf => "SecureRevocationCacheTTL 2\nSecureRevocationUnknownTTL 0\n"
                       . join('', map { instance_vhost($port{$_}, "$gen/ca.crt", "    SecureOCSP on\n    SecureOCSPResponder \""
                                            . responder_url('gen', 'replay', $tag{$_}) . "\"\n"
                                            . ($_ eq 'b' ? "    SecureOCSPNonce off\n" : $stale)) } qw(a b c)));

my ($r, $got) = req('a');
is($got, '200 GOOD ocsp', 'a: GOOD from the responder');
my $t0 = Time::HiRes::time();
(undef, $got) = req('b');
is($got, '200 GOOD ocsp', 'b: GOOD from the responder');
($r) = req('c');
like($r->{error} // '', qr/certificate revoked/i, 'c: the revoked certificate is refused (alert 44)');

# the responder fails from now on; wait past the verdicts' expiry (TTL 2 s), inside the 3 s window
unlink t_logs() . "/ocsp-saved-$_.der" for values %tag;
Time::HiRes::sleep($t0 + 3.2 - Time::HiRes::time());
(undef, $got) = req('a');
is($got, '200 GOOD cache-stale', 'a: responder failing, verdict expired ~1 s ago: GOOD, source cache-stale');
is(log_count(qr/SEC11607: .*CN=stalea.*status GOOD from an expired verdict/), 1, '... logged (SEC11607)');
(undef, $got) = req('b');
is($got, '200 UNKNOWN ocsp', 'b: without SecureRevocationStaleIfError the same case is UNKNOWN');
($r) = req('c');
like($r->{error} // '', qr/certificate revoked/i, 'c: a revoked verdict never goes stale into UNKNOWN: still '
     . 'refused (alert 44)');
is(log_count(qr/SEC11607: .*CN=stalerev.*status REVOKED/), 1, '... from the expired REVOKED verdict (SEC11607)');

# past the window (expiry + 3 s): nothing stale is used any more
Time::HiRes::sleep($t0 + 6.5 - Time::HiRes::time());
(undef, $got) = req('a');
is($got, '200 UNKNOWN ocsp', 'a: past the stale window: UNKNOWN (SecureRevocationUnknown defer)');
(undef, $got) = req('c');
is($got, '200 UNKNOWN ocsp', 'c: past the window the old revocation is not used either (UNKNOWN, defer)');
stop_all();
