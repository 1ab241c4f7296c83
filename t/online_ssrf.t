# Unverified certificates never drive a network fetch (issue 9, finding 4), and the online fetch follows
# no redirection and sends no user information. Config: t/conf/online.conf.in.
#  - online_noca (SSLVerifyClient optional_no_ca, SecureOCSP on, SecureCRLFetch on, unknown allow): a
#    self-signed certificate, and a leaf sent with its own unknown CA, whose AIA OCSP and CDP URLs point at
#    a listener of this test that serves a CRL signed by the client's own key. The listener must receive
#    0 connections and the answer is SECURE_CLIENT_REVOCATION=NONE (source "unverified"), never GOOD; so
#    also for a resumed session and for a certificate asked for by a <Location> (renegotiation, the
#    request-time re-check).
#  - online_verified (asf CA, SSLVerifyClient require): certificates whose AIA / CDP answer 301 / 302 /
#    303 / 307 / 308 to a second listener: that one receives 0 connections, the verdict is UNKNOWN and the
#    redirection is logged; URLs with user information are not fetched at all.
# Listeners: t/lib/SecureListener.pm (forked children on 127.0.0.1 counting accepted connections, bounded
# in time and count, stopped at the end).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use File::Path ();
use IO::Socket::INET ();
use JSON::PP ();
use SecureListener qw(start_listener accepted requests_of);
use SecureTest qw(tls_request info_json cert_file key_file error_log_mark error_log_since run_cmd client_ctx t_logs run_ok write_file);
use SecureOCSP qw(spare_port_base);

my @codes = (301, 302, 303, 307, 308);
plan tests => 32 + 6 * @codes, need_module('mod_ssl.c', 'mod_secure.c');

my $base = spare_port_base() + 20;
my %port = (bait => $base, target => $base + 1, userinfo => $base + 2);
my $dir = t_logs() . '/online-pki';
File::Path::remove_tree($dir);
File::Path::make_path($dir);

# ---- certificates ------------------------------------------------------------------------------------

# serials unique per run, so that no verdict cached by an earlier run answers for these certificates
my $serial = sprintf('0x%x%04x', time, $$ & 0xffff);
my $n_serial = 0;
sub next_serial { return $serial . sprintf('%02x', ++$n_serial) }

my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes');
sub urls_ext {
    my ($ocsp, $crl) = @_;
    return "authorityInfoAccess=OCSP;URI:$ocsp\ncrlDistributionPoints=URI:$crl\n";
}

# A self-signed client certificate of the attacker's (AIA / CDP at the bait listener).
sub self_signed {
    my ($name, $ocsp, $crl) = @_;
    write_file("$dir/$name.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign,"
               . "cRLSign\nextendedKeyUsage=clientAuth\n" . urls_ext($ocsp, $crl));
    run_ok('openssl', 'req', '-x509', @ec, '-keyout', "$dir/$name.key", '-out', "$dir/$name.crt", '-days', '1',
           '-subj', "/O=attacker/CN=$name", '-set_serial', next_serial(), '-extensions', 'v3_x',
           '-config', _req_conf("$dir/$name.ext"));
}

# openssl req needs a config section for -x509 extensions from a file.
sub _req_conf {
    my $ext = shift;
    open my $fh, '<', $ext or die "$ext: $!";
    my $body = do { local $/; <$fh> };
    close $fh;
    my $conf = "$ext.cnf";
    write_file($conf, "[req]\ndistinguished_name = dn\n[dn]\n[v3_x]\n$body");
    return $conf;
}

# A leaf signed by $ca (files $ca.crt / $ca.key, passphrase $pass or none).
sub signed_leaf {
    my ($name, $ca_crt, $ca_key, $pass, $ocsp, $crl) = @_;
    write_file("$dir/$name.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
               . "extendedKeyUsage=clientAuth\n" . urls_ext($ocsp, $crl));
    run_ok('openssl', 'req', '-new', @ec, '-keyout', "$dir/$name.key", '-out', "$dir/$name.csr",
           '-subj', "/O=mod_secure tests/CN=$name");
    run_ok('openssl', 'x509', '-req', '-in', "$dir/$name.csr", '-CA', $ca_crt, '-CAkey', $ca_key,
           ($pass ? ('-passin', "pass:$pass") : ()), '-set_serial', next_serial(), '-days', '1',
           '-extfile', "$dir/$name.ext", '-out', "$dir/$name.crt");
}

# A CRL signed by the certificate $name itself (the attacker's key), revoking nothing, DER.
sub own_crl {
    my $name = shift;
    my $db = "$dir/$name-crldb";
    File::Path::make_path($db);
    write_file("$db/index.txt", '');
    write_file("$db/ca.cnf", "[ca]\ndefault_ca = x\n[x]\ndatabase = $db/index.txt\ndefault_md = sha256\n");
    run_ok('openssl', 'ca', '-batch', '-config', "$db/ca.cnf", '-gencrl', '-keyfile', "$dir/$name.key",
           '-cert', "$dir/$name.crt", '-crldays', '1', '-out', "$db/crl.pem");
    run_ok('openssl', 'crl', '-in', "$db/crl.pem", '-outform', 'DER', '-out', "$dir/$name.crl");
}

