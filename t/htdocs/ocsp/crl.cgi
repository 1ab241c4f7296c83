#!/usr/bin/perl
# CRL distribution point for the tests: serves t/logs/ocsp-pki/ca.crl (what SecureOCSP::make_crl wrote
# last), slowly or not at all on request, and counts the downloads.
# URL: /ocsp/crl.cgi/<mode>/<tag>
#   mode  plain | delay<milliseconds> | hang<seconds>
#   tag   names the download counter t/logs/ocsp-count-<tag>.log (one line per request, written when the
#         request arrives, before any delay)
use strict;
use warnings;
use Fcntl qw(:flock);
use Time::HiRes ();

my $logs = $ENV{OCSP_T_LOGS} or fail(500, 'OCSP_T_LOGS not set');
my (undef, $mode, $tag) = split m{/}, ($ENV{PATH_INFO} // '');
fail(404, 'bad path') unless defined $mode && defined $tag && $mode =~ /^(plain|delay\d+|hang\d+)$/
                             && $tag =~ /^[\w.-]+$/;
if (open my $c, '>>', "$logs/ocsp-count-$tag.log") {
    flock $c, LOCK_EX;
    print $c "$mode " . Time::HiRes::time() . "\n";
    close $c;
}
if ($mode =~ /^hang(\d+)$/) { sleep $1 }
if ($mode =~ /^delay(\d+)$/) { Time::HiRes::sleep($1 / 1000) }
open my $f, '<', "$logs/ocsp-pki/ca.crl" or fail(404, 'no CRL yet');
binmode $f;
my $crl = do { local $/; <$f> };
binmode STDOUT;
print "Content-Type: application/pkix-crl\r\nContent-Length: " . length($crl) . "\r\n\r\n$crl";
exit 0;

sub fail {
    my ($code, $why) = @_;
    print "Status: $code\r\nContent-Type: text/plain\r\n\r\n$why\n";
    exit 0;
}
