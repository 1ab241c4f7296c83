# A connection accepted with UNKNOWN "pending" (SecureRevocationFirstSeen unknown) does not keep that
# answer for its lifetime (issue 12, the gap "pending stays"): once the process's background thread has
# put an answer in the verdict cache, the connection's next request judges its certificate again and
# reads it. Only connections whose verdict is "pending" look (one atomic read per request).
# Setup: instance "pending" (one event process) with SecureOCSP on, the responder CGI answering in 1 s,
# SecureRevocationFirstSeen unknown, SecureRevocationUnknown defer, KeepAliveTimeout 30. A keep-alive
# connection with leaf "pk": the first request sees UNKNOWN pending; after the responder answered, the
# next requests see GOOD (from the cache), and the responder was asked once.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use SecureTest qw(t_logs);
use SecureOCSP qw(query_count responder_url make_pki gen_dir start_instance stop_all spare_port_base
                  instance_vhost);
use SecureRevoke qw(keepalive_requests);

plan tests => 7, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $port = spare_port_base() + 57;
make_pki(pk => {}, pq => {});
my $gen = gen_dir();
unlink t_logs() . '/ocsp-count-pending.log';
start_instance(name => 'pending', mpm => 'event', ports => [$port],
               conf => "KeepAliveTimeout 30\n"
                       . instance_vhost($port, "$gen/ca.crt", "    SecureOCSP on\n    SecureOCSPResponder \""
                                        . responder_url('gen', 'delay1000', 'pending') . "\"\n"
                                        . "    SecureOCSPTimeout 5\n    SecureRevocationFirstSeen unknown\n"));

my %ssl = map { $_ => { SSL_cert_file => "$gen/$_.crt", SSL_key_file => "$gen/$_.key", SSL_version => 'TLSv1_2' } }
          qw(pk pq);
sub revocation_of {
    my $r = shift // {};
    my ($s) = ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/;
    my ($src) = ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION_SOURCE"\s*:\s*"([\w-]+)"/;
    return join ' ', $r->{status} // 'none', $s // '', $src // '';
}
sub answered {
    # the responder counted the query; it answers 1 s later, then the cache has it
    my $deadline = Time::HiRes::time() + 10;
    Time::HiRes::sleep(0.1) while query_count('pending') < 1 && Time::HiRes::time() < $deadline;
    Time::HiRes::sleep(1.8);
}

my ($err, $resp) = keepalive_requests(port => $port, ssl => $ssl{pk}, timeout => 10,
                                      paths => ['/info', \&answered, '/info', '/info']);
is(revocation_of($resp->[0]), '200 UNKNOWN pending', 'first request: UNKNOWN pending (asked in the background)')
    or diag($err // '');
is(revocation_of($resp->[1]), '200 GOOD cache', 'once the answer is in, the next request on the same connection '
   . 'reads it: GOOD');
is(revocation_of($resp->[2]), '200 GOOD cache', '... and keeps it');
is(query_count('pending'), 1, 'the responder was asked once');

# a second connection with a certificate nobody asked about yet: several requests while its query is
# running add no query of their own (one background query per certificate at a time)
($err, $resp) = keepalive_requests(port => $port, ssl => $ssl{pq}, timeout => 10,
                                   paths => ['/info', '/info', '/info', \&answered, '/info']);
is(join(', ', map { revocation_of($_) } @$resp[0 .. 2]),
   join(', ', ('200 UNKNOWN pending') x 3), 'pq: three quick requests, all pending') or diag($err // '');
is(revocation_of($resp->[3]), '200 GOOD cache', '... then GOOD on the same connection');
is(query_count('pending'), 2, '... after one more query to the responder (2 in all)');
stop_all();
