#!/usr/bin/perl
# Echoes the CGI environment a backend sees: one NAME=VALUE per line, sorted.
print "Content-Type: text/plain\r\n\r\n";
for my $k (sort keys %ENV) {
    my $v = $ENV{$k};
    $v =~ s/\n/\\n/g;
    print "$k=$v\n";
}
