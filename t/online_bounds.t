# The table of fetched CRLs is bounded (issue 9, finding 4): each process keeps at most 64 distribution
# points, keyed by the whole URL, and drops the least recently used one for a new one.
# Setup: an extra httpd (one event-MPM process, so every connection meets the same table) with
# SecureCRLFetch on and SecureRevocationCache none (every handshake consults the table, not the verdict
# cache); 65 client certificates of the asf CA, each with its own CDP URL on a listener of this test
# (t/lib/SecureListener.pm) that serves the asf CA's real CRL. Each fetch is one connection there. A CRL
# the table dropped is taken back from the server's spool (the copy its download left), not downloaded.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use SecureListener qw(start_listener accepted requests_of);
use SecureOCSP qw(start_instance stop_all spare_port_base instance_vhost);
use SecureTest qw(tls_request info_json cert_file key_file run_cmd sslca t_logs run_ok);

use constant { TABLE => 64, CERTS => 65 };

plan tests => 11, need_module('mod_ssl.c', 'mod_secure.c');

my $base = spare_port_base() + 30;
my %port = (server => $base, cdp => $base + 1);
my $dir = t_logs() . '/online-bounds';
File::Path::remove_tree($dir);
File::Path::make_path($dir);

# the asf CA's CRL, as a distribution point serves it (DER); it revokes client_revoked only
run_ok('openssl', 'crl', '-in', sslca() . '/crl/ca-bundle.crl', '-outform', 'DER', '-out', "$dir/asf.crl");
# one key, 65 certificates that differ in serial and CDP URL
run_ok('openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
       '-keyout', "$dir/leaf.key", '-out', "$dir/leaf.csr", '-subj', '/O=mod_secure tests/CN=bounds');
my $serial = sprintf('0x%x%04x', time, $$ & 0xffff);
for my $i (1 .. CERTS) {
    open my $fh, '>', "$dir/leaf$i.ext" or die;
    print $fh "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
              . "crlDistributionPoints=URI:http://127.0.0.1:$port{cdp}/crl/asf/$i\n";
    close $fh;
    run_ok('openssl', 'x509', '-req', '-in', "$dir/leaf.csr", '-CA', cert_file('ca'), '-CAkey', key_file('ca'),
           '-passin', 'pass:httpd', '-set_serial', $serial . sprintf('%02x', $i), '-days', '1',
           '-extfile', "$dir/leaf$i.ext", '-out', "$dir/leaf$i.crt");
}

my $log = start_listener(port => $port{cdp}, log => t_logs() . '/online-bounds-cdp.log', dir => $dir,
                         to => "http://127.0.0.1:$port{cdp}");
my $root = start_instance(name => 'bounds', mpm => 'event', ports => [$port{server}],
                          conf => "SecureRevocationCache none\n"
                                  . instance_vhost($port{server}, cert_file('ca'), "    SecureCRLFetch on\n"));

sub check {
    my $i = shift;
    my $r = tls_request(port => $port{server}, path => '/info', timeout => 15,
                        ssl => { SSL_cert_file => "$dir/leaf$i.crt", SSL_key_file => "$dir/leaf.key",
                                 SSL_version => 'TLSv1_2' });
    my $v = info_json($r);
    return ($v->{SECURE_CLIENT_REVOCATION} // 'none') . '/' . ($v->{SECURE_CLIENT_REVOCATION_SOURCE} // 'none');
}

my %seen;
$seen{ check($_) }++ for 1 .. CERTS;
is_deeply(\%seen, { 'GOOD/crl-fetch' => CERTS }, CERTS . ' certificates, each GOOD from its own fetched CRL');
is(accepted($log), CERTS, '... ' . CERTS . ' distribution points, one download each')
    or diag(requests_of($log));

is(check(CERTS), 'GOOD/crl-fetch', 'the most recent distribution point again: GOOD');
is(accepted($log), CERTS, '... from the table, no download');

# a CRL the table dropped comes back from the server's spool (DefaultRuntimeDir/mod_secure-crlfetch, where
# the download left it for the other processes): verified again, not downloaded again
sub from_spool {
    my $i = shift;
    open my $el, '<', "$root/logs/error_log" or die "error_log: $!";
    return scalar grep { m{SEC11705: .*took the CRL of http://127\.0\.0\.1:$port{cdp}/crl/asf/$i from the spool} } <$el>;
}
is(check(1), 'GOOD/crl-fetch', 'the first distribution point again: GOOD');
ok(from_spool(1) == 1 && accepted($log) == CERTS, '... taken back from the spool (SEC11705), not downloaded: the '
   . 'table (' . TABLE . ' URLs) had dropped it, the least recently used, for the ' . CERTS . 'th')
    or diag(requests_of($log));

is(check(2), 'GOOD/crl-fetch', 'the second one: GOOD');
ok(from_spool(2) == 1 && accepted($log) == CERTS, '... taken back from the spool too: dropped for the first one');

is(check(4), 'GOOD/crl-fetch', 'the fourth one (the third was dropped for the second): GOOD');
ok(from_spool(4) == 0 && accepted($log) == CERTS, '... still in the table: neither spool nor download')
    or diag(requests_of($log));

{
    open my $el, '<', "$root/logs/error_log" or die "error_log: $!";
    my $evicted = grep { /SEC11060: .*table of fetched CRLs is full \(64 URLs, 64 MB\): dropped the 1 least recently used/ } <$el>;
    cmp_ok($evicted, '>=', 3, "eviction logged ($evicted times, SEC11060)");
}
stop_all();
