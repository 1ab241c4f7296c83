# SecureRevocationRefreshAhead (issue 12, item 2): a certificate in steady use never waits for its
# verdict to be asked again. A cache hit whose verdict expires within the window queues one background
# query; its answer replaces the cached verdict before it expires.
# Setup: a generated CA, the responder CGI answering in 0.3 s; instance "refresh" (one process),
# SecureRevocationCacheTTL 6, two vhosts: r (SecureRevocationRefreshAhead 2) and n (off, the default).
# For each: a query at t0, a connection at t0 + 4.5 (a cache hit inside the window), a connection at
# t0 + 7 (past the first verdict's expiry, which the record keeps in whole seconds).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(t_logs config_test);
use SecureOCSP qw(revocation_get query_count responder_url make_pki gen_dir start_instance stop_all spare_port_base
                  instance_vhost);

plan tests => 12, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $base = spare_port_base() + 42;
my %port = (r => $base, n => $base + 1);
make_pki(rar => {}, ran => {});
my $gen = gen_dir();

my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
for my $bad ('2d', 'often') {
    my ($rc, $out) = config_test("${load}SecureRevocationRefreshAhead $bad\n");
    ok($rc != 0 && $out =~ /SecureRevocationRefreshAhead: '\Q$bad\E' is not a valid duration/,
       "httpd -t refuses 'SecureRevocationRefreshAhead $bad' with a precise message") or diag($out);
}

my %extra = (r => "    SecureRevocationRefreshAhead 2\n", n => '');
start_instance(name => 'refresh', mpm => 'event', ports => [@port{qw(r n)}],
               conf => "SecureRevocationCacheTTL 6\n"
                       . join('', map { instance_vhost($port{$_}, "$gen/ca.crt", "    SecureOCSP on\n"
                                        . "    SecureOCSPResponder \"" . responder_url('gen', 'delay300', "ra-$_")
                                        . "\"\n" . $extra{$_}) } qw(r n)));

sub req { my $k = shift; return (revocation_get($port{$k}, "ra$k"))[0, 1] }
sub sleep_until { my $t = shift; my $d = $t - Time::HiRes::time(); Time::HiRes::sleep($d) if $d > 0 }

my (%t0, %got, %secs);
for my $k (qw(r n)) {
    $t0{$k} = Time::HiRes::time();
    (undef, $got{$k}[0]) = req($k);
}
for my $k (qw(r n)) {
    sleep_until($t0{$k} + 4.5);
    (undef, $got{$k}[1]) = req($k);
}
Time::HiRes::sleep(1);          # the refresh (0.3 s responder) has landed
my %mid = map { $_ => query_count("ra-$_") } qw(r n);
for my $k (qw(r n)) {
    sleep_until($t0{$k} + 7);
    ($secs{$k}, $got{$k}[2]) = req($k);
}

is($got{r}[0], '200 GOOD ocsp', 'refresh ahead: first connection asks the responder');
is($got{r}[1], '200 GOOD cache', '... at t0 + 4.5 s a cache hit (inside the 2 s window before expiry)');
is($mid{r}, 2, '... which queued one background query');
is($got{r}[2], '200 GOOD cache', '... at t0 + 7 s, past the first verdict\'s expiry, still a cache hit: the '
   . 'refreshed verdict');
cmp_ok($secs{r}, '<', 0.25, sprintf('... so that connection did not wait for the responder (%.2f s)', $secs{r}));
is(query_count('ra-r'), 2, '... and it asked nothing more');

is($got{n}[1], '200 GOOD cache', 'no refresh ahead: the hit at t0 + 4.5 s');
is($mid{n}, 1, '... queues nothing');
is($got{n}[2], '200 GOOD ocsp', '... and at t0 + 7 s the verdict has expired: the handshake asks the responder');
cmp_ok($secs{n}, '>=', 0.3, sprintf('... and waits for it (%.2f s)', $secs{n}));
stop_all();
