# OCSP against a real responder (openssl ocsp -index behind the test httpd) for Apache::TestSSLCA's PKI:
# good -> 200, revoked -> alert 44, every bad response -> UNKNOWN with its own log line, a hanging
# responder bounded by SecureOCSPTimeout, the circuit breaker, and one responder query for 50 connections.
# Config: t/conf/ocsp.conf.in (SecureOCSPResponder per vhost picks the responder's behaviour).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use IO::Socket::INET ();
use Socket qw(PF_INET SOCK_STREAM inet_aton pack_sockaddr_in);
use Time::HiRes ();
use SecureTest qw(tls_request info_json cert_file key_file error_log_mark error_log_since run_cmd client test_config);
use SecureOCSP qw(query_count responder_url make_pki);

plan tests => 75, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

# the wrong-signer mode signs with t/logs/ocsp-pki/wrong.*: an unrelated key
make_pki();

sub with_cert {
    my ($vhost, $cert, %o) = @_;
    return tls_request(vhost => $vhost, path => '/info', timeout => 15,
                       ssl => { client($cert),
                                SSL_version => $o{version} || 'TLSv1_2' });
}

sub unknown_case {
    my ($vhost, $tag, $log_re, $name) = @_;
    my $mark = error_log_mark();
    my $before = query_count($tag);
    my $r = with_cert($vhost, 'client_ok');
    my $v = info_json($r);
    is($r->{status}, 200, "$name: handshake completes (unknown is deferred)");
    is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', "$name: status UNKNOWN, never GOOD");
    is(query_count($tag), $before + 1, "$name: the responder was asked once");
    like(error_log_since($mark), $log_re, "$name: precise log line");
}

# the two framings really differ: resp.cgi's Content-Length is kept, nph-resp.cgi sends none
sub raw_post {
    my $path = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => SecureOCSP::main_port(), Timeout => 10)
        or return '';
    print $s "POST $path HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n"
             . "Content-Length: 1\r\n\r\nx";
    my $resp = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 10;
        my $r = do { local $/; <$s> };
        alarm 0;
        $r;
    } // '';
    close $s;
    return $resp;
}
{
    my $r = raw_post('/ocsp/resp.cgi/asf/garbage/framing');
    like($r, qr/\r\nContent-Length: 300\r\n/i, "framing: resp.cgi's answer carries its Content-Length");
    $r = raw_post('/ocsp/nph-resp.cgi/asf/garbage/framing');
    my ($head, $body) = split /\r\n\r\n/, $r, 2;
    ok(defined $body && length($body) == 300 && $head !~ /Content-Length/i,
       'framing: nph-resp.cgi answers 300 bytes without a Content-Length');
}

# the same garbage with a Content-Length (OpenSSL's HTTP client compares it with the DER length) and
# without one (d2i sees the bytes): one verdict, one log line, one counter for both framings
unknown_case('ocsp_garbage', 'garbage', qr/SEC10503: .*not a DER OCSPResponse/, 'garbage bytes');
unknown_case('ocsp_garbage_eof', 'garbage_eof', qr/SEC10503: .*not a DER OCSPResponse/,
             'garbage bytes, no Content-Length');
unknown_case('ocsp_wrongsigner', 'wrong', qr/SEC10503: .*not signed by the issuer/, 'wrong signer');

# record a response with a nonce of openssl's own, then replay it
{
    my ($rc, $out) = run_cmd(['openssl', 'ocsp', '-issuer', cert_file('ca'), '-cert', cert_file('client_ok'),
                              '-url', responder_url('asf', 'record', 'rec'), '-noverify', '-timeout', '10'],
                             '', 20);
    like($out, qr/: good/, 'recorded a response for client_ok');
}
unknown_case('ocsp_nonce', 'rec', qr/SEC10503: .*nonce that does not match/, 'nonce mismatch');
sleep 2;
unknown_case('ocsp_stale', 'rec',
             qr/SEC10503: .*is not fresh: its thisUpdate is \d+ s old, more than SecureOCSPMaxAge 1 s/,
             'stale response');

