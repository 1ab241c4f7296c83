# Distribution-point CRLs refreshed on the background thread (issue 12, item 2): once a fetched CRL is due
# for refresh (halfway through its validity) but still valid, it keeps answering and its successor is
# downloaded on the child's background thread, not in the handshake that noticed.
# Setup: a generated CA whose leaves carry a CDP on the main test server (/ocsp-pki/ca.crl); instance
# "cdpbg" (one event-MPM process) with SecureCRLFetch on. The first CRL revokes nobody and is valid 10 s.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request info_json t_logs);
use SecureOCSP qw(make_pki make_crl gen_dir start_instance stop_all spare_port_base instance_vhost main_port);

plan tests => 7, need_module('mod_ssl.c', 'mod_secure.c');

my $port = spare_port_base() + 44;
my $crl_url = 'http://127.0.0.1:' . main_port() . '/ocsp-pki/ca.crl';
make_pki(map { $_ => { cdp => $crl_url } } qw(bga bgb bgc));
my $gen = gen_dir();

sub req {
    my $name = shift;
    my $r = tls_request(port => $port, path => '/info', timeout => 15,
                        ssl => { SSL_cert_file => "$gen/$name.crt", SSL_key_file => "$gen/$name.key",
                                 SSL_version => 'TLSv1_2' });
    my $v = info_json($r);
    return $r->{error} ? "error: $r->{error}"
         : join(' ', $r->{status} // 'none', $v->{SECURE_CLIENT_REVOCATION} // 'none',
                $v->{SECURE_CLIENT_REVOCATION_SOURCE} // 'none');
}
sub log_count {
    my $re = shift;
    open my $fh, '<', t_logs() . '/inst-cdpbg/logs/error_log' or return 0;
    return scalar grep { /$re/ } <$fh>;
}

start_instance(name => 'cdpbg', mpm => 'event', ports => [$port],
               conf => instance_vhost($port, "$gen/ca.crt", "    SecureCRLFetch on\n"));
make_crl(10);
my $t0 = Time::HiRes::time();
is(req('bga'), '200 GOOD crl-fetch', 'first CRL fetched in the handshake (first sight, wait): bga GOOD');
is(log_count(qr/SEC10551: .*fetched the CRL/), 1, '... one download');

# past the halfway point: due for refresh, still valid; the distribution point now serves a CRL revoking bgb
Time::HiRes::sleep($t0 + 6 - Time::HiRes::time());
make_crl(60, 'bgb');
# (the successor revokes bgb, which the kept CRL did not: when it is in between bgc's handshake and its
# request, the revocation epoch bump makes the request judge bgc again, from the verdict cache)
like(req('bgc'), qr/^200 GOOD (crl-fetch|cache)$/, 'due but valid: the kept CRL answers for bgc at once');
my $deadline = Time::HiRes::time() + 5;
Time::HiRes::sleep(0.2) while log_count(qr/SEC11610: /) < 1 && Time::HiRes::time() < $deadline;
is(log_count(qr/SEC11610: .*refreshed in the background/), 1, '... and its successor was downloaded on the '
   . 'background thread (SEC11610)');
is(log_count(qr/SEC10551: .*fetched the CRL/), 2, '... once');
like(req('bgb'), qr/^error: .*certificate revoked/i, 'the successor is in force: bgb refused (alert 44)');
is(log_count(qr/SEC10551: .*fetched the CRL/), 2, '... without another download');
stop_all();
