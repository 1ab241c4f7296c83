# The background work of a process runs on SECURE_BACKGROUND_THREADS threads (issue 12, items 1 and 3): a
# responder that hangs holds one of them, and the first-sight query of a certificate on another vhost is
# answered meanwhile. Setup: a generated CA; instance "bgpool" (one process) with two vhosts, both
# SecureRevocationFirstSeen unknown + SecureRevocationUnknown allow: h asks a responder that hangs 4 s
# (SecureOCSPTimeout 4), g one that answers in 0.1 s.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureOCSP qw(revocation_get query_count responder_url make_pki gen_dir start_instance stop_all spare_port_base
                  instance_vhost);

plan tests => 5, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $base = spare_port_base() + 62;
my %port = (h => $base, g => $base + 1);
make_pki(bph => {}, bpg => {});
my $gen = gen_dir();
my %mode = (h => 'hang4', g => 'delay100');
start_instance(name => 'bgpool', mpm => 'event', ports => [@port{qw(h g)}],
               conf => join('', map { instance_vhost($port{$_}, "$gen/ca.crt", "    SecureOCSP on\n"
                                      . "    SecureOCSPResponder \"" . responder_url('gen', $mode{$_}, "bp-$_")
                                      . "\"\n    SecureOCSPTimeout 4\n    SecureRevocationFirstSeen unknown\n"
                                      . "    SecureRevocationUnknown allow\n") } qw(h g)));

sub req { my $k = shift; return (revocation_get($port{$k}, "bp$k"))[1] }

my $t0 = Time::HiRes::time();
is(req('h'), '200 UNKNOWN pending', 'h: first sight answered at once; its query hangs on a background thread');
is(req('g'), '200 UNKNOWN pending', 'g: first sight answered at once too');
Time::HiRes::sleep(1.0);
my $elapsed = Time::HiRes::time() - $t0;
my $g2 = req('g');
is($g2, '200 GOOD cache', sprintf('g, %.1f s later (h\'s query still hanging): answered from the cache, '
   . 'so its query ran beside the hanging one', $elapsed));
is(query_count('bp-g'), 1, '... one query to g\'s responder');
cmp_ok($elapsed, '<', 3.5, '... and all of this before h\'s responder could have answered');
stop_all();