# responses signed under a shifted clock (faketime, for openssl alone): otherwise good ones
my $have_faketime = grep { -x "$_/faketime" } split /:/, ($ENV{PATH} || '');
SKIP: {
    skip('faketime is not installed (build/deps installs it)', 8) unless $have_faketime;
    my $future_re = 'SEC10503: .*is dated in the future: its thisUpdate is 7\d\d\d s from now, '
                    . 'more than the 300 s of clock skew allowed';
    unknown_case('ocsp_future', 'future', qr/$future_re/, 'thisUpdate 2 hours ahead');
    unknown_case('ocsp_expired', 'expired', qr/SEC10503: .*has expired: its nextUpdate passed 17\d{4} s ago/,
                 'nextUpdate 2 days past');
}
unknown_case('ocsp_error500', 'e500', qr/SEC10503: .*HTTP exchange with responder .* failed/, 'HTTP 500');

# a responder that sleeps 10 s: the handshake must finish within SecureOCSPTimeout (2) + 2 s (the
# handshake and request themselves, with room for a loaded or sanitized CI machine), well before 10 s
{
    my $mark = error_log_mark();
    my $t0 = Time::HiRes::time();
    my $r = with_cert('ocsp_hang', 'client_ok');
    my $spent = Time::HiRes::time() - $t0;
    is($r->{status}, 200, 'hanging responder: request served');
    is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', 'hanging responder: UNKNOWN');
    cmp_ok($spent, '<', 3, sprintf('hanging responder: handshake + request took %.2f s (< SecureOCSPTimeout 2 + 1 s)', $spent));
    cmp_ok($spent, '>=', 1.8, 'hanging responder: we did wait for the timeout');
    like(error_log_since($mark), qr/SEC10503: .*timed out after 2 s/, 'hanging responder: timeout logged');
}

