# A generated CA whose certificates carry AIA (OCSP) and CDP (CRL) URLs pointing at the test httpd:
#  - instance "b" (prefork, 4 processes, default shmcb cache): AIA responder good / revoked / delegated
#    signer / SecureOCSPResponderCert; one responder query for 20 connections spread over processes;
#    SecureCRLFetch: fetched, enforced, refreshed before nextUpdate.
#  - instances "c" and "d" share SecureRevocationCache memcache:127.0.0.1:PORT (a real memcached) and one
#    SecureRevocationCacheKey: a verdict fetched by c is used by d without a responder query.
# Every server listens on 127.0.0.1 only and is stopped at the end (SecureOCSP::stop_all).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request info_json cert_file key_file t_logs client);
use SecureOCSP qw(query_count responder_url make_pki make_crl gen_dir start_instance start_memcached stop_all
                  spare_port_base instance_vhost);

plan tests => 23, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c', 'mod_socache_memcache.c');

my $base = spare_port_base();
my %port = (aia => $base + 1, trusted => $base + 2, cdp => $base + 3, c => $base + 6, d => $base + 7,
            memcached => $base + 9);
my $crl_url = 'http://127.0.0.1:' . SecureOCSP::main_port() . '/ocsp-pki/ca.crl';
make_pki(
    good1    => { aia => responder_url('gen', 'good', 'gen') },
    revoked1 => { aia => responder_url('gen', 'good', 'gen'), revoked => 1 },
    deleg    => { aia => responder_url('gen', 'delegated', 'deleg') },
    good2    => { aia => responder_url('gen', 'good', 'unused') },
    cdpgood  => { cdp => $crl_url },
    cdprev   => { cdp => $crl_url },
    cdplater => { cdp => $crl_url },
);
my $gen = gen_dir();

sub vhost { return instance_vhost(@_) }

sub req {
    my ($port, $cert, $dir) = @_;
    $dir //= $gen;
    return tls_request(port => $port, path => '/info', timeout => 15,
                       ssl => { SSL_cert_file => "$dir/$cert.crt", SSL_key_file => "$dir/$cert.key",
                                SSL_version => 'TLSv1_2' });
}

start_instance(name => 'b', mpm => 'prefork', ports => [@port{qw(aia trusted cdp)}],
               conf => vhost($port{aia}, "$gen/ca.crt", "    SecureOCSP on\n")
                     . vhost($port{trusted}, "$gen/ca.crt",
                             "    SecureOCSP on\n    SecureOCSPResponder \"" . responder_url('gen', 'wrongsigner', 'trusted')
                             . "\"\n    SecureOCSPResponderCert \"$gen/wrong.crt\"\n")
                     . vhost($port{cdp}, "$gen/ca.crt", "    SecureCRLFetch on\n"));

# AIA: the responder named in the certificate; 20 connections, one query, several processes
{
    my $before = query_count('gen');
    my ($good, %src) = (0);
    for (1 .. 20) {
        my $v = info_json(req($port{aia}, 'good1'));
        $good++ if ($v->{SECURE_CLIENT_REVOCATION} // '') eq 'GOOD';
        $src{$v->{SECURE_CLIENT_REVOCATION_SOURCE} // 'none'}++;
    }
    is($good, 20, 'AIA responder: 20 connections GOOD');
    is(query_count('gen'), $before + 1, 'AIA responder: one query for 20 connections');
    is($src{ocsp}, 1, '... one answer from ocsp, the rest from the cache');
    open my $al, '<', t_logs() . '/inst-b/logs/access_log' or die;
    my %pids = map { (split / /)[0] => 1 } grep { / GOOD cache / } <$al>;
    cmp_ok(scalar(keys %pids), '>=', 2, 'cache hits were served by ' . scalar(keys %pids)
           . ' different httpd processes (shared shmcb)');
}
{
    my $r = req($port{aia}, 'revoked1');
    like($r->{error} // '', qr/certificate revoked/i, 'AIA responder: revoked leaf refused (alert 44)');
    my $v = info_json(req($port{aia}, 'deleg'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'delegated responder (OCSPSigning EKU from the CA) accepted');
    is(query_count('deleg'), 1, '... after one query');
    $v = info_json(req($port{trusted}, 'good2'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'SecureOCSPResponderCert trusts an otherwise unrelated signer');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'ocsp', '... answer from OCSP');
}

# CRL distribution point: fetched, enforced, refreshed before nextUpdate. The first CRL is valid for 6 s
# from here, not from the start of the file, so that a slow instance start cannot age it; the steps
# before the swap must fit in those 6 s.
{
    my $crl_secs = 6;
    make_crl($crl_secs, 'cdprev');
    my $crl_made = Time::HiRes::time();
    my $v = info_json(req($port{cdp}, 'cdpgood'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'CDP: leaf not in the fetched CRL is GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'crl-fetch', '... source crl-fetch');
    my $r = req($port{cdp}, 'cdprev');
    like($r->{error} // '', qr/certificate revoked/i, 'CDP: leaf in the fetched CRL refused (alert 44)');
    $v = info_json(req($port{cdp}, 'cdplater'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'CDP: cdplater GOOD before the CRL changes');
    my $spent = Time::HiRes::time() - $crl_made;
    cmp_ok($spent, '<', $crl_secs, sprintf('CDP: the first checks took %.1f s, within the first CRL', $spent));
    make_crl(60, 'cdprev', 'cdplater');   # the distribution point now serves a newer CRL
    # past the first CRL's nextUpdate (<= $crl_made + 6 s, whole seconds) and so its cached verdicts
    my $wait = $crl_made + $crl_secs + 1.2 - Time::HiRes::time();
    Time::HiRes::sleep($wait) if $wait > 0;
    $r = req($port{cdp}, 'cdplater');
    like($r->{error} // '', qr/certificate revoked/i, 'CDP: refreshed CRL revokes cdplater');
    $v = info_json(req($port{cdp}, 'cdpgood'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'CDP: cdpgood still GOOD with the refreshed CRL');
    open my $el, '<', t_logs() . '/inst-b/logs/error_log' or die;
    my $fetches = grep { /SEC10551: .*fetched the CRL/ } <$el>;
    cmp_ok($fetches, '>=', 2, "CDP: the CRL was fetched $fetches times (first and refresh)");
}

# Fleet: two servers, one memcached
start_memcached($port{memcached});
my $mc = "SecureRevocationCache memcache:127.0.0.1:$port{memcached}\n"
       . 'SecureRevocationCacheKey "' . SecureOCSP::cache_key_file('fleet') . "\"\n";
my $asf_ca = SecureTest::cert_file('ca');
for my $name ('c', 'd') {
    start_instance(name => $name, ports => [$port{$name}],
                   conf => $mc . vhost($port{$name}, $asf_ca, "    SecureOCSP on\n    SecureOCSPResponder \""
                                       . responder_url('asf', 'good', 'fleet') . "\"\n"));
}
{
    my $asf = SecureTest::sslca();
    my $before = query_count('fleet');
    my $r = tls_request(port => $port{c}, path => '/info', ssl => { client('client_ok'), SSL_version => 'TLSv1_2' });
    my $v = info_json($r);
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'fleet: server c asks the responder: GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'ocsp', '... from OCSP');
    is(query_count('fleet'), $before + 1, '... one query');
    $r = tls_request(port => $port{d}, path => '/info', ssl => { client('client_ok'), SSL_version => 'TLSv1_2' });
    $v = info_json($r);
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'fleet: server d answers GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'cache', "... from the shared memcached (c's verdict)");
    is(query_count('fleet'), $before + 1, '... without a responder query');
}
stop_all();
