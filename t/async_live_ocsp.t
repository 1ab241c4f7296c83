# A certificate that an OCSP refresh finds revoked while its connection stays open (issue 12, item 6: "a
# refresh"). Instance "liveocsp" (one process, SecureRevocationCacheTTL 2, KeepAliveTimeout 30): a client
# opens a keep-alive connection with leaf "lo" and gets GOOD from the responder. The responder's index then
# says "lo" is revoked; once the cached GOOD has expired, a new handshake with the same certificate asks the
# responder afresh and is refused (REVOKED). That fresh REVOKED answer bumps the server-wide revocation
# epoch, so the open connection's next request judges the certificate again, reads REVOKED from the
# verdict cache and gets 403 (and the connection closes). Without the epoch it kept its GOOD until it
# closed. A control connection with leaf "lk" (never revoked) keeps working across the same bump.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use POSIX ();
use Time::HiRes ();
use SecureTest qw(tls_request);
use SecureOCSP qw(query_count responder_url make_pki gen_dir start_instance stop_all spare_port_base
                  instance_vhost);
use SecureRevoke qw(keepalive_requests);

plan tests => 9, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c');

my $port = spare_port_base() + 46;
make_pki(lo => {}, lk => {});
my $gen = gen_dir();
start_instance(name => 'liveocsp', mpm => 'event', ports => [$port],
               conf => "SecureRevocationCacheTTL 2\nKeepAliveTimeout 30\n"
                       . instance_vhost($port, "$gen/ca.crt", "    SecureOCSP on\n    SecureOCSPResponder \""
                                        . responder_url('gen', 'good', 'liveocsp') . "\"\n"));

my %ssl = map { $_ => { SSL_cert_file => "$gen/$_.crt", SSL_key_file => "$gen/$_.key", SSL_version => 'TLSv1_2' } }
          qw(lo lk);
sub revocation_of {
    my $r = shift;
    my ($s) = ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION"\s*:\s*"(\w+)"/;
    my ($src) = ($r->{body} // '') =~ /"SECURE_CLIENT_REVOCATION_SOURCE"\s*:\s*"([\w-]+)"/;
    return join ' ', $s // '', $src // '';
}

# Marks a certificate revoked in the index `openssl ocsp -index` reads (the responder CGI reads it per query).
sub revoke_in_index {
    my $crt = shift;
    my $serial = `openssl x509 -in '$crt' -noout -serial`;
    $serial =~ s/^serial=//;
    chomp $serial;
    my $idx = "$gen/index.txt";
    open my $in, '<', $idx or die "$idx: $!";
    my @lines = <$in>;
    close $in;
    my $now = POSIX::strftime('%y%m%d%H%M%SZ', gmtime(time - 60));
    my $hit = 0;
    for (@lines) {
        my @f = split /\t/, $_, -1;
        next unless @f >= 6 && $f[0] eq 'V' && uc $f[3] eq uc $serial;
        @f[0, 2] = ('R', "$now,keyCompromise");
        $_ = join "\t", @f;
        $hit++;
    }
    open my $out, '>', "$idx.new" or die "$idx.new: $!";
    print $out @lines;
    close $out;
    rename "$idx.new", $idx or die "rename: $!";
    return $hit;
}

my ($lk_err, $lk_resp);
my ($err, $resp) = keepalive_requests(
    port => $port, ssl => $ssl{lo}, timeout => 10,
    paths => ['/info',
              sub {
                  ok(revoke_in_index("$gen/lo.crt") == 1, 'the responder now answers that lo is revoked');
                  Time::HiRes::sleep(2.6);        # the cached GOOD (TTL 2 s, whole seconds) has expired
                  my $r = tls_request(port => $port, path => '/info', timeout => 15, ssl => $ssl{lo});
                  ok(!defined $r->{status}, 'a new handshake with lo asks the responder afresh and is refused')
                      or diag(explain($r));
                  # the control: a connection with lk opened before, used after the bump
              },
              '/info']);
is($resp->[0]{status}, 200, 'keep-alive connection with lo: the first request gets 200') or diag($err // '');
is(revocation_of($resp->[0]), 'GOOD ocsp', '... GOOD, from the responder');
is($resp->[1]{status}, 403, 'after the fresh REVOKED answer, the next request on the open connection gets 403');
ok($resp->[1]{close_header} && $resp->[1]{eof}, '... and the server closes the connection');
cmp_ok(query_count('liveocsp'), '>=', 2, 'the responder was asked at least twice (first sighting, then afresh)');

# the control: lk's open connection survives the epoch bump (judged again, still GOOD from the cache or
# the responder)
($lk_err, $lk_resp) = keepalive_requests(
    port => $port, ssl => $ssl{lk}, timeout => 10,
    paths => ['/info', sub { revoke_in_index("$gen/lo.crt"); Time::HiRes::sleep(2.6);
                             tls_request(port => $port, path => '/info', timeout => 15, ssl => $ssl{lo}) },
              '/info']);
is(join(' ', map { $_->{status} // 'none' } @$lk_resp), '200 200',
   'a connection with an unrevoked certificate keeps working across another fresh REVOKED answer')
    or diag($lk_err // '');
like(revocation_of($lk_resp->[1] // {}), qr/^GOOD /, '... and stays GOOD');
stop_all();