# a responder that never answers the connection: a listener with a full accept queue (backlog 0 and one
# connection nobody accepts), so the kernel drops the SYNs of ours; connecting is bounded by the timeout
{
    open my $fh, '<', test_config()->{vars}->{t_conf} . '/ocsp.conf' or die "ocsp.conf: $!";
    my $conf = do { local $/; <$fh> };
    my ($port) = $conf =~ m{http://127\.0\.0\.1:(\d+)/blackhole} or die 'no blackhole port in ocsp.conf';
    socket(my $l, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    bind($l, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or die "bind 127.0.0.1:$port: $!";
    listen($l, 0) or die "listen: $!";
    my $filler = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2)
        or die "filling the accept queue: $!";
    my $mark = error_log_mark();
    my $t0 = Time::HiRes::time();
    my $r = with_cert('ocsp_blackhole', 'client_ok');
    my $spent = Time::HiRes::time() - $t0;
    is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', 'unanswered connect: UNKNOWN');
    cmp_ok($spent, '>=', 1.8, sprintf('unanswered connect: waited for SecureOCSPTimeout 2 (%.2f s)', $spent));
    cmp_ok($spent, '<', 3, '... and no longer than the timeout + 1 s');
    like(error_log_since($mark), qr/SEC10503: .*timed out after 2 s while connecting/, '... logged as a timeout');
    close $filler;
    close $l;
}

# the breaker: 3 failures open the circuit; while open no query; after 3 s one try again
{
    my $mark = error_log_mark();
    my $before = query_count('breaker');
    with_cert('ocsp_breaker', 'client_ok') for 1 .. 3;
    is(query_count('breaker'), $before + 3, 'breaker: three failing queries');
    like(error_log_since($mark), qr/SEC10504: .*failed 3 times in a row: skipping it for 3 s/,
         'breaker: opening logged');
    my $r = with_cert('ocsp_breaker', 'client_ok');
    is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', 'breaker open: UNKNOWN at once');
    is(query_count('breaker'), $before + 3, 'breaker open: the responder was not asked');
    like(error_log_since($mark), qr/SEC10502: .*circuit is open/, 'breaker open: skip logged');
    sleep 4;
    with_cert('ocsp_breaker', 'client_ok');
    is(query_count('breaker'), $before + 4, 'breaker: after SecureOCSPRetry the responder is tried again');
}

# responder down (nothing listens on 127.0.0.1:1): the answer follows SecureRevocationUnknown (before the
# good test caches client_ok), and a refused connection is given up at once, not retried until
# SecureOCSPTimeout (3 s) runs out
{
    my $mark = error_log_mark();
    my $t0 = Time::HiRes::time();
    my $r = with_cert('ocsp_down_deny', 'client_ok');
    my $spent = Time::HiRes::time() - $t0;
    ok($r->{error}, 'responder down + deny: handshake refused');
    unlike($r->{error} // '', qr/certificate revoked/i, '... but not as revoked');
    cmp_ok($spent, '<', 1, sprintf('... at once: %.2f s (< 1 s, SecureOCSPTimeout 3)', $spent));
    my $refused = 'SEC10503: .*cannot connect to responder http://127\.0\.0\.1:1/ocsp: failed after \d+ ms '
                  . '.*Connection refused';
    like(error_log_since($mark), qr/$refused/, '... connection refusal logged');
    $t0 = Time::HiRes::time();
    $r = with_cert('ocsp_down_allow', 'client_ok');
    $spent = Time::HiRes::time() - $t0;
    is($r->{status}, 200, 'responder down + allow: 200');
    is(info_json($r)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... with UNKNOWN');
    cmp_ok($spent, '<', 1, sprintf('... at once: %.2f s (< 1 s)', $spent));
}

# good: 50 new connections with one certificate, one responder query (the verdict cache)
{
    my $before = query_count('asfgood');
    my ($ok, $good, %src) = (0, 0);
    for my $i (1 .. 50) {
        my $r = with_cert('ocsp_good', 'client_ok', version => $i % 2 ? 'TLSv1_2' : 'TLSv1_3');
        my $v = info_json($r);
        $ok++ if ($r->{status} // 0) == 200;
        $good++ if ($v->{SECURE_CLIENT_REVOCATION} // '') eq 'GOOD';
        $src{$v->{SECURE_CLIENT_REVOCATION_SOURCE} // 'none'}++;
    }
    is($ok, 50, 'good: 50 connections served');
    is($good, 50, 'good: all 50 GOOD');
    is(query_count('asfgood'), $before + 1, 'cache: 50 connections, exactly one responder query');
    is($src{ocsp}, 1, 'first answer came from OCSP');
    is($src{cache}, 49, 'the other 49 from the cache');
}

# revoked: alert 44 (certificate_revoked), and the REVOKED verdict is cached too
{
    my $mark = error_log_mark();
    my $before = query_count('asfgood');
    my $r = with_cert('ocsp_good', 'client_revoked');
    like($r->{error} // '', qr/certificate revoked/i, 'revoked: handshake refused with certificate_revoked');
    is(query_count('asfgood'), $before + 1, 'revoked: one query');
    $r = with_cert('ocsp_good', 'client_revoked', version => 'TLSv1_2');
    like($r->{error} // '', qr/certificate revoked/i, 'revoked again: refused');
    is(query_count('asfgood'), $before + 1, 'revoked again: from the cache, no query');
    my ($rc, $out) = SecureTest::s_client(vhost => 'ocsp_good', args => ['-tls1_2', '-cert',
        cert_file('client_revoked'), '-key', key_file('client_revoked')]);
    like($out, qr/alert certificate revoked|alert number 44/i, 'openssl s_client sees alert 44');
    like(error_log_since($mark), qr/revoked/i, 'revoked: logged');
}

# counters (shared by every process) on the status page
{
    my $r = tls_request(vhost => 'ocsp_good', path => '/status?json',
                        ssl => { client('client_ok') });
    my $c = eval { JSON::PP->new->decode($r->{body}) } || {};
    $c = $c->{counters} if ref $c->{counters};
    cmp_ok($c->{ocsp_bad_response} // 0, '>=', 2, 'counter ocsp_bad_response (both garbage framings)');
    cmp_ok($c->{ocsp_bad_signature} // 0, '>=', 1, 'counter ocsp_bad_signature');
    cmp_ok($c->{ocsp_bad_nonce} // 0, '>=', 1, 'counter ocsp_bad_nonce');
    cmp_ok($c->{ocsp_stale} // 0, '>=', $have_faketime ? 2 : 1, 'counter ocsp_stale (too old, expired)');
    cmp_ok($c->{ocsp_future} // 0, '>=', $have_faketime ? 1 : 0, 'counter ocsp_future');
    cmp_ok($c->{ocsp_timeouts} // 0, '>=', 1, 'counter ocsp_timeouts');
    cmp_ok($c->{cache_hits} // 0, '>=', 49, 'counter cache_hits');
}