my $bait = "http://127.0.0.1:$port{bait}";
self_signed('selfsigned', "$bait/ocsp/selfsigned", "$bait/crl/selfsigned");
own_crl('selfsigned');
self_signed('selfresume', "$bait/ocsp/selfresume", "$bait/crl/selfresume");
own_crl('selfresume');
self_signed('selfreneg', "$bait/ocsp/selfreneg", "$bait/crl/selfreneg");
own_crl('selfreneg');
# an unknown CA of the attacker's, sent along with its leaf (the chain builds, its root is not trusted)
self_signed('fakeca', "$bait/ocsp/fakeca", "$bait/crl/fakeca");
signed_leaf('fakeleaf', "$dir/fakeca.crt", "$dir/fakeca.key", undef, "$bait/ocsp/fakeleaf", "$bait/crl/fakeca");
own_crl('fakeca');
write_file("$dir/fakechain.crt", join '', map { local $/; open my $f, '<', $_ or die; <$f> }
                                          "$dir/fakeleaf.crt", "$dir/fakeca.crt");
# verified certificates (asf CA) for the redirection and user-information cases
for my $code (@codes) {
    signed_leaf("redir$code", cert_file('ca'), key_file('ca'), 'httpd', "$bait/ocsp/r$code", "$bait/crl/r$code");
}
signed_leaf('userinfo', cert_file('ca'), key_file('ca'), 'httpd',
            "http://user\@127.0.0.1:$port{userinfo}/ocsp", "http://user:pw\@127.0.0.1:$port{userinfo}/crl");

# ---- listeners: they count accepted connections -------------------------------------------------------

my %listen = (dir => $dir, to => "http://127.0.0.1:$port{target}");
my $bait_log = start_listener(%listen, port => $port{bait}, log => t_logs() . '/online-bait.log');
my $target_log = start_listener(%listen, port => $port{target}, log => t_logs() . '/online-target.log');
my $userinfo_log = start_listener(%listen, port => $port{userinfo}, log => t_logs() . '/online-userinfo.log');

# the bait really serves what an unchecked fetch would take: the attacker's own CRL
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{bait}, Timeout => 5);
    print $s "GET /crl/selfsigned HTTP/1.0\r\n\r\n" if $s;
    my $resp = $s ? do { local $/; <$s> } : '';
    like($resp // '', qr{\AHTTP/1\.0 200 OK\r\n.*Content-Length: [1-9]}s, 'the bait listener serves a CRL');
    is(accepted($bait_log), 1, '... and counts the connection');
    unlink $bait_log;
}

sub req {
    my ($vhost, $cert, $key, %o) = @_;
    return tls_request(vhost => $vhost, path => '/info', timeout => 15, ctx => $o{ctx},
                       ssl => { SSL_cert_file => $cert, SSL_key_file => $key,
                                SSL_version => $o{version} || 'TLSv1_2' });
}

# ---- unverified certificates: no fetch, UNKNOWN ---------------------------------------------------------

{
    my $mark = error_log_mark();
    my $r = req('online_noca', "$dir/selfsigned.crt", "$dir/selfsigned.key");
    my $v = info_json($r);
    is($r->{status}, 200, 'self-signed certificate under optional_no_ca: served (mod_ssl lets it through)');
    is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... revocation UNKNOWN (not looked up), never GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'unverified', '... source "unverified"');
    is(accepted($bait_log), 0, '... and its AIA / CDP listener received 0 connections')
        or diag("requests: " . requests_of($bait_log));
    like(error_log_since($mark), qr/SEC11061: .*did not verify \(self.signed certificate\).*nothing looked up or fetched, status UNKNOWN/,
         '... logged: did not verify, nothing fetched');
}

{
    my $r = req('online_noca', "$dir/fakechain.crt", "$dir/fakeleaf.key", version => 'TLSv1_3');
    my $v = info_json($r);
    is($r->{status}, 200, 'leaf sent with its own unknown CA (TLS 1.3): served');
    is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... revocation UNKNOWN, never GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'unverified', '... source "unverified"');
    is(accepted($bait_log), 0, '... 0 connections to its listener') or diag("requests: " . requests_of($bait_log));
}

