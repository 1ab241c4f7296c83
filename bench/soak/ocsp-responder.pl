#!/usr/bin/perl
# bench/soak/ocsp-responder.pl PORT MODEFILE PKIDIR LOGFILE — the soak's OCSP responder for ica-ocsp, on
# 127.0.0.1:PORT only. Before each connection it reads MODEFILE (one word, rewritten by the soak driver):
#   good     answer with `openssl ocsp -index` (PKIDIR/ocsp/index.txt, signed by ica-ocsp, nonce copied)
#   slow     the same after 0.7 s (below the soak's SecureOCSPTimeout of 2 s: still a healthy responder)
#   hang     read the request, then say nothing for 20 s (beyond the timeout)
#   garbage  HTTP 200 application/ocsp-response whose body is random bytes or a truncated real response
#   err500   HTTP 500
#   down     the listening socket is closed: connections are refused
# One process per connection (forked, at most 64 alive), each bounded in time; a log line per request.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use POSIX qw(:sys_wait_h);
use File::Temp ();
use Time::HiRes qw(time sleep);

my ($port, $modefile, $pki, $logfile) = @ARGV;
die "usage: $0 PORT MODEFILE PKIDIR LOGFILE\n" unless defined $logfile;
my %kids;
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
my $listener;
my $n = 0;

while (!$stop) {
    reap();
    my $mode = read_mode();
    if ($mode eq 'down') {
        if ($listener) { close $listener; undef $listener; }
        sleep 0.1;
        next;
    }
    $listener ||= IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 64,
                                        ReuseAddr => 1, Proto => 'tcp');
    unless ($listener) { sleep 0.1; next; }
    next unless IO::Select->new($listener)->can_read(0.1);
    my $c = $listener->accept or next;
    $mode = read_mode();            # the mode at the moment of the connection, not of the last poll
    if ($mode eq 'down') { close $c; next; }
    $n++;
    if (keys %kids >= 64) { close $c; next; }     # bounded: refuse rather than pile up
    my $pid = fork;
    if (!defined $pid) { close $c; next; }
    if ($pid == 0) {
        $SIG{TERM} = 'DEFAULT';
        close $listener;
        alarm 30;
        serve($c, $mode, $n);
        exit 0;
    }
    $kids{$pid} = 1;
    close $c;
}
close $listener if $listener;
kill 'TERM', keys %kids;
reap();
exit 0;

sub reap { while ((my $p = waitpid(-1, WNOHANG)) > 0) { delete $kids{$p}; } }

sub read_mode {
    open my $f, '<', $modefile or return 'good';
    my $m = <$f> // 'good';
    close $f;
    $m =~ s/\s+//g;
    return $m =~ /^(good|slow|hang|garbage|err500|down)$/ ? $m : 'good';
}

sub logline {
    my ($msg) = @_;
    open my $l, '>>', $logfile or return;
    printf $l "%.3f %d %s\n", time, $$, $msg;
    close $l;
}

sub serve {
    my ($c, $mode, $n) = @_;
    binmode $c;
    my $sel = IO::Select->new($c);
    my $buf = '';
    my $deadline = time + 5;
    while ($buf !~ /\r\n\r\n/ && time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $r = sysread $c, $buf, 65536, length $buf;
        last unless $r;
    }
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    $body //= '';
    unless (defined $head && $head =~ m{^(GET|POST) (\S+) HTTP/1\.[01]}) {
        logline("$mode bad-request");
        return;
    }
    my ($method, $path) = ($1, $2);
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    $len //= 0;
    $len = 65536 if $len > 65536;
    while (length $body < $len && time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $r = sysread $c, $body, $len - length $body, length $body;
        last unless $r;
    }
    if ($method eq 'GET') {      # RFC 6960 A.1: base64 of the DER request in the path
        require MIME::Base64;
        (my $b64 = $path) =~ s{^.*/}{};
        $b64 =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        $body = MIME::Base64::decode_base64($b64);
    }
    logline("$mode request " . length($body) . " bytes");
    if ($mode eq 'hang') { sleep 20; return; }
    if ($mode eq 'err500') { reply($c, '500 Internal Server Error', 'text/plain', "soak: err500\n"); return; }
    sleep 0.7 if $mode eq 'slow';
    my $resp = sign($body);
    unless (defined $resp) { reply($c, '500 Internal Server Error', 'text/plain', "openssl ocsp failed\n"); return; }
    if ($mode eq 'garbage') {
        $resp = $n % 2 ? substr($resp, 0, int(length($resp) / 2))
                       : join '', map { chr int rand 256 } 1 .. 64 + int rand 1024;
    }
    reply($c, '200 OK', 'application/ocsp-response', $resp);
}

sub sign {
    my ($req) = @_;
    my $in = File::Temp->new(TEMPLATE => 'ocspreq-XXXXXX', TMPDIR => 1);
    binmode $in;
    print $in $req;
    close $in;
    my $out = File::Temp->new(TEMPLATE => 'ocspresp-XXXXXX', TMPDIR => 1);
    close $out;
    my @cmd = ('openssl', 'ocsp', '-index', "$pki/ocsp/index.txt", '-CA', "$pki/ica-ocsp.crt",
               '-rsigner', "$pki/ica-ocsp.crt", '-rkey', "$pki/ica-ocsp.key", '-ndays', '1',
               '-reqin', $in->filename, '-respout', $out->filename);
    my $pid = fork;
    return undef unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd;
        exit 127;
    }
    waitpid $pid, 0;
    return undef if $?;
    open my $f, '<', $out->filename or return undef;
    binmode $f;
    local $/;
    my $r = <$f>;
    return defined $r && length $r ? $r : undef;
}

sub reply {
    my ($c, $status, $type, $body) = @_;
    print $c "HTTP/1.0 $status\r\nContent-Type: $type\r\nContent-Length: " . length($body)
        . "\r\nConnection: close\r\n\r\n$body";
    close $c;
}
