# Helpers of the metrics tests (t/metrics_*.t): scrape the secure-status page in Prometheus text format,
# read series out of it, and run promtool on it.
package SecureMetrics;
use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use SecureTest qw(tls_request run_cmd);

our @EXPORT_OK = qw(scrape series value sum_of promtool promtool_bin);

# GET /status?prometheus (or with the given Accept header) of a vhost over TLS 1.3; returns the response.
sub scrape {
    my (%a) = @_;
    return tls_request(vhost => $a{vhost}, path => $a{path} // '/status?prometheus',
                       headers => $a{accept} ? { Accept => $a{accept} } : {},
                       ssl => { SSL_version => 'TLSv1_3' });
}

# The samples of a page: a list of [name, {label => value}, number].
sub series {
    my $text = shift // '';
    my @out;
    for my $line (split /\n/, $text) {
        next if $line =~ /^#/ || $line !~ /\S/;
        my ($name, $labels, $val) = $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/ or next;
        my %l;
        while (defined $labels && $labels =~ /\G([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gc) {
            (my $v = $2) =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
            $l{$1} = $v;
        }
        push @out, [$name, \%l, $val];
    }
    return @out;
}

# The value of the one sample of name whose labels include %want; undef when none, 'ambiguous' when more.
sub value {
    my ($text, $name, %want) = @_;
    my @m = _match($text, $name, %want);
    return undef unless @m;
    return 'ambiguous' if @m > 1;
    return $m[0][2];
}

# The sum over every sample of name whose labels include %want (0 when none).
sub sum_of {
    my ($text, $name, %want) = @_;
    my $s = 0;
    $s += $_->[2] for _match($text, $name, %want);
    return $s;
}

sub _match {
    my ($text, $name, %want) = @_;
    return grep {
        my $l = $_->[1];
        $_->[0] eq $name && !grep { !defined $l->{$_} || $l->{$_} ne $want{$_} } keys %want
    } series($text);
}

sub promtool_bin {
    for my $p ($ENV{PROMTOOL}, '/usr/local/bin/promtool', '/usr/bin/promtool') {
        return $p if defined $p && -x $p;
    }
    return undef;
}

# promtool with args, the text on stdin: (exit status, output).
sub promtool {
    my ($input, @args) = @_;
    return run_cmd([promtool_bin(), @args], $input, 60);
}

1;
