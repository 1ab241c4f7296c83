# Issue 9, finding 0: plain HTTP sent to the TLS port of a SecureEngine vhost with an ErrorDocument 400.
# mod_ssl frees its SSL object and serves the 400 through an internal redirect; mod_secure must not touch
# the freed object (it used to keep its own pointer, and the child died with a segmentation fault).
# Checked as an operator would: the 400 arrives, the child that served it is still alive (same pid serves
# the next request on a keep-alive-free server, and the error log has no "exit signal"), TLS still works.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use IO::Socket::INET;
use SecureTest qw(vhost_port tls_request error_log_mark error_log_since);

plan tests => 7, need_module('mod_ssl.c', 'mod_secure.c');

my $port = vhost_port('secure_http_on_https');
my $mark = error_log_mark();

sub plain_http {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10) or return '';
    print $s "GET /info HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my $resp = '';
    my $deadline = time + 10;
    while (time < $deadline) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }
    return $resp;
}

# several times, so every child of the test server gets one
my @resp = map { plain_http() } 1 .. 6;
like($resp[0], qr/^HTTP\/1\.[01] 400/, 'plain HTTP on the TLS port: 400 Bad Request');
is(scalar(grep { /^HTTP\/1\.[01] 400/ } @resp), 6, '... every time (6 of 6), none cut off');
like($resp[0], qr/^REDIRECT_STATUS=400$/m, '... served by the ErrorDocument (an internal redirect, CGI output)');
unlike($resp[0], qr/^SECURE_/m, '... which sees no SECURE_* variables: there is no TLS connection');

my $r = tls_request(vhost => 'secure_http_on_https', path => '/info');
is($r->{status}, 200, 'TLS on the same port still works afterwards');

sleep 1;
my $log = error_log_since($mark);
unlike($log, qr/exit signal|Segmentation fault|AH00052/, 'no child died (no "exit signal" in the error log)');
like($log, qr/AH01996: SSL handshake failed: HTTP spoken on HTTPS port/, 'mod_ssl logged the plain-HTTP request (the path was taken)');
