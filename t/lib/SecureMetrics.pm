# Helpers of the metrics tests (t/metrics_*.t): scrape the secure-status page in Prometheus text format,
# read series out of it, and run promtool on it.
package SecureMetrics;
use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use Compress::Zlib ();
use SecureTest qw(tls_request run_cmd);

our @EXPORT_OK = qw(scrape series value sum_of promtool promtool_bin png_decode chromium_bin);

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

sub chromium_bin {
    for my $p ($ENV{CHROMIUM}, '/usr/bin/chromium', '/usr/bin/chromium-browser') {
        return $p if defined $p && -x $p;
    }
    return undef;
}

# A PNG file (8-bit RGB or RGBA, not interlaced: what chromium's --screenshot writes) as
# { w, h, bpp, rows => [ packed bytes per row ] }, or undef. Written here so the test needs no image module.
sub png_decode {
    my $file = shift;
    open(my $fh, '<:raw', $file) or return undef;
    my $d = do { local $/; <$fh> };
    return undef unless substr($d, 0, 8) eq "\x89PNG\r\n\x1a\n";
    my ($pos, $idat, $w, $h, $depth, $ctype, $interlace) = (8, '');
    while ($pos + 8 <= length $d) {
        my ($len, $type) = unpack('N a4', substr($d, $pos, 8));
        my $data = substr($d, $pos + 8, $len);
        $pos += 12 + $len;
        if ($type eq 'IHDR') { ($w, $h, $depth, $ctype, undef, undef, $interlace) = unpack('N N C C C C C', $data) }
        elsif ($type eq 'IDAT') { $idat .= $data }
        elsif ($type eq 'IEND') { last }
    }
    return undef unless defined $w && $depth == 8 && ($ctype == 2 || $ctype == 6) && !$interlace;
    my $bpp = $ctype == 6 ? 4 : 3;
    my $raw = Compress::Zlib::uncompress($idat);
    return undef unless defined $raw;
    my $stride = $w * $bpp;
    my @prev = (0) x $stride;
    my @rows;
    for my $y (0 .. $h - 1) {
        my $f = ord substr($raw, $y * ($stride + 1), 1);
        my @cur = unpack('C*', substr($raw, $y * ($stride + 1) + 1, $stride));
        for my $i (0 .. $stride - 1) {
            my $l = $i >= $bpp ? $cur[$i - $bpp] : 0;
            my $u = $prev[$i];
            my $ul = $i >= $bpp ? $prev[$i - $bpp] : 0;
            my $add = $f == 1 ? $l : $f == 2 ? $u : $f == 3 ? int(($l + $u) / 2) : $f == 4 ? _paeth($l, $u, $ul) : 0;
            $cur[$i] = ($cur[$i] + $add) & 255;
        }
        push @rows, pack('C*', @cur);
        @prev = @cur;
    }
    return { w => $w, h => $h, bpp => $bpp, rows => \@rows };
}

sub _paeth {
    my ($l, $u, $ul) = @_;
    my $e = $l + $u - $ul;
    my ($dl, $du, $dul) = (abs($e - $l), abs($e - $u), abs($e - $ul));
    return $dl <= $du && $dl <= $dul ? $l : $du <= $dul ? $u : $ul;
}

1;