# a resumed session runs no verify callback: the request-time re-check sees the certificate
{
    my $ctx = client_ctx(SSL_version => 'TLSv1_2', SSL_cert_file => "$dir/selfresume.crt",
                         SSL_key_file => "$dir/selfresume.key");
    my $r1 = req('online_noca', "$dir/selfresume.crt", "$dir/selfresume.key", ctx => $ctx);
    my $r2 = req('online_noca', "$dir/selfresume.crt", "$dir/selfresume.key", ctx => $ctx);
    is($r2->{reused}, 1, 'resumed session: the client resumed');
    is($r2->{status}, 200, '... served');
    is(info_json($r2)->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... revocation UNKNOWN');
    is(accepted($bait_log), 0, '... 0 connections to the listener over both connections')
        or diag("requests: " . requests_of($bait_log));
}

# asked for by <Location /info> (TLS 1.2 renegotiation through mod_ssl's own callback): the request-time
# re-check is the only path that sees this certificate
{
    my $mark = error_log_mark();
    my $r = req('online_noca_dir', "$dir/selfreneg.crt", "$dir/selfreneg.key");
    my $v = info_json($r);
    is($r->{status}, 200, 'certificate asked for by a <Location> (renegotiation): served');
    is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... revocation UNKNOWN, never GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'unverified', '... source "unverified"');
    is(accepted($bait_log), 0, '... 0 connections to its listener') or diag("requests: " . requests_of($bait_log));
    unlike(error_log_since($mark), qr/SEC1055\d|SEC1050[1-4]/, '... no CRL-fetch or OCSP log line for it');
}

# under SecureRevocationUnknown deny an unverified certificate is refused like any other whose revocation
# status cannot be established (fail closed), still without a single connection to its URLs
{
    my $mark = error_log_mark();
    my $r = req('online_noca_deny', "$dir/selfsigned.crt", "$dir/selfsigned.key");
    ok(!defined $r->{status}, 'SecureRevocationUnknown deny: the self-signed certificate fails the handshake');
    like($r->{error} // '', qr/alert certificate unknown/, '... with alert certificate_unknown (46)');
    is(accepted($bait_log), 0, '... 0 connections to its listener') or diag("requests: " . requests_of($bait_log));
    like(error_log_since($mark), qr/SEC10302: .*unknown \(source unverified; the certificate did not verify/,
         '... logged (SEC10302): refused because the status is unknown, and why');
}

{
    my $r = tls_request(vhost => 'online_noca', path => '/status?json', timeout => 15,
                        ssl => { SSL_cert_file => "$dir/selfsigned.crt", SSL_key_file => "$dir/selfsigned.key" });
    my $c = eval { JSON::PP->new->decode($r->{body}) } || {};
    $c = $c->{counters} if ref $c->{counters};
    cmp_ok($c->{revocation_unverified} // 0, '>=', 3, 'counter revocation_unverified counts them');
}

# ---- verified certificates: redirections are not followed --------------------------------------------

for my $code (@codes) {
    my $mark = error_log_mark();
    my $before = accepted($bait_log);
    my $r = req('online_verified', "$dir/redir$code.crt", "$dir/redir$code.key");
    my $v = info_json($r);
    my $log = error_log_since($mark);
    is($r->{status}, 200, "CDP and AIA answer $code: served (SecureRevocationUnknown allow)");
    is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', "... revocation UNKNOWN, never GOOD");
    is(accepted($bait_log) - $before, 2, "... the distribution point and the responder were each asked once")
        or diag("requests: " . requests_of($bait_log));
    is(accepted($target_log), 0, "... the $code was not followed: 0 connections to the redirection target")
        or diag("requests: " . requests_of($target_log));
    like($log, qr/SEC10550: .*CRL distribution point \S+\/crl\/r$code answered with a redirection, which is never followed/,
         "... CRL fetch: redirection logged");
    like($log, qr/SEC10503: .*responder \S+\/ocsp\/r$code answered with a redirection, which is never followed/,
         "... OCSP: redirection logged");
}

# ---- URLs with user information are not fetched --------------------------------------------------------

{
    my $mark = error_log_mark();
    my $r = req('online_verified', "$dir/userinfo.crt", "$dir/userinfo.key");
    my $v = info_json($r);
    my $log = error_log_since($mark);
    is($r->{status}, 200, 'AIA / CDP URLs with user information: served');
    is($v->{SECURE_CLIENT_REVOCATION}, 'UNKNOWN', '... revocation UNKNOWN');
    is(accepted($userinfo_log), 0, '... 0 connections to their listener') or diag("requests: " . requests_of($userinfo_log));
    like($log, qr/SEC11058: .*CRL distribution point http:\/\/user:pw\@127\.0\.0\.1:\d+\/crl .*user information/,
         '... CRL distribution point refused and logged');
    like($log, qr/SEC11056: .*responder URL http:\/\/user\@127\.0\.0\.1:\d+\/ocsp is refused: .*user information/,
         '... OCSP responder refused and logged');
}

{
    my $r = tls_request(vhost => 'online_noca', path => '/status?json', timeout => 15,
                        ssl => { SSL_cert_file => "$dir/selfsigned.crt", SSL_key_file => "$dir/selfsigned.key" });
    my $c = eval { JSON::PP->new->decode($r->{body}) } || {};
    $c = $c->{counters} if ref $c->{counters};
    cmp_ok($c->{online_fetch_refused} // 0, '>=', 2, 'counter online_fetch_refused counts the refused URLs');
}

# the listeners saw exactly what this file sent them, nothing more
is(accepted($target_log), 0, 'in all, the redirection target received 0 connections');
