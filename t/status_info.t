# The secure-info page (a visitor's own connection facts as JSON) and the secure-status page (counters
# shared by every httpd process, HTML or ?json).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use SecureTest qw(tls_request info_json);
use SecureHello ();

plan tests => 16, need_module('mod_ssl.c', 'mod_secure.c');

my $r = tls_request(vhost => 'secure_main', path => '/info', ssl => { SSL_version => 'TLSv1_3' });
is($r->{status}, 200, 'secure-info answers');
like($r->{headers}{'content-type'} // '', qr{^application/json}, 'secure-info is JSON');
is($r->{headers}{'cache-control'}, 'no-store', 'secure-info is not cached');
my $v = info_json($r);
ok(scalar(keys %$v) >= 15, scalar(keys %$v) . ' variables reported');
is(scalar(grep { !/^SECURE_[A-Z0-9_]+$/ } keys %$v), 0, 'only SECURE_* names');
is($v->{SECURE_TLS_VERSION}, 'TLSv1.3', 'values are this connection\'s');

$r = tls_request(vhost => 'secure_main', path => '/info', method => 'POST',
                 headers => { 'Content-Length' => 0 });
is($r->{status}, 405, 'secure-info refuses POST');

# Counters: connections seen by any child process. Make 12 connections, each may land on any child.
$r = tls_request(vhost => 'secure_main', path => '/status?json');
my $before = eval { JSON::PP->new->decode($r->{body}) } || {};
ok(exists $before->{connections}, 'status JSON has the connections counter');
tls_request(vhost => 'secure_main', path => '/index.html') for 1 .. 12;
$r = tls_request(vhost => 'secure_main', path => '/status?json');
my $after = eval { JSON::PP->new->decode($r->{body}) } || {};
is(($after->{connections} // 0) - ($before->{connections} // 0), 13,
   'connections counter grew by exactly the 13 connections made (12 + this status request)');
ok(exists $after->{hello_malformed} && exists $after->{hello_oversize}, 'hello counters present');

$r = tls_request(vhost => 'secure_main', path => '/status');
like($r->{headers}{'content-type'} // '', qr{^text/html}, 'status page is HTML for people');
like($r->{body}, qr{<td>connections</td><td>\d+</td>}, 'status page shows the counters');

# An oversized ClientHello (ALPN list of 70 long names, ~18 KB) is served but not fingerprinted: the
# fingerprint variables are absent and the hello_oversize counter says why.
{
    $r = tls_request(vhost => 'secure_main', path => '/status?json');
    my $c0 = eval { JSON::PP->new->decode($r->{body}) } || {};
    my @alpn = map { sprintf('p%03d', $_) . ('x' x 250) } 1 .. 70;
    my $h = SecureHello::s_client_hello(vhost => 'secure_main', path => '/info',
                                        args => ['-tls1_3', '-alpn', join(',', @alpn, 'http/1.1')]);
    like($h->{out}, qr/"SECURE_TLS_VERSION": "TLSv1.3"/, 'oversized hello: request served');
    ok($h->{json}{SECURE_TLS_VERSION} && !exists $h->{json}{SECURE_JA3} && !exists $h->{json}{SECURE_JA4},
       'oversized hello: no JA3/JA4 (never a wrong fingerprint)');
    $r = tls_request(vhost => 'secure_main', path => '/status?json');
    my $c1 = eval { JSON::PP->new->decode($r->{body}) } || {};
    is(($c1->{hello_oversize} // 0) - ($c0->{hello_oversize} // 0), 1, 'hello_oversize counter +1');
}

# HTTP/2: many concurrent streams on few connections read the same memoised connection state from several
# worker threads at once; every response must be a 200 (and the sanitizer build must stay silent).
SKIP: {
    skip 'h2load (nghttp2-client) not installed', 1 unless -x '/usr/bin/h2load';
    my $port = SecureTest::vhost_port('secure_main');
    my ($rc, $out) = SecureTest::run_cmd(['h2load', '-n', '400', '-c', '4', '-m', '25',
                                          "https://localhost:$port/info"], '', 60);
    like($out, qr/status codes: 400 2xx, 0 3xx, 0 4xx, 0 5xx/, 'HTTP/2: 400 concurrent secure-info streams all answered 200');
}
