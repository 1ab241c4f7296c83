# SecureRevocationFirstSeen wait|unknown (issue 12, item 3). A certificate the verdict cache does not
# know: 'wait' (default) makes this handshake wait for the responder; 'unknown' answers at once with the
# SecureRevocationUnknown policy (source "pending") and asks the responder on the process's background
# thread, so the next connection finds the answer in the cache.
# Setup: a generated CA, the responder CGI answering in 1 s (delay1000); instance "firstseen" with three
# vhosts: w (default wait), u (unknown + SecureRevocationUnknown defer), d (unknown + deny).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(tls_request info_json t_logs config_test);
use SecureOCSP qw(query_count responder_url make_pki gen_dir start_instance stop_all spare_port_base
                  instance_vhost);

plan tests => 14, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $base = spare_port_base() + 39;
my %port = (w => $base, u => $base + 1, d => $base + 2);
make_pki(fsw => {}, fsu => {}, fsd => {});
my $gen = gen_dir();

my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
for my $bad ('later', 'yes') {
    my ($rc, $out) = config_test("${load}SecureRevocationFirstSeen $bad\n");
    ok($rc != 0 && $out =~ /SecureRevocationFirstSeen: '\Q$bad\E' is not allowed; use wait or unknown/,
       "httpd -t refuses 'SecureRevocationFirstSeen $bad' with a precise message") or diag($out);
}

my %extra = (w => '', u => "    SecureRevocationFirstSeen unknown\n",
             d => "    SecureRevocationFirstSeen unknown\n    SecureRevocationUnknown deny\n");
start_instance(name => 'firstseen', mpm => 'event', ports => [@port{qw(w u d)}],
               conf => join('', map { instance_vhost($port{$_}, "$gen/ca.crt", "    SecureOCSP on\n"
                                      . "    SecureOCSPResponder \"" . responder_url('gen', 'delay1000', "fs-$_")
                                      . "\"\n    SecureOCSPTimeout 5\n" . $extra{$_}) } qw(w u d)));

# one connection: (seconds it took, "STATUS REVOCATION SOURCE" or the TLS error)
sub req {
    my $k = shift;
    my $t = Time::HiRes::time();
    my $r = tls_request(port => $port{$k}, path => '/info', timeout => 15,
                        ssl => { SSL_cert_file => "$gen/fs$k.crt", SSL_key_file => "$gen/fs$k.key",
                                 SSL_version => 'TLSv1_2' });
    my $v = info_json($r);
    return (Time::HiRes::time() - $t, $r->{error} ? "error: $r->{error}"
            : join(' ', $r->{status} // 'none', $v->{SECURE_CLIENT_REVOCATION} // 'none',
                   $v->{SECURE_CLIENT_REVOCATION_SOURCE} // 'none'));
}

# waits (at most 10 s) until the responder saw a query under $tag and the answer can be in the cache
sub await_query {
    my $tag = shift;
    my $deadline = Time::HiRes::time() + 10;
    Time::HiRes::sleep(0.1) while query_count($tag) < 1 && Time::HiRes::time() < $deadline;
    Time::HiRes::sleep(1.5);    # the responder answers 1 s after it counted the query
    return query_count($tag);
}

# wait: the handshake waits for the answer
my ($secs, $got) = req('w');
is($got, '200 GOOD ocsp', 'wait: first sight answered by the responder: GOOD');
cmp_ok($secs, '>=', 1, sprintf('... the handshake waited for it (%.2f s, responder 1 s)', $secs));

# unknown + defer: answered at once, asked in the background
($secs, $got) = req('u');
is($got, '200 UNKNOWN pending', 'unknown: first sight answered at once: UNKNOWN, source pending (defer lets it in)');
cmp_ok($secs, '<', 0.9, sprintf('... without waiting for the responder (%.2f s)', $secs));
is(await_query('fs-u'), 1, '... the background thread asked the responder once');
($secs, $got) = req('u');
is($got, '200 GOOD cache', 'unknown: the next connection finds the background answer in the cache: GOOD');
cmp_ok($secs, '<', 0.9, sprintf('... at once (%.2f s)', $secs));
is(query_count('fs-u'), 1, '... no further query');

# unknown + deny: refused at first sight (certificate_unknown), admitted once the answer is in
($secs, $got) = req('d');
like($got, qr/^error: .*certificate unknown/i, 'unknown + deny: first sight refused with alert 46 (certificate unknown)');
cmp_ok($secs, '<', 0.9, sprintf('... at once (%.2f s)', $secs));
is(await_query('fs-d'), 1, '... and queried in the background');
($secs, $got) = req('d');
is($got, '200 GOOD cache', 'unknown + deny: the next connection is admitted: GOOD from the cache');
stop_all();
