# SecureCRLFetch: a CRL downloaded from a certificate's distribution point passes exactly the checks of a
# SecureCRL file (one CRL core, finding 8 / issue 10). Before, the fetched path checked only issuer name,
# signature and dates: a delta CRL, a partitioned CRL or a CRL for CA certificates only was believed
# complete and a leaf it does not list came out GOOD. Config: a server of its own (start_instance):
#     SSLVerifyClient require, SecureCRLFetch on, SecureRevocationUnknown defer
# Each leaf names its own CRL URL on the main test server (/ocsp-pki/<name>.crl), so no cached CRL or
# verdict of one case can answer for another.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json run_cmd write_file);
use SecureOCSP qw(make_pki gen_dir start_instance stop_instance spare_port_base instance_vhost main_port);

plan tests => 12, need_module('mod_ssl.c', 'mod_secure.c');

my $port = spare_port_base() + 7;
my $url = 'http://127.0.0.1:' . main_port() . '/ocsp-pki';
my @cases = qw(complete listed delta partition onlyca onlyuser);
make_pki(map { ("leaf_$_" => { cdp => "$url/$_.crl" }) } @cases);
my $gen = gen_dir();


# One CRL per case, signed by the generated CA, DER, with the extensions of section [$ext].
write_file("$gen/crl.cnf", <<"CNF");
[ca]
default_ca = gen
[gen]
database = $gen/crl-index.txt
default_md = sha256
[complete]
authorityKeyIdentifier = keyid:always
[listed]
authorityKeyIdentifier = keyid:always
[delta]
deltaCRL = critical, DER:02:01:01
[partition]
issuingDistributionPoint = critical, \@idp_partition
[idp_partition]
fullname = URI:$url/partition.crl
[onlyca]
issuingDistributionPoint = critical, \@idp_ca
[idp_ca]
onlyCA = TRUE
[onlyuser]
issuingDistributionPoint = critical, \@idp_user
[idp_user]
onlyuser = TRUE
CNF
write_file("$gen/crl-index.txt.attr", "unique_subject = no\n");
for my $case (@cases) {
    my $index = '';
    if ($case eq 'listed') {   # the only CRL that lists its leaf
        my ($rc, $out) = run_cmd(['openssl', 'x509', '-in', "$gen/leaf_listed.crt", '-noout', '-serial'], '', 30);
        my ($serial) = $out =~ /serial=(\w+)/;
        $index = "R\t301231000000Z\t250101000000Z,keyCompromise\t$serial\tunknown\t/CN=leaf_listed\n";
    }
    write_file("$gen/crl-index.txt", $index);
    for my $cmd (['openssl', 'ca', '-batch', '-config', "$gen/crl.cnf", '-gencrl', '-keyfile', "$gen/ca.key", '-passin', 'pass:httpd',
                  '-cert', "$gen/ca.crt", '-crlexts', $case, '-crlhours', '24', '-out', "$gen/$case.pem"],
                 ['openssl', 'crl', '-in', "$gen/$case.pem", '-outform', 'DER', '-out', "$gen/$case.crl"]) {
        my ($rc, $out) = run_cmd($cmd, '', 30);
        die "@$cmd: $out" if $rc;
    }
}

my $root = start_instance(name => 'fetchrules', ports => [$port],
                          conf => instance_vhost($port, "$gen/ca.crt", "    SecureCRLFetch on\n"));

sub verdict {
    my $case = shift;
    my $r = tls_request(port => $port, path => '/info', timeout => 15,
                        ssl => { SSL_cert_file => "$gen/leaf_$case.crt", SSL_key_file => "$gen/leaf_$case.key",
                                 SSL_version => 'TLSv1_2' });
    return 'refused: certificate revoked' if ($r->{error} // '') =~ /certificate revoked/i;
    return 'error: ' . $r->{error} if $r->{error};
    my $v = info_json($r);
    return ($v->{SECURE_CLIENT_REVOCATION} // '?') . ' ' . ($v->{SECURE_CLIENT_REVOCATION_SOURCE} // '?');
}

is(verdict('complete'), 'GOOD crl-fetch', 'control: a complete fetched CRL that does not list the leaf: GOOD');
is(verdict('listed'), 'refused: certificate revoked', 'control: a fetched CRL that lists the leaf refuses it (alert 44)');
is(verdict('delta'), 'UNKNOWN crl-fetch', 'a fetched delta CRL is refused: UNKNOWN, not GOOD');
is(verdict('partition'), 'UNKNOWN crl-fetch', 'a fetched partitioned CRL is refused: UNKNOWN, not GOOD');
is(verdict('onlyca'), 'UNKNOWN crl-fetch', 'a fetched CRL for CA certificates only does not answer for a leaf: UNKNOWN');
is(verdict('onlyuser'), 'GOOD crl-fetch', 'a fetched CRL for end-entity certificates answers for a leaf: GOOD');

open my $fh, '<', "$root/logs/error_log" or die;
my $log = do { local $/; <$fh> };
like($log, qr/SEC10550: .*\Q$url\E\/delta\.crl: the CRL is refused: it is a delta CRL/, 'the delta CRL refusal is logged with the reason');
like($log, qr/SEC10550: .*\Q$url\E\/partition\.crl: the CRL is refused: it covers only the certificates of one distribution point/,
     'the partitioned CRL refusal is logged with the reason');
like($log, qr/SEC10552: .*\Q$url\E\/onlyca\.crl: the CRL does not cover this certificate/,
     'the out-of-scope answer is logged');
like($log, qr/SEC10551: .*fetched the CRL of the issuer from \Q$url\E\/onlyca\.crl/, '... though that CRL itself was accepted');
unlike($log, qr/SEC10551: .*\Q$url\E\/(delta|partition)\.crl/, 'the refused CRLs were never kept');
like(verdict('complete'), qr/^GOOD (crl-fetch|cache)$/, 'the complete CRL still answers afterwards (or its cached verdict)');

stop_instance('fetchrules');
