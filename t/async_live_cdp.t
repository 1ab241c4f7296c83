# A certificate that a newly served distribution-point CRL revokes while its connection stays open
# (issue 12, the gap "a newly served CDP CRL does not bump the epoch"). Instance "cdplive" (event MPM, 2
# processes, shmcb verdict cache, KeepAliveTimeout 30) with SecureCRLFetch on; the leaves lx, ly, lz name
# the CDP /ocsp/crl.cgi/plain/cdplive on the main test server. The first CRL revokes nobody and is valid
# 20 s, so it is due for refresh after 10 s.
# Keep-alive connections with ly (outer) and lx (inner) get GOOD from that CRL. After 11 s the CDP serves a
# CRL revoking lx; a handshake with lz (not cached) is answered by the old CRL, which is still valid, and
# queues the refresh. The refreshed CRL revokes lx, which the old one did not: lx goes into the verdict
# cache as REVOKED and the server-wide revocation epoch is bumped (SEC11702). lx's open connection then
# gets 403 and is closed at its next request, whichever process holds it, well before the old CRL's
# nextUpdate; ly's keeps working. Before, lx kept its cached GOOD until the old CRL's nextUpdate (and
# its connection until a fresh REVOKED answer after that bumped the epoch).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request t_logs);
use SecureOCSP qw(query_count make_pki make_crl gen_dir start_instance stop_all spare_port_base instance_vhost
                  main_port);
use SecureRevoke qw(keepalive_requests);

plan tests => 11, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $port = spare_port_base() + 56;
my $cdp = 'http://127.0.0.1:' . main_port() . '/ocsp/crl.cgi/plain/cdplive';
make_pki(map { $_ => { cdp => $cdp } } qw(lx ly lz));
my $gen = gen_dir();
unlink t_logs() . '/ocsp-count-cdplive.log';
make_crl(20);
my $t0 = Time::HiRes::time();      # the first CRL's thisUpdate (to the second); nextUpdate 20 s later
start_instance(name => 'cdplive', mpm => 'event', ports => [$port],
               conf => "KeepAliveTimeout 30\nStartServers 2\nServerLimit 2\nThreadsPerChild 10\n"
                       . "MaxRequestWorkers 20\nMinSpareThreads 10\nMaxSpareThreads 20\n"
                       . instance_vhost($port, "$gen/ca.crt", "    SecureCRLFetch on\n    SecureOCSPTimeout 5\n"));

my %ssl = map { $_ => { SSL_cert_file => "$gen/$_.crt", SSL_key_file => "$gen/$_.key", SSL_version => 'TLSv1_2' } }
          qw(lx ly lz);
sub revocation_of {
    my $r = shift // {};
    my ($s) = ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/;
    my ($src) = ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION_SOURCE"\s*:\s*"([\w-]+)"/;
    return join ' ', $s // '', $src // '';
}
sub log_count {
    my $re = shift;
    open my $fh, '<', t_logs() . '/inst-cdplive/logs/error_log' or return 0;
    return scalar grep { /$re/ } <$fh>;
}

my ($lx_err, $lx_resp, $lz, $lx_new, $lx_done);
my ($ly_err, $ly_resp) = keepalive_requests(
    port => $port, ssl => $ssl{ly}, timeout => 15,
    paths => ['/info',
              sub {
                  ($lx_err, $lx_resp) = keepalive_requests(
                      port => $port, ssl => $ssl{lx}, timeout => 15,
                      paths => ['/info',
                                sub {
                                    # past the first CRL's halfway point: due, still valid
                                    my $wait = $t0 + 11 - Time::HiRes::time();
                                    Time::HiRes::sleep($wait) if $wait > 0;
                                    make_crl(60, 'lx');
                                    $lz = tls_request(port => $port, path => '/info', timeout => 15, ssl => $ssl{lz});
                                    my $deadline = Time::HiRes::time() + 5;
                                    Time::HiRes::sleep(0.1)
                                        while !log_count(qr/SEC11702: /) && Time::HiRes::time() < $deadline;
                                    $lx_new = tls_request(port => $port, path => '/info', timeout => 15,
                                                          ssl => $ssl{lx});
                                },
                                '/info']);
                  $lx_done = Time::HiRes::time();
              },
              '/info']);

is($lx_resp->[0]{status}, 200, 'keep-alive connection with lx: the first request gets 200') or diag($lx_err // '');
is(revocation_of($lx_resp->[0]), 'GOOD crl-fetch', '... GOOD, from the first CRL');
is($lz->{status}, 200, 'a handshake with lz after the CDP changed: 200 (the old CRL, still valid, answers)');
is(log_count(qr/SEC11702: .*revokes 1 certificate\(s\) the one it replaces did not/), 1,
   'the refreshed CRL revokes lx, which the old one did not: logged once (SEC11702)');
ok(!defined $lx_new->{status}, 'a new handshake with lx is refused (the verdict cache says REVOKED)')
    or diag(explain($lx_new));
is($lx_resp->[1]{status}, 403, 'the next request on lx\'s open connection gets 403');
ok($lx_resp->[1]{close_header} && $lx_resp->[1]{eof}, '... and the server closes the connection');
cmp_ok($lx_done - $t0, '<', 18, sprintf('... %.1f s after the first CRL was issued: before its nextUpdate (20 s), '
       . 'so not because the cached GOOD ran out', $lx_done - $t0));
is(join(' ', map { $_->{status} // 'none' } @$ly_resp), '200 200',
   'ly\'s open connection keeps working across the same change') or diag($ly_err // '');
like(revocation_of($ly_resp->[1]), qr/^GOOD /, '... and stays GOOD');
is(query_count('cdplive'), 2, 'the CDP served 2 downloads: the first CRL and its successor');
stop_all();
