#!/usr/bin/perl
# The test responder with non-parsed headers: mod_cgid passes its output to the client as it is, so the
# answer has no Content-Length and ends when the connection closes (see resp.cgi).
use strict;
use warnings;
use File::Basename ();

my $resp = File::Basename::dirname(__FILE__) . '/resp.cgi';
exec($^X, $resp, '--nph') or do {
    print "HTTP/1.0 500 Test failure\r\nContent-Type: text/plain\r\n\r\ncannot run $resp: $!\n";
    exit 0;
};
