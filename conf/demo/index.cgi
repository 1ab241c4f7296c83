#!/usr/bin/perl
# The demo page: how the server sees the visitor's TLS connection (every SECURE_* variable).
use strict;
use warnings;
sub esc { my $s = shift // ''; $s =~ s/&/&amp;/g; $s =~ s/</&lt;/g; $s =~ s/>/&gt;/g; $s =~ s/"/&quot;/g; $s }
my @names = sort grep { /^SECURE_/ } keys %ENV;
if (($ENV{HTTP_ACCEPT} // '') !~ m{text/html}) {
    print "Content-Type: text/plain; charset=utf-8\r\n\r\n";
    print "$_=$ENV{$_}\n" for @names;
    exit 0;
}
print "Content-Type: text/html; charset=utf-8\r\n\r\n";
print "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>mod_secure demo</title>",
      "<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px;border-bottom:1px solid #ddd;",
      "font-family:monospace}</style></head><body><h1>How this server sees your TLS connection</h1>",
      "<p>mod_ssl terminated TLS; mod_secure exported these variables to this CGI.</p><table>\n";
printf "<tr><td>%s</td><td>%s</td></tr>\n", esc($_), esc($ENV{$_}) for @names;
print "</table><p>JSON: <a href=\"/info\">/info</a> &middot; counters: <a href=\"/secure-status\">",
      "/secure-status</a></p></body></html>\n";
