# SecureRevocationRefreshAhead, part two (issue 12, item 2): a certificate seen recently has its verdict
# refreshed before it expires even when nobody presents it inside the window. mod_watchdog's thread sweeps
# the process's table of recently seen certificates every second and queues the refresh of those whose
# verdict expires within the window; a certificate not seen for SecureRevocationCacheTTL drops out.
# Setup: a generated CA, the responder CGI answering in 0.3 s; instance "sweep" (one process),
# SecureRevocationCacheTTL 6, two vhosts: w (SecureRevocationRefreshAhead 2) and n (off, the default).
# One connection each at t0, none until t0 + 7 (past the first verdict's expiry), then none again.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureOCSP qw(revocation_get query_count responder_url make_pki gen_dir start_instance stop_all spare_port_base
                  instance_vhost);

plan tests => 9, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $base = spare_port_base() + 60;
my %port = (w => $base, n => $base + 1);
make_pki(sww => {}, swn => {});
my $gen = gen_dir();

my %extra = (w => "    SecureRevocationRefreshAhead 2\n", n => '');
start_instance(name => 'sweep', mpm => 'event', ports => [@port{qw(w n)}],
               conf => "SecureRevocationCacheTTL 6\n"
                       . join('', map { instance_vhost($port{$_}, "$gen/ca.crt", "    SecureOCSP on\n"
                                        . "    SecureOCSPResponder \"" . responder_url('gen', 'delay300', "sw-$_")
                                        . "\"\n" . $extra{$_}) } qw(w n)));

sub req { my $k = shift; return (revocation_get($port{$k}, "sw$k"))[0, 1] }
sub sleep_until { my $t = shift; my $d = $t - Time::HiRes::time(); Time::HiRes::sleep($d) if $d > 0 }

my $t0 = Time::HiRes::time();
my (%got, %secs);
(undef, $got{w}[0]) = req('w');
(undef, $got{n}[0]) = req('n');
sleep_until($t0 + 5.6);         # no connection since t0; the window opened at about t0 + 4
my %mid = map { $_ => query_count("sw-$_") } qw(w n);
sleep_until($t0 + 7);
($secs{$_}, $got{$_}[1]) = req($_) for qw(w n);

is($got{w}[0], '200 GOOD ocsp', 'sweep: the first connection asks the responder');
is($mid{w}, 2, '... and with no connection since, the sweep asked it again inside the window');
is($got{w}[1], '200 GOOD cache', '... so at t0 + 7 s, past the first verdict\'s expiry, a cache hit');
cmp_ok($secs{w}, '<', 0.25, sprintf('... that did not wait for the responder (%.2f s)', $secs{w}));

is($mid{n}, 1, 'no refresh ahead: nothing swept');
is($got{n}[1], '200 GOOD ocsp', '... and at t0 + 7 s the handshake asks the responder');
cmp_ok($secs{n}, '>=', 0.3, sprintf('... and waits for it (%.2f s)', $secs{n}));

# w was last seen at t0 + 7: its refreshes go on while that is within the TTL (6 s), then stop
sleep_until($t0 + 17);
my $late = query_count('sw-w');
sleep_until($t0 + 23);
cmp_ok($late, '>=', 3, "while seen within the TTL the sweep kept it fresh ($late queries by t0 + 17 s)");
is(query_count('sw-w'), $late, '... and a certificate not seen for the TTL is no longer refreshed');
stop_all();
